/**
 * The most frequent reason stacks failed, for the TUI header and the record
 * summary ("stacks failed: 2.1 %, mostly frame changed while read (80 %)").
 * Pure: samples in, one answer out.
 */
import type { Sample } from '../sampling/types.js';
import { pct } from './format.js';

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

/** Failures counted by reason: one rule for the model's windows and for one-off lists of samples. */
export class ReasonTally {
  readonly counts = new Map<string, number>();
  failures = 0;

  /** Counts each failed or cut thread stack of the sample by its reason, and a partial record once. */
  addSample(s: Sample): void {
    if (s.reason) this.addReason(s.reason);
    for (const t of s.threads) if (t.error || t.truncated) this.addReason(t.reason);
  }

  addReason(reason: string | undefined, n = 1): void {
    const r = reason ?? 'unknown reason';
    this.failures += n;
    this.counts.set(r, (this.counts.get(r) ?? 0) + n);
  }

  addAll(o: ReasonTally): void {
    for (const [r, n] of o.counts) this.addReason(r, n);
  }

  /** The commonest reason (ties go to the one seen first); undefined when nothing failed. */
  top(): ReasonShare | undefined {
    let best: [string, number] | undefined;
    for (const e of this.counts) if (!best || e[1] > best[1]) best = e;
    return best && { reason: best[0], count: best[1], share: best[1] / this.failures, failures: this.failures };
  }
}

/**
 * Counts each failed or cut thread stack by its reason, and each partial
 * record (thread list changed, ...) once. Ties go to the reason seen first.
 * Undefined when nothing failed.
 */
export function mostFrequentReason(samples: Iterable<Sample>): ReasonShare | undefined {
  const tally = new ReasonTally();
  for (const s of samples) tally.addSample(s);
  return tally.top();
}

/** The record summary's words: "3 stacks failed or cut (1.5% of thread samples), mostly depth cap (100%)"; '' when none. */
export function failureSummary(tally: ReasonTally, threadSamples: number): string {
  const top = tally.top();
  if (!top) return '';
  const share = pct((100 * top.failures) / Math.max(1, threadSamples));
  return `${top.failures} stacks failed or cut (${share} of thread samples), mostly ${top.reason} (${pct(100 * top.share)})`;
}
