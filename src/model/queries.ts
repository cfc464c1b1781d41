/**
 * The three views `gauge top` asks of the model — the functions (or lines)
 * table, the threads panel and the header totals — built on demand by
 * merging the per-thread tables in scope. Pure: records in, rows out.
 */
import { ReasonTally, type ReasonShare } from './reason-share.js';
import type { FrameTable } from '../sampling/types.js';
import { OTHER_ID } from './count-table.js';
import type { FunctionIds } from './function-ids.js';
import type { ProcessRecord, ThreadRecord } from './records.js';
import type { Window } from './windows.js';

/** The State column holds "active" this long after a thread's last active sample (ThreadRecord.shownState). */
const STATE_HOLD_S = 1.5;
const STATE_HOLD_SAMPLES = 5;

export type SortKey = 'own' | 'total' | 'ownTime' | 'totalTime';

export interface ViewOptions {
  byLine?: boolean;
  /** Include idle samples. */
  idle?: boolean;
  window?: Window;
  /** Only this process. */
  pid?: number;
  /** Only this thread (ThreadRecord.key). */
  thread?: string;
  /** Case-insensitive substring of function name or file. */
  filter?: string;
  /** Group by asyncio task name (task-groups.ts): the table lists tasks, or a picked task's functions. */
  byTask?: boolean;
  /** Only the stacks of this asyncio task name (grouped view and call tree). */
  task?: string;
  sort?: SortKey;
  /** Rows returned (after sorting). */
  limit?: number;
}

export interface Row {
  /** Function or line id; OTHER_ID for the folded row. */
  id: number;
  name: string;
  file: string;
  /** Line (per-line view) or first line of the function. */
  line: number;
  own: number;
  total: number;
  ownPct: number;
  totalPct: number;
  ownTime: number;
  totalTime: number;
}

export interface FunctionView {
  rows: Row[];
  /** Rows that matched before the limit. */
  matched: number;
  /** Thread samples in scope (the percentage denominator). */
  samples: number;
}

export interface ThreadRow {
  key: string;
  pid: number;
  threadId: bigint;
  nativeId: number;
  name: string;
  /** OS state of its latest active sample, or 'idle' when it has not been active for a moment (ThreadRecord.shownState). */
  state: string;
  alive: boolean;
  samples: number;
  idlePct: number;
  cpuPct: number;
  gilPct: number;
  activePct: number;
}

export interface Totals {
  /** Ticks (one per process per sampling instant). */
  ticks: number;
  /** Thread samples. */
  threadSamples: number;
  errorPct: number;
  /** The commonest reason stacks failed or were cut, and its share of those. */
  topReason?: ReasonShare;
  gilPct: number;
  /** Every tick came from free-threaded targets running without a GIL: no GIL share to show. */
  noGil: boolean;
  activePct: number;
  /** Achieved ticks per second per process (root or mean over processes). */
  achievedHz: number;
  seconds: number;
  threads: number;
  processes: number;
}

/** What the queries read besides the records. */
export interface QueryContext {
  processes: Iterable<ProcessRecord>;
  frames: FrameTable;
  functions: FunctionIds;
  rateHz: number;
}

function inScope(t: ThreadRecord, o: ViewOptions): boolean {
  if (o.pid !== undefined && t.pid !== o.pid) return false;
  if (o.thread !== undefined && t.key !== o.thread) return false;
  return true;
}

export interface Merged {
  own: number;
  total: number;
  ownTime: number;
  totalTime: number;
}

/** Add a row's counts (and the time they stand for) to a merge. */
export function addCounts(merged: Map<number, Merged>, id: number, own: number, total: number, interval: number): void {
  let m = merged.get(id);
  if (!m) merged.set(id, (m = { own: 0, total: 0, ownTime: 0, totalTime: 0 }));
  m.own += own;
  m.total += total;
  m.ownTime += own * interval;
  m.totalTime += total * interval;
}

/** The functions (or lines) table. */
export function functionView(ctx: QueryContext, o: ViewOptions = {}): FunctionView {
  const window = o.window ?? 'cumulative';
  const byLine = !!o.byLine;
  const idle = !!o.idle;
  const merged = new Map<number, Merged>();
  let samples = 0;
  for (const p of ctx.processes) {
    const interval = p.window('cumulative').interval(ctx.rateHz);
    for (const t of p.threads.values()) {
      if (!inScope(t, o)) continue;
      for (const w of t.windows(window)) {
        samples += w.counted + (idle ? w.countedIdle : 0);
        for (const [id, c] of (byLine ? w.lines : w.funcs).map) {
          const own = c.own + (idle ? c.ownIdle : 0);
          const total = c.total + (idle ? c.totalIdle : 0);
          if (total === 0 && own === 0) continue;
          addCounts(merged, id, own, total, interval);
        }
      }
    }
  }
  return viewOf(ctx, merged, samples, o);
}

