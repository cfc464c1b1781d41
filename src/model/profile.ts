/**
 * The live profile behind `gauge top`: own and total sample counts per
 * function and per line, per thread and per process, for the cumulative
 * window (since start or reset) and the last completed refresh window.
 *
 * The hot path (add) runs for every sample at up to 1000 Hz × threads, so it
 * only bumps counters in the *current* window; roll() (once per refresh)
 * folds that window into the cumulative one. Views are built on demand at
 * refresh time by merging the per-thread tables in scope.
 */
import { isIdle } from '../sampling/idle.js';
import type { FrameTable, Sample, ThreadSample, ThreadState } from '../sampling/types.js';

/** Counts of one function (or line) in one thread and window. Idle samples are kept apart so `i` can toggle them. */
export class Counts {
  own = 0;
  total = 0;
  ownIdle = 0;
  totalIdle = 0;
  /** One sample: innermost frame (own) or further out, idle or not. */
  count(own: boolean, idle: boolean): void {
    if (idle) {
      if (own) this.ownIdle++;
      this.totalIdle++;
    } else {
      if (own) this.own++;
      this.total++;
    }
  }
  add(o: Counts): void {
    this.own += o.own;
    this.total += o.total;
    this.ownIdle += o.ownIdle;
    this.totalIdle += o.totalIdle;
  }
}

/** Id of the row every folded entry goes to once a table reaches its cap. */
export const OTHER_ID = -1;

/** A bounded table of counts keyed by function or line id. */
export class CountTable {
  readonly map = new Map<number, Counts>();
  constructor(private readonly cap: number) {}

  get(id: number): Counts {
    let c = this.map.get(id);
    if (c === undefined) {
      if (this.map.size >= this.cap) this.compact();
      c = new Counts();
      this.map.set(id, c);
    }
    return c;
  }

  /** Keep the busier half, fold the rest into OTHER_ID. */
  private compact(): void {
    const entries = [...this.map.entries()].filter(([id]) => id !== OTHER_ID);
    entries.sort((a, b) => b[1].total + b[1].totalIdle - (a[1].total + a[1].totalIdle));
    let other = this.map.get(OTHER_ID);
    if (!other) {
      other = new Counts();
      this.map.set(OTHER_ID, other);
    }
    for (let i = Math.floor(this.cap / 2); i < entries.length; i++) {
      const [id, c] = entries[i]!;
      other.own += c.own;
      other.ownIdle += c.ownIdle;
      // Totals of folded entries overlap (same samples); the largest is a lower bound of their union.
      other.total = Math.max(other.total, c.total);
      other.totalIdle = Math.max(other.totalIdle, c.totalIdle);
      this.map.delete(id);
    }
  }

  addAll(o: CountTable): void {
    for (const [id, c] of o.map) this.get(id).add(c);
  }
}

/** Per-thread tallies of one window. */
export class ThreadWindow {
  /** Thread samples seen. */
  samples = 0;
  /** ... of which idle. */
  idle = 0;
  /** ... holding the GIL. */
  gil = 0;
  /** ... whose stack could not be read. */
  errors = 0;
  /** Samples counted in the function tables (all, or only GIL holders with --gil), active and idle. */
  counted = 0;
  countedIdle = 0;
  /** Active samples left out of the function tables: runnable, but got no CPU since the previous sample. */
  starved = 0;
  /** CPU time consumed, ns (sum of the known deltas). */
  cpuNs = 0;
  readonly funcs: CountTable;
  readonly lines: CountTable;
  constructor(cap: number) {
    this.funcs = new CountTable(cap);
    this.lines = new CountTable(cap);
  }
  addAll(o: ThreadWindow): void {
    this.samples += o.samples;
    this.idle += o.idle;
    this.gil += o.gil;
    this.errors += o.errors;
    this.counted += o.counted;
    this.countedIdle += o.countedIdle;
    this.cpuNs += o.cpuNs;
    this.starved += o.starved;
    this.funcs.addAll(o.funcs);
    this.lines.addAll(o.lines);
  }
}

