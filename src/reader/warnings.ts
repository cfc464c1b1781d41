/**
 * What the reader says to be wary of about a target (gauge_info's `warning`:
 * an untested newer CPython read through its own _Py_DebugOffsets, a
 * pre-release): told once per distinct message on stderr, however many
 * processes or attaches repeat it.
 */
import type { TargetInfo } from './target.js';

const told = new Set<string>();

/** Writes `gauge: warning: …` once per distinct warning; returns whether it wrote. */
export function warnOnce(
  info: Pick<TargetInfo, 'warning'>,
  write: (s: string) => void = (s) => void process.stderr.write(s),
): boolean {
  const w = info.warning?.trim();
  if (!w || told.has(w)) return false;
  told.add(w);
  write(`gauge: warning: ${w}\n`);
  return true;
}
