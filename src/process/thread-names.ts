/**
 * Thread names for display: Python's own (threading.Thread.name, read from
 * the target by the native reader), else the OS thread name
 * (/proc/PID/task/TID/comm); the main thread is "MainThread" as Python names
 * it by default when threading was never imported.
 */
import { ErrorCode, GaugeError } from '../reader/errors.js';
import type { Target } from '../reader/target.js';
import type { Sample } from '../sampling/types.js';
import { osThreadName } from './procfs.js';

/** The name to show for a thread: the one known, else "MainThread" for the main thread, else fallback. */
export function displayThreadName(t: { name: string; pid: number; nativeId: number }, fallback = ''): string {
  return t.name || (t.nativeId === t.pid ? 'MainThread' : fallback);
}

/** Names of one snapshot's threads, keyed by Python thread id. Throws GaugeError(EXITED) when the process is gone. */
export function resolveThreadNames(
  target: Target,
  sample: Sample,
  python: Map<bigint, string> = target.readPythonThreadNames(),
): Map<bigint, string> {
  const out = new Map<bigint, string>();
  for (const t of sample.threads) {
    const known = python.get(t.threadId) || target.threadNames.get(t.threadId) || '';
    const name =
      displayThreadName({ name: known, pid: target.pid, nativeId: t.nativeId }) ||
      (t.nativeId ? osThreadName(target.pid, t.nativeId) : '');
    if (name) out.set(t.threadId, name);
  }
  return out;
}

/** Keeps Target.threadNames fresh during sampling, at most once a second (or every everyMs) per process. */
export class ThreadNamer {
  private readonly lastRefresh = new Map<number, number>();

  constructor(private readonly everyMs = 1000) {}

  /** A process that is gone: drop its refresh time. */
  forget(pid: number): void {
    this.lastRefresh.delete(pid);
  }

  refresh(target: Target, samples: readonly Sample[]): void {
    const now = Date.now();
    if (now - (this.lastRefresh.get(target.pid) ?? 0) < this.everyMs) return;
    let latest: Sample | undefined;
    for (let i = samples.length - 1; i >= 0; i--) {
      if (samples[i]!.pid === target.pid) {
        latest = samples[i];
        break;
      }
    }
    if (!latest) return;
    this.lastRefresh.set(target.pid, now);
    let names: Map<bigint, string>;
    try {
      names = resolveThreadNames(target, latest);
    } catch (err) {
      // Exited since the last drain: the sampler reports the exit with its next record; names no longer matter.
      if (err instanceof GaugeError && err.code === ErrorCode.EXITED) return;
      throw err;
    }
    for (const [tid, name] of names) target.threadNames.set(tid, name);
  }
}
