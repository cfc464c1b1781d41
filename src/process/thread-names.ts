/**
 * Thread names for display: Python's own (threading.Thread.name, read from
 * the target by the native reader), else the OS thread name
 * (/proc/PID/task/TID/comm); the main thread is "MainThread" as Python names
 * it by default when threading was never imported.
 */
import type { Target } from '../reader/target.js';
import type { Sample } from '../sampling/types.js';
import { osThreadName } from './procfs.js';

/** Python's names, or none when they cannot be read right now (the caller falls back). */
export function pythonThreadNames(target: Target): Map<bigint, string> {
  try {
    return target.readPythonThreadNames();
  } catch {
    return new Map();
  }
}

/** Names of one snapshot's threads, keyed by Python thread id. */
export function resolveThreadNames(
  target: Target,
  sample: Sample,
  python: Map<bigint, string> = pythonThreadNames(target),
): Map<bigint, string> {
  const out = new Map<bigint, string>();
  for (const t of sample.threads) {
    const fresh = python.get(t.threadId);
    const known = target.threadNames.get(t.threadId);
    if (fresh) out.set(t.threadId, fresh);
    else if (known) out.set(t.threadId, known);
    else if (t.nativeId === target.pid) out.set(t.threadId, 'MainThread');
    else {
      const os = t.nativeId ? osThreadName(target.pid, t.nativeId) : '';
      if (os) out.set(t.threadId, os);
    }
  }
  return out;
}

/** Keeps Target.threadNames fresh during sampling, at most once a second per process. */
export class ThreadNamer {
  private readonly lastRefresh = new Map<number, number>();

  refresh(target: Target, samples: readonly Sample[]): void {
    const now = Date.now();
    if (now - (this.lastRefresh.get(target.pid) ?? 0) < 1000) return;
    let latest: Sample | undefined;
    for (let i = samples.length - 1; i >= 0; i--) {
      if (samples[i]!.pid === target.pid) {
        latest = samples[i];
        break;
      }
    }
    if (!latest) return;
    this.lastRefresh.set(target.pid, now);
    for (const [tid, name] of resolveThreadNames(target, latest)) target.threadNames.set(tid, name);
  }
}
