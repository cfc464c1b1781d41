/**
 * The one way `top` and `record` get a running SamplingSession: attach to
 * --pid, or launch `-- cmd args` and attach as soon as it runs Python.
 */
import type { StdioOptions } from 'node:child_process';
import { ErrorCode, GaugeError } from '../reader/errors.js';
import { isRunning, launch, waitForPython, type Launched } from '../process/launch.js';
import { SamplingSession, type SessionOptions } from './session.js';
import { attachPastShell } from '../process/shell-wrapper.js';

export interface StartOptions extends SessionOptions {
  /** Process to attach to; or command to launch (exactly one of them is given). */
  pid?: number;
  command: string[];
  /** stdio of a launched program. */
  stdio: StdioOptions;
  /** Called with the launched program before gauge waits for its interpreter (to collect its output). */
  onLaunch?: (l: Launched) => void;
}

/** How long a launched wrapper (a pyenv shim, env, a shell) gets to exec Python under --subprocesses. */
const WRAPPER_GRACE_MS = 2000;

export async function startSession(o: StartOptions): Promise<{ session: SamplingSession; launched?: Launched }> {
  const opts: SessionOptions = {
    rateHz: o.rateHz,
    subprocesses: o.subprocesses,
    maxDepth: o.maxDepth,
    drainMs: o.drainMs,
  };
  if (!o.command.length) {
    const session = attachPastShell(o.pid!, () => {
      const s = new SamplingSession(o.pid!, opts);
      s.start();
      return s;
    });
    return { session };
  }
  const launched = launch(o.command, o.stdio);
  o.onLaunch?.(launched);
  const began = Date.now();
  try {
    const session = await waitForPython(() => {
      const s = new SamplingSession(launched.pid, opts);
      s.start();
      // With -s a session starts even when the root is not Python (a shell script is fine), but a
      // wrapper that execs Python must get the chance to: otherwise the root itself would never be sampled.
      if (o.subprocesses && !s.processes.has(launched.pid) && Date.now() - began < WRAPPER_GRACE_MS) {
        s.stop();
        throw new GaugeError(ErrorCode.NOT_READY, 'the program is not running Python yet');
      }
      return s;
    }, launched.child);
    return { session, launched };
  } catch (err) {
    if (isRunning(launched.child)) launched.child.kill('SIGKILL');
    launched.dispose();
    throw err;
  }
}