/** A thread as the model knows it. */
export class ThreadRecord {
  name = '';
  nativeId = 0;
  state: ThreadState = 'unknown';
  lastIdle = false;
  /** Monotonic ns of the last sample that saw it. */
  lastSeenNs = 0n;
  /** Whether the thread was in the most recent sample of its process. */
  alive = true;
  /** Folded bucket of threads dropped by the cap. */
  folded = false;
  cum: ThreadWindow;
  cur: ThreadWindow;
  last: ThreadWindow;
  constructor(
    readonly pid: number,
    readonly threadId: bigint,
    private readonly cap: number,
  ) {
    this.cum = new ThreadWindow(cap);
    this.cur = new ThreadWindow(cap);
    this.last = new ThreadWindow(cap);
  }
  get key(): string {
    return `${this.pid}:${this.threadId}`;
  }
  roll(): void {
    this.cum.addAll(this.cur);
    this.last = this.cur;
    this.cur = new ThreadWindow(this.cap);
  }
  reset(): void {
    this.cum = new ThreadWindow(this.cap);
    this.cur = new ThreadWindow(this.cap);
    this.last = new ThreadWindow(this.cap);
  }
}

/** Per-process tallies of one window: ticks (one Sample each) and how many had a GIL holder / an active thread. */
export class ProcessWindow {
  ticks = 0;
  gilTicks = 0;
  activeTicks = 0;
  firstNs = -1n;
  lastNs = -1n;
  add(o: ProcessWindow): void {
    this.ticks += o.ticks;
    this.gilTicks += o.gilTicks;
    this.activeTicks += o.activeTicks;
    if (o.firstNs >= 0n && (this.firstNs < 0n || o.firstNs < this.firstNs)) this.firstNs = o.firstNs;
    if (o.lastNs > this.lastNs) this.lastNs = o.lastNs;
  }
  /** Wall seconds covered (first to last tick, plus one mean interval). */
  seconds(rateHz: number): number {
    if (this.ticks === 0) return 0;
    if (this.ticks === 1 || this.lastNs <= this.firstNs) return this.ticks / rateHz;
    const span = Number(this.lastNs - this.firstNs) / 1e9;
    return span + span / (this.ticks - 1);
  }
  /** Seconds one tick stands for: the achieved interval, or the requested one before there is data. */
  interval(rateHz: number): number {
    if (this.ticks < 2 || this.lastNs <= this.firstNs) return 1 / rateHz;
    return Number(this.lastNs - this.firstNs) / 1e9 / (this.ticks - 1);
  }
}

export class ProcessRecord {
  readonly threads = new Map<bigint, ThreadRecord>();
  cum = new ProcessWindow();
  cur = new ProcessWindow();
  last = new ProcessWindow();
  exited = false;
  constructor(readonly pid: number) {}
  roll(): void {
    this.cum.add(this.cur);
    this.last = this.cur;
    this.cur = new ProcessWindow();
  }
  reset(): void {
    this.cum = new ProcessWindow();
    this.cur = new ProcessWindow();
    this.last = new ProcessWindow();
  }
}

export interface ModelOptions {
  frames: FrameTable;
  /** Requested rate, Hz: the time a sample stands for until the achieved rate is known. */
  rateHz: number;
  /** Count only thread samples that hold the GIL in the function tables. */
  gilOnly?: boolean;
  /** Distinct functions (and lines) kept per thread table before the tail is folded into "other". */
  maxEntries?: number;
  /** Threads kept per process before the longest-unseen are folded together. */
  maxThreads?: number;
}

export type Window = 'cumulative' | 'last';
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
  /** Latest OS state, or 'idle' when the latest sample was idle. */
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
  gilPct: number;
  activePct: number;
  /** Achieved ticks per second per process (root or mean over processes). */
  achievedHz: number;
  seconds: number;
  threads: number;
  processes: number;
}

interface FuncKey {
  name: string;
  file: string;
  firstLine: number;
}

export class ProfileModel {
  readonly processes = new Map<number, ProcessRecord>();
  private readonly frames: FrameTable;
  private readonly cap: number;
  private readonly maxThreads: number;
  readonly rateHz: number;
  readonly gilOnly: boolean;
  /** frame id -> function id (+1; 0 = not yet mapped). */
  private funcOf = new Int32Array(1024);
  private readonly funcIds = new Map<string, number>();
  private readonly funcs: FuncKey[] = [];
  /** Per-sample dedupe of total counts (recursion): stamp[id] === gen means counted. */
  private funcStamp: Int32Array<ArrayBuffer> = new Int32Array(1024);
  private lineStamp: Int32Array<ArrayBuffer> = new Int32Array(1024);
  private gen = 0;

