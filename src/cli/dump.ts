/** `gauge dump`: every thread's Python stack, once, like py-spy dump. */
import { FrameRegistry } from '../reader/frame-registry.js';
import { attachPastShell } from '../process/shell-wrapper.js';
import { Target } from '../reader/target.js';
import { commandLine, parentMap } from '../process/procfs.js';
import { listDescendants } from '../process/children.js';
import { ErrorCode, GaugeError } from '../reader/errors.js';
import { resolveThreadNames } from '../process/thread-names.js';
import { warnOnce } from '../reader/warnings.js';
import type { Sample } from '../sampling/types.js';
import { dumpTasks, renderTaskTree, type DumpTaskJson } from './dump-async.js';

export interface DumpOptions {
  pid: number;
  json: boolean;
  subprocesses: boolean;
  maxDepth?: number;
  /** Also read the asyncio tasks (--async). */
  async?: boolean;
  maxTasks?: number;
}

/** JSON schema of `gauge dump --json` (stable; documented in README). */
export interface DumpJson {
  pid: number;
  /** Parent pid; only with --subprocesses. */
  ppid?: number;
  /** '' for a root that is not Python itself (a shell, a supervisor) under --subprocesses. */
  python_version: string;
  /** The interpreter runs without a GIL (a free-threaded build): no thread's `gil` is true. */
  no_gil: boolean;
  command_line: string;
  threads: DumpThreadJson[];
  /** Only with --async: every pending asyncio task (dump-async.ts). */
  tasks?: DumpTaskJson[];
  tasks_capped?: boolean;
  tasks_error?: string | null;
  subprocesses?: DumpJson[];
}
export interface DumpThreadJson {
  thread_id: number;
  native_id: number;
  name: string;
  gil: boolean;
  state: string;
  error: boolean;
  truncated: boolean;
  /** Why the stack failed or was cut (e.g. "frame changed while read", "depth cap"); null when neither. */
  error_reason: string | null;
  frames: { name: string; file: string; line: number }[];
}

function dumpOne(pid: number, frames: FrameRegistry, maxDepth?: number, opts?: DumpOptions): DumpJson {
  const target = Target.attach(pid, frames, { threadStats: true, maxDepth });
  try {
    const info = target.info();
    warnOnce(info);
    // A first snapshot primes thread stats (CPU deltas need two reads); the second is the one shown.
    target.snapshot();
    const sample: Sample = target.snapshot();
    const names = resolveThreadNames(target, sample);
    const tasks = opts?.async ? dumpTasks(target, frames, opts.maxTasks) : {};
    return {
      pid,
      python_version: info.version,
      no_gil: sample.noGil === true,
      command_line: commandLine(pid),
      threads: sample.threads.map((t) => ({
        thread_id: Number(t.threadId),
        native_id: t.nativeId,
        name: names.get(t.threadId) ?? '',
        gil: t.gil,
        state: t.state,
        error: t.error,
        truncated: t.truncated,
        error_reason: t.reason ?? null,
        frames: t.frames.map((id) => {
          const f = frames.get(id);
          return { name: f.name, file: f.file, line: f.line };
        }),
      })),
      ...tasks,
    };
  } finally {
    target.close();
  }
}

/** Why a descendant is left out of `dump --subprocesses` without failing it. */
const SKIPPED_DESCENDANT = new Set<number>([
  ErrorCode.NOT_PYTHON,
  ErrorCode.NOT_READY,
  ErrorCode.NO_PROCESS,
  ErrorCode.EXITED,
]);

export function dump(opts: DumpOptions, write: (s: string) => void): void {
  const frames = new FrameRegistry();
  let root: DumpJson;
  let rootError: GaugeError | undefined;
  try {
    // With --subprocesses a shell root is fine as it is (below); alone, it may be a shim about to exec Python.
    const one = (): DumpJson => dumpOne(opts.pid, frames, opts.maxDepth, opts);
    root = opts.subprocesses ? one() : attachPastShell(opts.pid, one);
  } catch (err) {
    // With --subprocesses a non-Python parent (a shell script, a supervisor) is fine: its descendants are the point.
    const notPython =
      err instanceof GaugeError && (err.code === ErrorCode.NOT_PYTHON || err.code === ErrorCode.NOT_READY);
    if (!opts.subprocesses || !notPython) throw err;
    rootError = err;
    root = { pid: opts.pid, python_version: '', no_gil: false, command_line: commandLine(opts.pid), threads: [] };
  }
  if (opts.subprocesses) {
    const parents = parentMap();
    root.ppid = parents.get(opts.pid) ?? 0;
    root.subprocesses = [];
    for (const child of listDescendants(opts.pid)) {
      try {
        root.subprocesses.push({ ...dumpOne(child, frames, opts.maxDepth, opts), ppid: parents.get(child) ?? 0 });
      } catch (err) {
        // Not Python (a shell between us and the workers) or gone: nothing to show. Anything else
        // (permission denied, an unsupported version) is the user's to know, as for the root.
        if (!(err instanceof GaugeError && SKIPPED_DESCENDANT.has(err.code))) throw err;
      }
    }
    if (rootError && root.subprocesses.length === 0) {
      throw new GaugeError(rootError.code, `${rootError.message}, and none of its descendants is either`);
    }
  }
  write(opts.json ? JSON.stringify(root, null, 2) + '\n' : renderText(root));
}

function threadLabel(t: DumpThreadJson): string {
  const tags = [t.state === 'running' ? 'active' : t.state === 'unknown' ? '' : 'idle', t.gil ? 'gil' : '']
    .filter(Boolean)
    .join('+');
  const id = t.native_id ? String(t.native_id) : '0x' + t.thread_id.toString(16);
  return `Thread ${id}${tags ? ` (${tags})` : ''}${t.name ? `: "${t.name}"` : ''}`;
}

export function renderText(d: DumpJson): string {
  const lines: string[] = [];
  const one = (p: DumpJson): void => {
    lines.push(`Process ${p.pid}: ${p.command_line}`);
    if (p.ppid !== undefined) lines.push(`Parent ${p.ppid}`);
    lines.push(
      !p.python_version
        ? 'Not Python; its Python descendants follow.'
        : `Python v${p.python_version}${p.no_gil ? ' (free-threaded: no GIL, so no thread holds one)' : ''}`,
    );
    if (p.tasks_capped) lines.push(`asyncio: more tasks than --max-tasks; ${p.tasks?.length} shown`);
    if (p.tasks_error) lines.push(`asyncio: task list read in part (${p.tasks_error})`);
    lines.push('');
    for (const t of p.threads) {
      lines.push(threadLabel(t));
      if (t.error) lines.push(`    <stack not read: ${t.error_reason ?? 'changed while reading'}; try again>`);
      for (const f of t.frames) lines.push(`    ${f.name} (${f.file}:${f.line})`);
      if (t.truncated) lines.push('    ... (deeper frames cut at the depth limit; see --max-depth)');
      if (p.tasks) lines.push(...renderTaskTree(p.tasks, t.thread_id));
      lines.push('');
    }
  };
  one(d);
  for (const c of d.subprocesses ?? []) one(c);
  return lines.join('\n');
}
