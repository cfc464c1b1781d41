/**
 * The whole `gauge top` screen as lines of text, each exactly fitted to the
 * width (plain length ≤ width), so nothing ever wraps or garbles whatever
 * the terminal size. Colour comes from a chalk instance of the caller's
 * choosing (level 0 for NO_COLOR or no colour support).
 */
import type { ChalkInstance } from 'chalk';
import { duration, functionLabel, pct, truncate } from '../model/format.js';
import { headerText } from '../model/header-text.js';
import { threadLabel, type Snapshot } from '../model/snapshot.js';
import type { Row, SortKey, ThreadRow } from '../model/queries.js';
import type { TreeNav } from '../model/tree-nav.js';
import { heat } from './views/cells.js';
import { PANE_HELP, paneBody, paneFooter } from './views/pane.js';

export interface LayoutOptions {
  width: number;
  height: number;
  chalk: ChalkInstance;
  help: boolean;
  /** The text filter being typed (undefined when not editing). */
  editing?: string;
  /** Place in the tree and flame panes (only those panes read it). */
  nav?: TreeNav;
}

type Style = (s: string) => string;

/** A line built from styled pieces, cut to the width by plain length. */
class Line {
  private parts: Array<[string, Style | undefined]> = [];
  private len = 0;
  constructor(private readonly width: number) {}
  add(text: string, style?: Style): this {
    const room = this.width - this.len;
    if (room <= 0 || !text) return this;
    const t = text.length > room ? text.slice(0, room) : text;
    this.parts.push([t, style]);
    this.len += t.length;
    return this;
  }
  /** Pad to the full width (for inverse bars). */
  fill(style?: Style): this {
    if (this.len < this.width) this.add(' '.repeat(this.width - this.len), style);
    return this;
  }
  get length(): number {
    return this.len;
  }
  toString(): string {
    return this.parts.map(([t, s]) => (s ? s(t) : t)).join('');
  }
}

const KEYS_SHORT = '1-4 sort  l line  i idle  t thread  / filter  p pause  r reset  s save  ? help  q quit';

export const HELP_LINES: Array<[string, string]> = [
  ['1 2 3 4', 'sort by %Own, %Total, OwnTime, TotalTime'],
  ['l', 'toggle functions / lines'],
  ['i', 'show or hide idle threads and their stacks'],
  ['t / Tab', 'cycle the filter: all, each process, each thread'],
  ['/', 'filter by text in function or file (Enter keeps, Esc clears)'],
  ['w', 'toggle window: since start / last refresh'],
  ['p', 'pause the display (sampling continues)'],
  ['r', 'reset the counts'],
  ['s', 'save the profile recorded so far'],
  ...PANE_HELP,
  ['?', 'this help (any key closes it)'],
  ['q  Ctrl-C', 'quit'],
];

const COLS: Array<{ key: SortKey; title: string; width: number }> = [
  { key: 'own', title: '%Own', width: 7 },
  { key: 'total', title: '%Total', width: 8 },
  { key: 'ownTime', title: 'OwnTime', width: 9 },
  { key: 'totalTime', title: 'TotalTime', width: 10 },
];

/** Which number columns fit: all of them, two, or just the sorted one. */
function numberColumns(width: number, sort: SortKey): typeof COLS {
  if (width >= 31 + 16) return COLS;
  const sorted = COLS.find((c) => c.key === sort)!;
  if (width >= 15 + 12) {
    const second = sort === 'own' ? COLS[1]! : sorted;
    return [COLS[0]!, second];
  }
  return [sorted];
}

function cell(r: Row, key: SortKey): string {
  switch (key) {
    case 'own':
      return pct(r.ownPct);
    case 'total':
      return pct(r.totalPct);
    case 'ownTime':
      return duration(r.ownTime);
    case 'totalTime':
      return duration(r.totalTime);
  }
}