  constructor(opts: ModelOptions) {
    this.frames = opts.frames;
    this.rateHz = opts.rateHz;
    this.gilOnly = !!opts.gilOnly;
    this.cap = Math.max(8, opts.maxEntries ?? 5000);
    this.maxThreads = Math.max(2, opts.maxThreads ?? 512);
  }

  private funcIdOf(frameId: number): number {
    if (frameId >= this.funcOf.length) {
      let n = this.funcOf.length;
      while (n <= frameId) n *= 2;
      const grown = new Int32Array(n);
      grown.set(this.funcOf);
      this.funcOf = grown;
    }
    const cached = this.funcOf[frameId]!;
    if (cached) return cached - 1;
    const f = this.frames.get(frameId);
    const key = `${f.file}\0${f.name}\0${f.firstLine}`;
    let id = this.funcIds.get(key);
    if (id === undefined) {
      id = this.funcs.length;
      this.funcs.push({ name: f.name, file: f.file, firstLine: f.firstLine });
      this.funcIds.set(key, id);
    }
    this.funcOf[frameId] = id + 1;
    return id;
  }

  private static grow(a: Int32Array<ArrayBuffer>, id: number): Int32Array<ArrayBuffer> {
    let n = a.length;
    while (n <= id) n *= 2;
    const g = new Int32Array(n);
    g.set(a);
    return g;
  }

  private process(pid: number): ProcessRecord {
    let p = this.processes.get(pid);
    if (!p) {
      p = new ProcessRecord(pid);
      this.processes.set(pid, p);
    }
    return p;
  }

  private thread(p: ProcessRecord, t: ThreadSample): ThreadRecord {
    let r = p.threads.get(t.threadId);
    if (!r) {
      if (p.threads.size >= this.maxThreads) this.foldThreads(p);
      r = new ThreadRecord(p.pid, t.threadId, this.cap);
      p.threads.set(t.threadId, r);
    }
    return r;
  }

  /** Thread churn (pools) must not grow memory: merge the longest-unseen half into one bucket. */
  private foldThreads(p: ProcessRecord): void {
    const bucketId = -1n;
    let bucket = p.threads.get(bucketId);
    if (!bucket) {
      bucket = new ThreadRecord(p.pid, bucketId, this.cap);
      bucket.name = '(exited threads)';
      bucket.folded = true;
      bucket.alive = false;
      p.threads.set(bucketId, bucket);
    }
    const candidates = [...p.threads.values()].filter((t) => !t.folded).sort((a, b) => (a.lastSeenNs < b.lastSeenNs ? -1 : 1));
    for (const t of candidates.slice(0, Math.ceil(candidates.length / 2))) {
      bucket.cum.addAll(t.cum);
      bucket.cur.addAll(t.cur);
      bucket.last.addAll(t.last);
      p.threads.delete(t.threadId);
    }
  }

  /** Count a batch of samples (the hot path). */
  add(samples: readonly Sample[]): void {
    for (let s = 0; s < samples.length; s++) this.addOne(samples[s]!);
  }

  private addOne(sample: Sample): void {
    const p = this.process(sample.pid);
    const pw = p.cur;
    pw.ticks++;
    if (pw.firstNs < 0n) pw.firstNs = sample.timeNs;
    pw.lastNs = sample.timeNs;
    let anyGil = false;
    let anyActive = false;
    const threads = sample.threads;
    for (const r of p.threads.values()) r.alive = false;
    for (let i = 0; i < threads.length; i++) {
      const t = threads[i]!;
      const rec = this.thread(p, t);
      rec.alive = true;
      rec.lastSeenNs = sample.timeNs;
      if (t.name) rec.name = t.name;
      rec.nativeId = t.nativeId;
      rec.state = t.state;
      // A thread's first sample has no CPU delta yet; a known OS state beats guessing from the frame name.
      const idle = isIdle(t, this.frames);
      rec.lastIdle = idle;
      const w = rec.cur;
      w.samples++;
      if (idle) w.idle++;
      else anyActive = true;
      if (t.gil) {
        w.gil++;
        anyGil = true;
      }
      if (t.error) w.errors++;
      if (t.cpuNs > 0) w.cpuNs += t.cpuNs;
      if (this.gilOnly && !t.gil) continue;
      // Runnable but given no CPU since the previous sample (a busy box): the stack is the one it was
      // preempted in, repeated. Counting it would weight functions by scheduler luck, not by work.
      if (!idle && t.cpuNs === 0) {
        w.starved++;
        continue;
      }
      if (idle) w.countedIdle++;
      else w.counted++;
      this.countStack(t.frames, w, idle);
    }
    if (anyGil) pw.gilTicks++;
    if (anyActive) pw.activeTicks++;
  }

