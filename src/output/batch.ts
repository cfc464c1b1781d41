/**
 * Plain-text output of `gauge top` without a terminal (piped, CI, --batch):
 * a snapshot every --delay seconds, like `top -b`. cli-table3 with no borders
 * and no colour, so the output greps and diffs cleanly.
 */
import Table from 'cli-table3';
import { duration, functionLabel, pct, truncate } from '../model/format.js';
import { headerText } from '../model/header-text.js';
import { modeLabel } from '../model/modes.js';
import { SORT_TITLES, threadLabel, type Header, type Snapshot } from '../model/snapshot.js';

const PLAIN_CHARS = {
  top: '',
  'top-mid': '',
  'top-left': '',
  'top-right': '',
  bottom: '',
  'bottom-mid': '',
  'bottom-left': '',
  'bottom-right': '',
  left: '',
  'left-mid': '',
  mid: '',
  'mid-mid': '',
  right: '',
  'right-mid': '',
  middle: '  ',
};

/** The header as lines of plain text (wording shared with the TUI in model/header-text.ts). */
export function headerLines(h: Header, idle = false): string[] {
  const t = headerText(h);
  return [
    `gauge top  ${t.target}`,
    `${t.python}  Elapsed ${t.elapsed}  ${t.samples}${t.loss ? '  ' + t.loss : ''}`,
    `${t.errors}  ${t.counts}  ${modeLabel({ idle, gil: h.gilOnly })}`,
    ...t.notes,
  ];
}

export interface BatchOptions {
  /** Total width available; the function column takes what the numbers leave. */
  width: number;
  /** Function rows printed. */
  rows: number;
}

export function renderBatch(s: Snapshot, o: BatchOptions): string {
  const out: string[] = [];
  out.push(...headerLines(s.header, s.view.idle));
  const v = s.view;
  const scope = [
    v.window === 'cumulative' ? 'since start' : 'last refresh',
    v.byLine ? 'by line' : 'by function',
    v.idle ? 'idle shown' : 'idle hidden',
    s.scopeLabel,
    v.filter ? `filter "${v.filter}"` : undefined,
  ].filter(Boolean);
  out.push(`Functions (${scope.join(', ')}; ${s.functions.samples} thread samples; sorted by ${SORT_TITLES[v.sort]})`);

  const numW = 10;
  const fnWidth = Math.max(20, o.width - 4 * (numW + 2) - 2);
  const head = ['%Own', '%Total', 'OwnTime', 'TotalTime'].map((h, i) =>
    ['own', 'total', 'ownTime', 'totalTime'][i] === v.sort ? h + '*' : h,
  );
  const fn = new Table({
    head: [...head, v.byLine ? 'Line (file:line)' : 'Function (file:line)'],
    chars: PLAIN_CHARS,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0, compact: true },
    colAligns: ['right', 'right', 'right', 'right', 'left'],
  });
  for (const r of s.functions.rows.slice(0, o.rows)) {
    fn.push([
      pct(r.ownPct),
      pct(r.totalPct),
      duration(r.ownTime),
      duration(r.totalTime),
      functionLabel(r.name, r.file, r.line, fnWidth, v.fullFilenames),
    ]);
  }
  if (s.functions.rows.length === 0) out.push('  (no samples yet)');
  else out.push(fn.toString());

  const threads = new Table({
    head: ['PID', 'Thread', 'State', 'CPU%', 'GIL%', 'Samples'],
    chars: PLAIN_CHARS,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0, compact: true },
    colAligns: ['right', 'left', 'left', 'right', 'right', 'right'],
  });
  for (const t of s.threads) {
    threads.push([
      t.pid,
      truncate(threadLabel(t), 40),
      t.state,
      pct(t.cpuPct),
      s.header.noGil ? 'n/a' : pct(t.gilPct),
      t.samples,
    ]);
  }
  out.push('');
  out.push('Threads');
  out.push(s.threads.length ? threads.toString() : '  (none active)');
  out.push('');
  return out.join('\n') + '\n';
}
