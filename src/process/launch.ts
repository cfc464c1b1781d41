/**
 * Launch mode (`gauge top -- python app.py`): start the program, attach as
 * soon as its interpreter is initialised, forward signals, and report its
 * exit status so gauge can exit with it.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { GaugeError, ErrorCode } from '../reader/errors.js';

export interface Launched {
  child: ChildProcess;
  pid: number;
  /** Resolves with the exit code gauge should use (128+signal for a signal death). */
  exited: Promise<number>;
  /** Stop forwarding signals (call before gauge exits). */
  dispose(): void;
}

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
const SIGNUM: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGUSR1: 10, SIGUSR2: 12, SIGTERM: 15 };

export function launch(argv: string[], stdio: StdioOptions, forwardSignals = true): Launched {
  if (!argv.length) throw new GaugeError(ErrorCode.INVALID, 'no command given after --');
  const child = spawn(argv[0]!, argv.slice(1), { stdio });
  if (child.pid === undefined) throw new GaugeError(ErrorCode.NO_PROCESS, `cannot start ${argv[0]}`);
  const handlers = new Map<NodeJS.Signals, () => void>();
  if (forwardSignals) {
    for (const sig of FORWARDED) {
      const h = (): void => {
        child.kill(sig);
      };
      handlers.set(sig, h);
      process.on(sig, h);
    }
  }
  const exited = new Promise<number>((resolve, reject) => {
    child.once('error', (err) =>
      reject(new GaugeError(ErrorCode.NO_PROCESS, `cannot start ${argv[0]}: ${(err as NodeJS.ErrnoException).code ?? err.message}`)),
    );
    child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? (SIGNUM[signal] ?? 1) : 1)));
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

/**
 * Wait until pid runs an initialised Python (attach succeeds), polling every
 * 10 ms; gives up when the child exits or after timeoutMs.
 */
export async function waitForPython<T>(attach: () => T, child: ChildProcess, timeoutMs = 15000): Promise<T> {
  const start = Date.now();
  const deadline = start + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new GaugeError(ErrorCode.EXITED, `the program exited before Python started (status ${child.exitCode ?? child.signalCode})`);
    }
    try {
      return attach();
    } catch (err) {
      last = err;
      // Not initialised yet, or a wrapper (env, a pyenv shim) that has not exec'd Python yet.
      // A program that is still not Python after a few seconds never will be.
      const code = err instanceof GaugeError ? err.code : -1;
      const retry = code === ErrorCode.NOT_READY || ((code === ErrorCode.NOT_PYTHON || code === ErrorCode.NO_PROCESS) && Date.now() - start < 3000);
      if (!retry) throw err;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw last instanceof Error ? last : new GaugeError(ErrorCode.NOT_PYTHON, 'the program did not start a Python interpreter');
}
