/**
 * What the reader says to be wary of about a target, told once per distinct
 * message on stderr however many processes or attaches repeat it:
 * gauge_info's `warning` (an untested newer CPython read through its own
 * _Py_DebugOffsets, a pre-release) and its `layoutDiff` (fields where
 * gauge's built-in row for that version differs from what the target
 * publishes; the target's offsets are the ones used).
 */
import type { TargetInfo } from './target.js';

const told = new Set<string>();

/** Writes `gauge: warning: …` once per distinct warning; returns whether it wrote. */
export function warnOnce(
  info: Pick<TargetInfo, 'warning'> & Partial<Pick<TargetInfo, 'layoutDiff' | 'version'>>,
  write: (s: string) => void = (s) => void process.stderr.write(s),
): boolean {
  const diff = info.layoutDiff?.trim();
  const messages = [
    info.warning?.trim(),
    diff
      ? `CPython ${info.version ?? '?'} publishes offsets that differ from gauge's built-in table (${diff}); using the target's`
      : '',
  ].filter((m): m is string => !!m && !told.has(m));
  for (const m of messages) {
    told.add(m);
    write(`gauge: warning: ${m}\n`);
  }
  return messages.length > 0;
}