/** Counts per row id as table rows: filtered, sorted, cut to the limit. */
export function viewOf(ctx: QueryContext, merged: Map<number, Merged>, samples: number, o: ViewOptions): FunctionView {
  const byLine = !!o.byLine;
  const filter = o.filter?.toLowerCase();
  const rows: Row[] = [];
  for (const [id, m] of merged) {
    const { name, file, line } = describe(ctx, id, byLine);
    if (filter && !name.toLowerCase().includes(filter) && !file.toLowerCase().includes(filter)) continue;
    const total = Math.min(m.total, samples);
    rows.push({
      id,
      name,
      file,
      line,
      own: m.own,
      total,
      ownPct: samples ? (100 * m.own) / samples : 0,
      totalPct: samples ? (100 * total) / samples : 0,
      ownTime: m.ownTime,
      totalTime: m.totalTime,
    });
  }
  rows.sort(rowOrder(o.sort ?? 'own'));
  const matched = rows.length;
  return { rows: o.limit !== undefined ? rows.slice(0, o.limit) : rows, matched, samples };
}

/** Name, file and line of a row id: a line (frame), a function, or the folded row. */
export function describe(ctx: QueryContext, id: number, byLine: boolean): { name: string; file: string; line: number } {
  if (id === OTHER_ID) return { name: '(other)', file: '', line: 0 };
  if (byLine) return ctx.frames.get(id);
  const f = ctx.functions.get(id);
  return { name: f.name, file: f.file, line: f.firstLine };
}

/** Sorted by the key, then by the other count, then by name (stable across refreshes). */
export function rowOrder(sort: SortKey): (a: Row, b: Row) => number {
  const keyOf = (r: Row): number =>
    sort === 'own' ? r.own : sort === 'total' ? r.total : sort === 'ownTime' ? r.ownTime : r.totalTime;
  const second = (r: Row): number => (sort === 'own' || sort === 'ownTime' ? r.total : r.own);
  return (a, b) =>
    keyOf(b) - keyOf(a) || second(b) - second(a) || (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id - b.id);
}

/**
 * Threads, ordered by process then first appearance. Threads that were idle
 * in every sample of the window are left out unless idle is asked for.
 */
export function threadRows(ctx: QueryContext, o: { window?: Window; idle?: boolean; pid?: number } = {}): ThreadRow[] {
  const window = o.window ?? 'cumulative';
  const out: ThreadRow[] = [];
  const holdNs = BigInt(Math.round(Math.max(STATE_HOLD_S, STATE_HOLD_SAMPLES / ctx.rateHz) * 1e9));
  for (const p of ctx.processes) {
    if (o.pid !== undefined && p.pid !== o.pid) continue;
    const seconds = p.window(window).seconds(ctx.rateHz);
    for (const t of p.threads.values()) {
      const w = t.tally(window);
      if (w.samples === 0 && !t.alive) continue;
      if (!o.idle && w.samples > 0 && w.idle === w.samples) continue;
      if (!o.idle && w.samples === 0 && t.lastIdle) continue;
      out.push({
        key: t.key,
        pid: t.pid,
        threadId: t.threadId,
        nativeId: t.nativeId,
        name: t.name,
        state: t.shownState(holdNs),
        alive: t.alive,
        samples: w.samples,
        idlePct: w.samples ? (100 * w.idle) / w.samples : 0,
        cpuPct: seconds > 0 ? (100 * w.cpuNs) / 1e9 / seconds : 0,
        gilPct: w.samples ? (100 * w.gil) / w.samples : 0,
        activePct: w.samples ? (100 * (w.samples - w.idle)) / w.samples : 0,
      });
    }
  }
  return out;
}

/** Header figures. */
export function totals(ctx: QueryContext, o: { window?: Window; pid?: number; rootPid?: number } = {}): Totals {
  const window = o.window ?? 'cumulative';
  let ticks = 0;
  let gil = 0;
  let active = 0;
  let threadSamples = 0;
  let errors = 0;
  let noGilTicks = 0;
  const reasons = new ReasonTally();
  let threads = 0;
  let processes = 0;
  let hzSum = 0;
  let hzN = 0;
  let rootHz = -1;
  let seconds = 0;
  for (const p of ctx.processes) {
    if (o.pid !== undefined && p.pid !== o.pid) continue;
    if (!p.exited) processes++;
    const pw = p.window(window);
    ticks += pw.ticks;
    gil += pw.gilTicks;
    active += pw.activeTicks;
    noGilTicks += pw.noGilTicks;
    reasons.addAll(pw.reasons);
    seconds = Math.max(seconds, pw.seconds(ctx.rateHz));
    if (pw.ticks >= 2) {
      const hz = 1 / pw.interval(ctx.rateHz);
      hzSum += hz;
      hzN++;
      if (p.pid === o.rootPid) rootHz = hz;
    }
    for (const t of p.threads.values()) {
      if (t.alive && !t.folded) threads++;
      const w = t.tally(window);
      threadSamples += w.samples;
      errors += w.errors;
    }
  }
  return {
    ticks,
    threadSamples,
    errorPct: threadSamples ? (100 * errors) / threadSamples : 0,
    topReason: reasons.top(),
    gilPct: ticks ? (100 * gil) / ticks : 0,
    noGil: ticks > 0 && noGilTicks === ticks,
    activePct: ticks ? (100 * active) / ticks : 0,
    achievedHz: rootHz >= 0 ? rootHz : hzN ? hzSum / hzN : 0,
    seconds,
    threads,
    processes,
  };
}