/** The header: the shared wording (model/header-text.ts), coloured and fitted to the width. */
export function headerLines(s: Snapshot, o: LayoutOptions): string[] {
  const { width: w, chalk } = o;
  const h = s.header;
  const t = headerText(h);
  const out: string[] = [];
  const l1 = new Line(w);
  const right = `${t.python}  ${t.elapsed}`;
  const left = t.target;
  if (w >= left.length + right.length + 2) {
    l1.add(left, (x) => chalk.bold(x))
      .add(' '.repeat(w - left.length - right.length))
      .add(right);
  } else if (w >= 30) {
    l1.add(truncate(left, w - right.length - 2), (x) => chalk.bold(x))
      .add('  ')
      .add(right);
  } else {
    l1.add(left, (x) => chalk.bold(x));
  }
  out.push(l1.toString());
  const l2 = new Line(w);
  l2.add(t.samples);
  if (t.loss) l2.add(' ' + t.loss, (x) => chalk.yellow(x));
  l2.add(`  ${t.errors}`, h.errorPct >= 5 ? (x) => chalk.red(x) : undefined);
  l2.add(`  ${t.counts}`);
  out.push(l2.toString());
  const notes: string[] = [];
  if (h.exitedNote) notes.push(chalk.red.bold(truncate(h.exitedNote, w)));
  const flags = [
    s.view.paused ? 'PAUSED' : '',
    s.view.idle ? 'idle shown' : '',
    s.view.byLine ? 'by line' : '',
    h.gilOnly ? 'GIL holders only' : '',
    s.scopeLabel ? `only ${s.scopeLabel}` : '',
    s.view.filter && o.editing === undefined ? `filter "${s.view.filter}"` : '',
    s.view.window === 'last' ? 'last refresh' : '',
  ].filter(Boolean);
  if (flags.length) notes.push(chalk.cyan(truncate(flags.join(' · '), w)));
  for (const st of h.status) if (st) notes.push(truncate(st, w));
  return [...out, ...notes];
}

function tableLines(s: Snapshot, o: LayoutOptions, rows: number): string[] {
  const { width: w, chalk } = o;
  const cols = numberColumns(w, s.view.sort);
  const numW = cols.reduce((a, c) => a + c.width, 0);
  const fnW = Math.max(1, w - numW - 1);
  const head = new Line(w);
  for (const c of cols) {
    const title = c.key === s.view.sort ? c.title + '*' : c.title;
    head.add(
      title.padStart(c.width),
      c.key === s.view.sort ? (x) => chalk.inverse.bold.underline(x) : (x) => chalk.inverse(x),
    );
  }
  head
    .add(' ' + (s.view.byLine ? 'Line (file:line)' : 'Function (file:line)'), (x) => chalk.inverse(x))
    .fill((x) => chalk.inverse(x));
  const out = [head.toString()];
  const data = s.functions.rows;
  if (data.length === 0 && rows > 0) {
    const why = s.view.filter
      ? `nothing matches "${s.view.filter}"`
      : s.view.idle
        ? 'no samples yet'
        : 'no active samples yet (i shows idle threads)';
    out.push(new Line(w).add(' ' + why, (x) => chalk.dim(x)).toString());
    return out;
  }
  for (const r of data.slice(0, rows)) {
    const line = new Line(w);
    const style = heat(chalk, r.ownPct);
    for (const c of cols)
      line.add(
        cell(r, c.key).padStart(c.width),
        c.key === 'own' ? style : c.key === 'total' ? heat(chalk, r.totalPct) : undefined,
      );
    line.add(' ');
    const label = functionLabel(r.name, r.file, r.line, fnW, s.view.fullFilenames);
    const cut = label.indexOf(' (');
    if (cut > 0) line.add(label.slice(0, cut), (x) => chalk.bold(x)).add(label.slice(cut), (x) => chalk.dim(x));
    else line.add(label, (x) => chalk.bold(x));
    out.push(line.toString());
  }
  return out;
}

