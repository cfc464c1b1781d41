/**
 * The most frequent reason stacks failed, for the TUI header and the record
 * summary ("stacks failed: 2.1 %, mostly frame changed while read (80 %)").
 * Pure: samples in, one answer out.
 */
import type { Sample } from '../sampling/types.js';

export interface ReasonShare {
  /** The most frequent reason, e.g. 'frame changed while read'. */
  reason: string;
  /** Failures with that reason. */
  count: number;
  /** count / failures, 0..1. */
  share: number;
  /** Every failure seen: thread stacks that failed or were cut, plus records read only in part. */
  failures: number;
}

/**
 * Counts each failed or cut thread stack by its reason, and each partial
 * record (thread list changed, ...) once. Ties go to the reason seen first.
 * Undefined when nothing failed.
 */
export function mostFrequentReason(samples: Iterable<Sample>): ReasonShare | undefined {
  const counts = new Map<string, number>();
  let failures = 0;
  const add = (reason: string | undefined): void => {
    failures++;
    const r = reason ?? 'unknown reason';
    counts.set(r, (counts.get(r) ?? 0) + 1);
  };
  for (const s of samples) {
    if (s.reason) add(s.reason);
    for (const t of s.threads) if (t.error || t.truncated) add(t.reason);
  }
  let best: [string, number] | undefined;
  for (const e of counts) if (!best || e[1] > best[1]) best = e;
  return best && { reason: best[0], count: best[1], share: best[1] / failures, failures };
}
