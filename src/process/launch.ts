/**
 * Launch mode (`gauge top -- python app.py`, `gauge record -- ...`): start
 * the program, attach as soon as its interpreter is initialised, forward
 * signals, and settle its exit status so gauge can exit with it.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { GaugeError, ErrorCode } from '../reader/errors.js';
import { FORWARDED_SIGNALS, signalStatus } from './signals.js';

export interface Launched {
  child: ChildProcess;
  pid: number;
  /** Resolves with the exit code gauge should use (128+signal for a signal death). */
  exited: Promise<number>;
  /** Stop forwarding signals (call before gauge exits). */
  dispose(): void;
}

export function launch(argv: string[], stdio: StdioOptions, forwardSignals = true): Launched {
  if (!argv.length) throw new GaugeError(ErrorCode.INVALID, 'no command given after --');
  const child = spawn(argv[0]!, argv.slice(1), { stdio });
  if (child.pid === undefined) throw new GaugeError(ErrorCode.NO_PROCESS, `cannot start ${argv[0]}`);
  const handlers = new Map<NodeJS.Signals, () => void>();
  if (forwardSignals) {
    for (const sig of FORWARDED_SIGNALS) {
      const h = (): void => {
        child.kill(sig);
      };
      handlers.set(sig, h);
      process.on(sig, h);
    }
  }
  const exited = new Promise<number>((resolve, reject) => {
    child.once('error', (err) =>
      reject(
        new GaugeError(
          ErrorCode.NO_PROCESS,
          `cannot start ${argv[0]}: ${(err as NodeJS.ErrnoException).code ?? err.message}`,
        ),
      ),
    );
    child.once('exit', (code, signal) => resolve(code ?? signalStatus(signal)));
  });
  return {
    child,
    pid: child.pid,
    exited,
    dispose: () => {
      for (const [sig, h] of handlers) process.off(sig, h);
    },
  };
}

export function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/**
 * End of profiling in launch mode: the status gauge exits with. A program
 * that ended by itself (or by a signal gauge forwarded to it, when stopWith
 * is undefined) gives its own status; one gauge stops with stopWith gives 0.
 * A program that ignores the stop is killed after graceMs.
 */
export async function settleLaunched(
  launched: Launched,
  stopWith: NodeJS.Signals | undefined,
  graceMs = 3000,
): Promise<number> {
  const c = launched.child;
  let stoppedByUs = false;
  if (isRunning(c)) {
    if (stopWith) {
      stoppedByUs = true;
      c.kill(stopWith);
    }
    const killer = setTimeout(() => c.kill('SIGKILL'), graceMs);
    await launched.exited.catch(() => 0);
    clearTimeout(killer);
  }
  launched.dispose();
  // exited rejects only when the program never started, which launch mode reports earlier.
  const status = await launched.exited.catch(() => 1);
  return stoppedByUs ? 0 : status;
}

/**
 * Wait until pid runs an initialised Python (attach succeeds), polling every
 * 10 ms; gives up when the child exits or after timeoutMs.
 */
export async function waitForPython<T>(attach: () => T, child: ChildProcess, timeoutMs = 15000): Promise<T> {
  const start = Date.now();
  const deadline = start + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    if (!isRunning(child)) {
      throw new GaugeError(
        ErrorCode.EXITED,
        `the program exited before Python started (status ${child.exitCode ?? child.signalCode})`,
      );
    }
    try {
      return attach();
    } catch (err) {
      last = err;
      // Not initialised yet, or a wrapper (env, a pyenv shim) that has not exec'd Python yet.
      // A program that is still not Python after a few seconds never will be.
      const code = err instanceof GaugeError ? err.code : -1;
      const retry =
        code === ErrorCode.NOT_READY ||
        ((code === ErrorCode.NOT_PYTHON || code === ErrorCode.NO_PROCESS) && Date.now() - start < 3000);
      if (!retry) throw err;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw last instanceof Error
    ? last
    : new GaugeError(ErrorCode.NOT_PYTHON, 'the program did not start a Python interpreter');
}
