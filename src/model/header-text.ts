/**
 * The words of `gauge top`'s header, once: the TUI (which adds colour and
 * fits them to the terminal) and the batch output (plain lines) both show
 * these pieces, so the two cannot drift apart.
 */
import { clock, pct } from './format.js';
import type { Header } from './snapshot.js';

export interface HeaderText {
  /** "pid 1234: python app.py" */
  target: string;
  /** "Python 3.12.1" */
  python: string;
  /** Elapsed wall time, "1:05". */
  elapsed: string;
  /** "Samples 500 at 99.8/100 Hz" */
  samples: string;
  /** "(dropped 3, late 2)", or '' when nothing was lost. */
  loss: string;
  /** "Errors 0.1%", then the commonest reason when stacks failed: "(mostly frame changed while read, 80%)" */
  errors: string;
  /** "GIL 97.0%  Active 100%  Threads 3  Processes 2 (+1 exited)" */
  counts: string;
  /** Lines below the figures: the exit note, then exporter and save status. */
  notes: string[];
}

export function headerText(h: Header): HeaderText {
  const hz = `${h.achievedHz.toFixed(h.achievedHz >= 100 ? 0 : 1)}/${h.requestedHz} Hz`;
  const exited = h.processesExited ? ` (+${h.processesExited} exited)` : '';
  return {
    target: `pid ${h.pid}${h.cmdline ? ': ' + h.cmdline : ''}`,
    python: `Python ${h.pythonVersion || '?'}`,
    elapsed: clock(h.elapsedS),
    samples: `Samples ${h.samples} at ${hz}`,
    loss: h.dropped || h.late ? `(dropped ${h.dropped}, late ${h.late})` : '',
    errors: `Errors ${pct(h.errorPct)}${h.topReason ? ` (mostly ${h.topReason.reason}, ${pct(100 * h.topReason.share)})` : ''}`,
    counts: `GIL ${h.noGil ? 'none (free-threaded)' : pct(h.gilPct)}  Active ${pct(h.activePct)}  Threads ${h.threads}  Processes ${h.processes}${exited}`,
    notes: [
      ...(h.exitedNote ? [h.exitedNote] : []),
      ...(h.gilOnly && h.noGil ? ['--gil: this free-threaded Python runs without a GIL, so no sample holds one'] : []),
      ...h.status.filter(Boolean),
    ],
  };
}