  private countStack(frames: readonly number[], w: ThreadWindow, idle: boolean): void {
    const n = frames.length;
    if (n === 0) return;
    const gen = ++this.gen;
    if (gen === 0x7fffffff) {
      this.gen = 1;
      this.funcStamp.fill(0);
      this.lineStamp.fill(0);
    }
    for (let d = 0; d < n; d++) {
      const frameId = frames[d]!;
      const fid = this.funcIdOf(frameId);
      if (fid >= this.funcStamp.length) this.funcStamp = ProfileModel.grow(this.funcStamp, fid);
      if (frameId >= this.lineStamp.length) this.lineStamp = ProfileModel.grow(this.lineStamp, frameId);
      const own = d === 0;
      if (own || this.funcStamp[fid] !== this.gen) {
        this.funcStamp[fid] = this.gen;
        w.funcs.get(fid).count(own, idle);
      }
      if (own || this.lineStamp[frameId] !== this.gen) {
        this.lineStamp[frameId] = this.gen;
        w.lines.get(frameId).count(own, idle);
      }
    }
  }

  /** Close the current refresh window: it becomes "last" and joins the cumulative one. */
  roll(): void {
    for (const p of this.processes.values()) {
      p.roll();
      for (const t of p.threads.values()) t.roll();
    }
  }

  /** Forget everything counted so far (the `r` key). Threads and processes stay known. */
  reset(): void {
    for (const p of this.processes.values()) {
      p.reset();
      for (const [id, t] of p.threads) {
        if (!t.alive || t.folded) p.threads.delete(id);
        else t.reset();
      }
    }
  }

  markExited(pid: number): void {
    const p = this.processes.get(pid);
    if (p) {
      p.exited = true;
      for (const t of p.threads.values()) t.alive = false;
    }
  }

  /** The windows a view reads: cumulative includes the one still being filled, so nothing counted is ever missing. */
  private windows(t: ThreadRecord, window: Window): ThreadWindow[] {
    return window === 'last' ? [t.last] : [t.cum, t.cur];
  }

  /** Scalar tallies of a thread over a view's windows (tables are read in place, not merged). */
  private tally(t: ThreadRecord, window: Window): { samples: number; idle: number; gil: number; errors: number; counted: number; countedIdle: number; cpuNs: number } {
    const out = { samples: 0, idle: 0, gil: 0, errors: 0, counted: 0, countedIdle: 0, cpuNs: 0 };
    for (const w of this.windows(t, window)) {
      out.samples += w.samples;
      out.idle += w.idle;
      out.gil += w.gil;
      out.errors += w.errors;
      out.counted += w.counted;
      out.countedIdle += w.countedIdle;
      out.cpuNs += w.cpuNs;
    }
    return out;
  }

  private processWindow(p: ProcessRecord, window: Window): ProcessWindow {
    if (window === 'last') return p.last;
    const w = new ProcessWindow();
    w.add(p.cum);
    w.add(p.cur);
    return w;
  }

  private inScope(t: ThreadRecord, o: ViewOptions): boolean {
    if (o.pid !== undefined && t.pid !== o.pid) return false;
    if (o.thread !== undefined && t.key !== o.thread) return false;
    return true;
  }

