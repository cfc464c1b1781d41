/**
 * The whole `gauge top` screen as lines of text, each exactly fitted to the
 * width (plain length ≤ width), so nothing ever wraps or garbles whatever
 * the terminal size. Colour comes from a chalk instance of the caller's
 * choosing (level 0 for NO_COLOR or no colour support).
 */
import type { ChalkInstance } from 'chalk';
import { columns, duration, functionLabel, padEndCols, pct, truncate } from '../model/format.js';
import { modeOf } from '../model/modes.js';
import { headerText } from '../model/header-text.js';
import { threadLabel, type Snapshot } from '../model/snapshot.js';
import type { Row, SortKey, ThreadRow } from '../model/queries.js';
import type { TreeNav } from '../model/tree-nav.js';
import { Cells, heat } from './views/cells.js';
import { paneBody, paneFooter } from './views/pane.js';
import { footerKeys } from './keys.js';
import { helpLines } from './help.js';

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

const COLS: Array<{ key: SortKey; title: string; width: number }> = [
  { key: 'own', title: '%Own', width: 7 },
  { key: 'total', title: '%Total', width: 8 },
  { key: 'ownTime', title: 'OwnTime', width: 9 },
  // One column more than the title: with the sort marker it still stands apart from OwnTime.
  { key: 'totalTime', title: 'TotalTime', width: 11 },
];