function threadLines(s: Snapshot, o: LayoutOptions, max: number): string[] {
  const { width: w, chalk } = o;
  if (max < 2) return [];
  const multi = s.processes.length > 1;
  const nameW = Math.max(8, Math.min(32, w - 40));
  const head = new Line(w);
  head
    .add(
      `${'Thread'.padEnd(nameW)} ${'State'.padEnd(8)} ${'CPU%'.padStart(6)} ${'GIL%'.padStart(6)} ${'Samples'.padStart(8)}`,
      (x) => chalk.inverse(x),
    )
    .fill((x) => chalk.inverse(x));
  const out = [head.toString()];
  const byPid = new Map<number, ThreadRow[]>();
  for (const t of s.threads) {
    const list = byPid.get(t.pid) ?? [];
    list.push(t);
    byPid.set(t.pid, list);
  }
  const pids = multi ? s.processes.map((p) => p.pid) : [...byPid.keys()];
  const body: string[] = [];
  for (const pid of pids) {
    const threads = byPid.get(pid) ?? [];
    if (multi) {
      const p = s.processes.find((x) => x.pid === pid);
      const sel = s.view.pid === pid;
      const line = new Line(w).add(sel ? '> ' : '', (x) => chalk.cyan.bold(x));
      line.add(`pid ${pid}${p?.exited ? ' (exited)' : ''}: ${p?.cmdline ?? ''}`, (x) =>
        p?.exited ? chalk.dim(x) : chalk.bold(x),
      );
      body.push(line.toString());
    }
    for (const t of threads) {
      const sel = s.view.thread === t.key;
      const indent = multi ? '  ' : '';
      const label = truncate((sel ? '> ' : '') + indent + threadLabel(t), nameW).padEnd(nameW);
      const line = new Line(w);
      line.add(label, sel ? (x) => chalk.cyan.bold(x) : undefined);
      const stateStyle: Style | undefined =
        t.state === 'running' ? (x) => chalk.green(x) : t.state === 'gone' ? (x) => chalk.dim(x) : undefined;
      line.add(' ' + t.state.padEnd(8), stateStyle);
      line.add(' ' + pct(t.cpuPct).padStart(6), heat(chalk, t.cpuPct));
      line.add(' ' + (s.header.noGil ? 'n/a' : pct(t.gilPct)).padStart(6));
      line.add(' ' + String(t.samples).padStart(8));
      body.push(line.toString());
    }
  }
  if (body.length === 0)
    body.push(new Line(w).add(' no active threads (i shows idle ones)', (x) => chalk.dim(x)).toString());
  if (body.length > max - 1) {
    const keep = body.slice(0, max - 2);
    keep.push(new Line(w).add(` … ${body.length - keep.length} more`, (x) => chalk.dim(x)).toString());
    return [...out, ...keep];
  }
  return [...out, ...body];
}

function footerLine(o: LayoutOptions): string {
  const { width: w, chalk } = o;
  const line = new Line(w);
  if (o.editing !== undefined) {
    line
      .add('Filter: ', (x) => chalk.bold(x))
      .add(o.editing + '_')
      .add('   Enter keep · Esc clear', (x) => chalk.dim(x));
    return line.toString();
  }
  line.add(KEYS_SHORT, (x) => chalk.dim(x));
  return line.toString();
}

function helpLines(o: LayoutOptions, rows: number): string[] {
  const { width: w, chalk } = o;
  const out = [
    new Line(w)
      .add(' Keys', (x) => chalk.inverse.bold(x))
      .fill((x) => chalk.inverse(x))
      .toString(),
  ];
  for (const [k, d] of HELP_LINES)
    out.push(
      new Line(w)
        .add(` ${k.padEnd(10)} `, (x) => chalk.bold(x))
        .add(d)
        .toString(),
    );
  out.push(
    new Line(w)
      .add(' %Own: samples with the function innermost; %Total: on the stack at all.', (x) => chalk.dim(x))
      .toString(),
  );
  out.push(new Line(w).add(' Times: samples × the achieved sampling interval.', (x) => chalk.dim(x)).toString());
  return out.slice(0, Math.max(0, rows));
}

/** The screen: at most height lines, each at most width characters of text. */
export function layout(s: Snapshot, o: LayoutOptions): string[] {
  const w = Math.max(1, o.width);
  const h = Math.max(1, o.height);
  const opts = { ...o, width: w, height: h };
  const footer = h >= 3 ? 1 : 0;
  const header = headerLines(s, opts);
  const hdrN = Math.min(header.length, Math.max(1, h - footer - 2));
  const out = header.slice(0, hdrN);
  const body = h - footer - hdrN;
  if (o.help) {
    out.push(...helpLines(opts, body));
  } else if (body > 0 && s.tree && o.nav) {
    out.push(...paneBody(s, o.nav, w, o.chalk, body));
  } else if (body > 0) {
    const threadCount = s.threads.length + (s.processes.length > 1 ? s.processes.length : 0);
    const tp = body >= 10 ? Math.min(threadCount + 1, Math.max(2, Math.floor(body / 3))) : 0;
    const fnRows = body - tp - 1;
    out.push(...tableLines(s, opts, Math.max(0, fnRows)));
    if (tp) {
      while (out.length < h - footer - tp) out.push('');
      out.push(...threadLines(s, opts, tp));
    }
  }
  while (out.length < h - footer) out.push('');
  if (footer) out.push(s.tree && o.editing === undefined ? paneFooter(s, w, o.chalk) : footerLine(opts));
  return out.slice(0, h);
}
