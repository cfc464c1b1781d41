/**
 * Python processes below a target gauge was not asked to follow (no -s): a
 * gunicorn master or a multiprocessing parent is often idle while its
 * children do the work, and `top --pid MASTER` should say they are there.
 */
import { basename } from 'node:path';
import { exeOf, listDescendants } from './children.js';

const PYTHON_EXE = /^python\d*(\.\d+)?t?$/;

/** Descendants running the root's interpreter or any python executable. */
export function pythonDescendants(root: number): number[] {
  const rootExe = exeOf(root);
  return listDescendants(root).filter((pid) => {
    const e = exeOf(pid);
    return e !== '' && (e === rootExe || PYTHON_EXE.test(basename(e)));
  });
}

/** The header note for them, or undefined when there are none. */
export function pythonChildrenNote(root: number, pids: readonly number[]): string | undefined {
  if (!pids.length) return undefined;
  const list = pids.slice(0, 3).join(', ') + (pids.length > 3 ? ', …' : '');
  const what = pids.length === 1 ? 'a Python child process' : `${pids.length} Python child processes`;
  return `pid ${root} has ${what} (${list}): -s (--subprocesses) profiles them too`;
}