  /** The functions (or lines) table. */
  functions(o: ViewOptions = {}): FunctionView {
    const window = o.window ?? 'cumulative';
    const byLine = !!o.byLine;
    const idle = !!o.idle;
    const merged = new Map<number, { own: number; total: number; ownTime: number; totalTime: number }>();
    let samples = 0;
    for (const p of this.processes.values()) {
      const interval = this.processWindow(p, 'cumulative').interval(this.rateHz);
      for (const t of p.threads.values()) {
        if (!this.inScope(t, o)) continue;
        for (const w of this.windows(t, window)) {
        samples += w.counted + (idle ? w.countedIdle : 0);
        for (const [id, c] of (byLine ? w.lines : w.funcs).map) {
          const own = c.own + (idle ? c.ownIdle : 0);
          const total = c.total + (idle ? c.totalIdle : 0);
          if (total === 0 && own === 0) continue;
          let m = merged.get(id);
          if (!m) {
            m = { own: 0, total: 0, ownTime: 0, totalTime: 0 };
            merged.set(id, m);
          }
          m.own += own;
          m.total += total;
          m.ownTime += own * interval;
          m.totalTime += total * interval;
        }
        }
      }
    }
    const filter = o.filter?.toLowerCase();
    const rows: Row[] = [];
    for (const [id, m] of merged) {
      let name: string;
      let file: string;
      let line: number;
      if (id === OTHER_ID) {
        name = '(other)';
        file = '';
        line = 0;
      } else if (byLine) {
        const f = this.frames.get(id);
        name = f.name;
        file = f.file;
        line = f.line;
      } else {
        const f = this.funcs[id]!;
        name = f.name;
        file = f.file;
        line = f.firstLine;
      }
      if (filter && !name.toLowerCase().includes(filter) && !file.toLowerCase().includes(filter)) continue;
      rows.push({
        id,
        name,
        file,
        line,
        own: m.own,
        total: Math.min(m.total, samples),
        ownPct: samples ? (100 * m.own) / samples : 0,
        totalPct: samples ? (100 * Math.min(m.total, samples)) / samples : 0,
        ownTime: m.ownTime,
        totalTime: m.totalTime,
      });
    }
    const sort = o.sort ?? 'own';
    const keyOf = (r: Row): number =>
      sort === 'own' ? r.own : sort === 'total' ? r.total : sort === 'ownTime' ? r.ownTime : r.totalTime;
    const second = (r: Row): number => (sort === 'own' || sort === 'ownTime' ? r.total : r.own);
    rows.sort((a, b) => keyOf(b) - keyOf(a) || second(b) - second(a) || (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id - b.id));
    const matched = rows.length;
    return { rows: o.limit !== undefined ? rows.slice(0, o.limit) : rows, matched, samples };
  }

  /**
   * Threads, ordered by process then first appearance. Threads that were idle
   * in every sample of the window are left out unless showIdle.
   */
  threads(o: { window?: Window; idle?: boolean; pid?: number } = {}): ThreadRow[] {
    const window = o.window ?? 'cumulative';
    const out: ThreadRow[] = [];
    for (const p of this.processes.values()) {
      if (o.pid !== undefined && p.pid !== o.pid) continue;
      const seconds = this.processWindow(p, window).seconds(this.rateHz);
      for (const t of p.threads.values()) {
        const w = this.tally(t, window);
        if (w.samples === 0 && !t.alive) continue;
        if (!o.idle && w.samples > 0 && w.idle === w.samples) continue;
        if (!o.idle && w.samples === 0 && t.lastIdle) continue;
        out.push({
          key: t.key,
          pid: t.pid,
          threadId: t.threadId,
          nativeId: t.nativeId,
          name: t.name,
          state: t.folded ? '-' : !t.alive ? 'gone' : t.lastIdle ? 'idle' : t.state,
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
  totals(o: { window?: Window; pid?: number; rootPid?: number } = {}): Totals {
    const window = o.window ?? 'cumulative';
    let ticks = 0;
    let gil = 0;
    let active = 0;
    let threadSamples = 0;
    let errors = 0;
    let threads = 0;
    let processes = 0;
    let hzSum = 0;
    let hzN = 0;
    let rootHz = -1;
    let seconds = 0;
    for (const p of this.processes.values()) {
      if (o.pid !== undefined && p.pid !== o.pid) continue;
      if (!p.exited) processes++;
      const pw = this.processWindow(p, window);
      ticks += pw.ticks;
      gil += pw.gilTicks;
      active += pw.activeTicks;
      const secs = pw.seconds(this.rateHz);
      seconds = Math.max(seconds, secs);
      if (pw.ticks >= 2) {
        const hz = 1 / pw.interval(this.rateHz);
        hzSum += hz;
        hzN++;
        if (p.pid === o.rootPid) rootHz = hz;
      }
      for (const t of p.threads.values()) {
        if (t.alive && !t.folded) threads++;
        const w = this.tally(t, window);
        threadSamples += w.samples;
        errors += w.errors;
      }
    }
    return {
      ticks,
      threadSamples,
      errorPct: threadSamples ? (100 * errors) / threadSamples : 0,
      gilPct: ticks ? (100 * gil) / ticks : 0,
      activePct: ticks ? (100 * active) / ticks : 0,
      achievedHz: rootHz >= 0 ? rootHz : hzN ? hzSum / hzN : 0,
      seconds,
      threads,
      processes,
    };
  }
}