/** Which number columns fit: all of them, two, or just the sorted one. */
function numberColumns(width: number, sort: SortKey): typeof COLS {
  if (width >= 32 + 16) return COLS;
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
  const l1 = new Cells(w);
  const mode = modeOf({ idle: s.view.idle, gil: h.gilOnly });
  // The right side, shortened until the target keeps 20 columns: the mode stays longest after the clock.
  const rights = [
    `mode ${mode} · ${s.view.refreshS}s  ${t.python}  ${t.elapsed}`,
    `mode ${mode} · ${s.view.refreshS}s  ${t.elapsed}`,
    `${mode}  ${t.elapsed}`,
    t.elapsed,
  ];
  const left = t.target;
  const right = rights.find((r) => columns(left) + columns(r) + 2 <= w || w - columns(r) - 2 >= 20);
  if (right === undefined || w < 30) {
    l1.put(left, (x) => chalk.bold(x));
  } else {
    const room = w - columns(right) - 2;
    const shown = truncate(left, room);
    l1.put(shown, (x) => chalk.bold(x))
      .put(' '.repeat(w - columns(shown) - columns(right)))
      .put(right);
  }
  out.push(l1.toString());
  const l2 = new Cells(w);
  l2.put(t.samples);
  if (t.loss) l2.put(' ' + t.loss, (x) => chalk.yellow(x));
  l2.put(`  ${t.errors}`, h.errorPct >= 5 ? (x) => chalk.red(x) : undefined);
  l2.put(`  ${t.counts}`);
  out.push(l2.toString());
  const notes: string[] = [];
  if (h.exitedNote) notes.push(chalk.red.bold(truncate(h.exitedNote, w)));
  const flags = [
    s.view.paused ? 'PAUSED' : '',
    s.view.idle ? 'idle shown' : '',
    s.view.byLine ? 'by line' : '',
    s.view.byTask ? 'by task' : '',
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
  // The names start after a space, and where there is no colour, a column for trend arrows when any row has one.
  const arrows = !chalk.level && !!s.trend?.size;
  const fnW = Math.max(1, w - numW - (arrows ? 2 : 1));
  const head = new Cells(w);
  for (const c of cols) {
    const title = c.key === s.view.sort ? c.title + '*' : c.title;
    head.put(
      title.padStart(c.width),
      c.key === s.view.sort ? (x) => chalk.inverse.bold.underline(x) : (x) => chalk.inverse(x),
    );
  }
  head
    .put(' ' + (s.view.byLine ? 'Line (file:line)' : 'Function (file:line)'), (x) => chalk.inverse(x))
    .pad((x) => chalk.inverse(x));
  const out = [head.toString()];
  const data = s.functions.rows;
  if (data.length === 0 && rows > 0) {
    const why = s.view.filter
      ? `nothing matches "${s.view.filter}"`
      : s.view.idle
        ? 'no samples yet'
        : 'no active samples yet (i shows idle threads)';
    out.push(new Cells(w).put(' ' + why, (x) => chalk.dim(x)).toString());
    return out;
  }
  for (const r of data.slice(0, rows)) {
    const line = new Cells(w);
    const style = heat(chalk, r.ownPct);
    for (const c of cols)
      line.put(
        cell(r, c.key).padStart(c.width),
        c.key === 'own' ? style : c.key === 'total' ? heat(chalk, r.totalPct) : undefined,
      );
    // Rising or falling since the last refresh: the name's colour, or an arrow where there is no colour.
    const trend = s.trend?.get(r.id);
    line.put(!arrows ? ' ' : trend ? (trend > 0 ? ' ↑' : ' ↓') : '  ');
    const nameStyle: Style = !trend
      ? (x) => chalk.bold(x)
      : trend > 0
        ? (x) => chalk.bold.magentaBright(x)
        : (x) => chalk.bold.blue(x);
    const label = functionLabel(r.name, r.file, r.line, fnW, s.view.fullFilenames, s.view.byLine);
    const cut = label.indexOf(' (');
    if (cut > 0) line.put(label.slice(0, cut), nameStyle).put(label.slice(cut), (x) => chalk.dim(x));
    else line.put(label, nameStyle);
    out.push(line.toString());
  }
  return out;
}

function threadLines(s: Snapshot, o: LayoutOptions, max: number): string[] {
  const { width: w, chalk } = o;
  if (max < 2) return [];
  const multi = s.processes.length > 1;
  const nameW = Math.max(8, Math.min(32, w - 40));
  const head = new Cells(w);
  head
    .put(
      `${'Thread'.padEnd(nameW)} ${'State'.padEnd(8)} ${'CPU%'.padStart(6)} ${'GIL%'.padStart(6)} ${'Samples'.padStart(8)}`,
      (x) => chalk.inverse(x),
    )
    .pad((x) => chalk.inverse(x));
  const out = [head.toString()];
  const byPid = new Map<number, ThreadRow[]>();
  for (const t of s.threads) {
    const list = byPid.get(t.pid) ?? [];
    list.push(t);
    byPid.set(t.pid, list);
  }
  const pids = multi ? s.processes.map((p) => p.pid) : [...byPid.keys()];
  // Rows with the CPU share they stand for (a process line: its busiest thread's), to choose from when short.
  const body: Array<{ text: string; pid: number; cpu: number }> = [];
  for (const pid of pids) {
    const threads = byPid.get(pid) ?? [];
    if (multi) {
      const p = s.processes.find((x) => x.pid === pid);
      const sel = s.view.pid === pid;
      const line = new Cells(w).put(sel ? '> ' : '', (x) => chalk.cyan.bold(x));
      line.put(`pid ${pid}${p?.exited ? ' (exited)' : ''}: ${p?.cmdline ?? ''}`, (x) =>
        p?.exited ? chalk.dim(x) : chalk.bold(x),
      );
      body.push({ text: line.toString(), pid, cpu: -1 });
    }
    for (const t of threads) {
      const sel = s.view.thread === t.key;
      const indent = multi ? '  ' : '';
      const label = padEndCols((sel ? '> ' : '') + indent + threadLabel(t), nameW);
      const line = new Cells(w);
      line.put(label, sel ? (x) => chalk.cyan.bold(x) : undefined);
      const stateStyle: Style | undefined =
        t.state === 'running' ? (x) => chalk.green(x) : t.state === 'gone' ? (x) => chalk.dim(x) : undefined;
      line.put(' ' + t.state.padEnd(8), stateStyle);
      line.put(' ' + pct(t.cpuPct).padStart(6), heat(chalk, t.cpuPct));
      line.put(' ' + (s.header.noGil ? 'n/a' : pct(t.gilPct)).padStart(6));
      line.put(' ' + String(t.samples).padStart(8));
      // The selected thread first, then by CPU.
      body.push({ text: line.toString(), pid, cpu: sel ? Infinity : t.cpuPct });
    }
  }
  if (body.length === 0)
    return [...out, new Cells(w).put(' no active threads (i shows idle ones)', (x) => chalk.dim(x)).toString()];
  if (body.length <= max - 1) return [...out, ...body.map((b) => b.text)];
  return [...out, ...busiest(body, max - 2).map((b) => b.text), moreLine(body, max - 2, o)];
}

/** The busiest threads that fit in room rows, with their process lines, in panel order. */
function busiest<T extends { pid: number; cpu: number }>(rows: T[], room: number): T[] {
  const keep = new Set<T>();
  const byCpu = rows.filter((r) => r.cpu >= 0).sort((a, b) => b.cpu - a.cpu);
  for (const r of byCpu) {
    const head = rows.find((x) => x.pid === r.pid && x.cpu < 0);
    const need = 1 + (head && !keep.has(head) ? 1 : 0);
    if (keep.size + need > room) break;
    keep.add(r);
    if (head) keep.add(head);
  }
  return rows.filter((r) => keep.has(r));
}

function moreLine(rows: Array<{ pid: number; cpu: number }>, room: number, o: LayoutOptions): string {
  const shown = new Set(busiest(rows, room));
  const hidden = rows.filter((r) => r.cpu >= 0 && !shown.has(r)).length;
  return new Cells(o.width).put(` … ${hidden} more threads`, (x) => o.chalk.dim(x)).toString();
}

function footerLine(o: LayoutOptions): string {
  const { width: w, chalk } = o;
  const line = new Cells(w);
  if (o.editing !== undefined) {
    line
      .put('Filter: ', (x) => chalk.bold(x))
      .put(o.editing + '_')
      .put('   Enter keep · Esc clear', (x) => chalk.dim(x));
    return line.toString();
  }
  line.put(footerKeys(w), (x) => chalk.dim(x));
  return line.toString();
}

/** The screen: at most height lines, each at most width characters of text. */
export function layout(s: Snapshot, o: LayoutOptions): string[] {
  const w = Math.max(1, o.width);
  const h = Math.max(1, o.height);
  const opts = { ...o, width: w, height: h };
  const footer = h >= 3 ? 1 : 0;
  // Help takes the whole screen above the footer: every key fits at 60×15.
  if (o.help) {
    const out = helpLines(w, h - footer, o.chalk);
    while (out.length < h - footer) out.push('');
    if (footer) out.push(footerLine(opts));
    return out.slice(0, h);
  }
  const header = headerLines(s, opts);
  const hdrN = Math.min(header.length, Math.max(1, h - footer - 2));
  const out = header.slice(0, hdrN);
  const body = h - footer - hdrN;
  if (body > 0 && s.tree && o.nav) {
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
