/**
 * A pid that is a shell right after `python3 app.py &`: under pyenv,
 * `python3` is a bash script (the shim) that execs the real interpreter a
 * moment later, so `gauge dump --pid $!` can meet bash. Attaching to such a
 * pid is retried briefly, and if it stays a shell the error says what it is.
 */
import { basename } from 'node:path';
import { ErrorCode, GaugeError } from '../reader/errors.js';
import { exeOf } from './children.js';

const SHELLS = new Set(['sh', 'bash', 'dash', 'ash', 'zsh', 'ksh', 'mksh', 'fish', 'busybox']);

/** How long a shell gets to exec Python before gauge gives up on it. */
export const SHELL_GRACE_MS = 2000;

/** The shell a pid is running (its executable's name), or undefined when it runs anything else. */
export function shellOf(pid: number): string | undefined {
  const exe = basename(exeOf(pid));
  return SHELLS.has(exe) ? exe : undefined;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * attach(), retried for up to graceMs while pid is a shell and not Python;
 * then the not-Python error says it is a shell that may exec Python.
 * Blocking: it runs before anything else is going (dump, or top/record start-up).
 */
export function attachPastShell<T>(pid: number, attach: () => T, graceMs = SHELL_GRACE_MS): T {
  const start = Date.now();
  for (;;) {
    try {
      return attach();
    } catch (err) {
      if (!(err instanceof GaugeError && err.code === ErrorCode.NOT_PYTHON)) throw err;
      const shell = shellOf(pid);
      if (!shell) throw err;
      if (Date.now() - start >= graceMs) {
        throw new GaugeError(
          ErrorCode.NOT_PYTHON,
          `pid ${pid} (${shell}) is not a Python process but a shell; it may be a wrapper such as a pyenv shim ` +
            `that execs Python in a moment: try again, or give the pid of the Python process itself`,
        );
      }
    }
    sleepSync(20);
  }
}
