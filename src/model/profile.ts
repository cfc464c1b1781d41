/**
 * The live profile behind `gauge top`: own and total sample counts per
 * function and per line, per thread and per process, for the cumulative
 * window (since start or reset) and the last completed refresh window.
 *
 * This file is the counting (the hot path) and the model's public face. The
 * parts: count-table.ts (capped tables and their folding), windows.ts (the
 * time windows), records.ts (processes and threads, thread cap),
 * function-ids.ts (function identity), queries.ts (the views).
 *
 * add() runs for every sample at up to 1000 Hz × threads, so it only bumps
 * counters in the *current* window; roll() (once per refresh) folds that
 * window into the cumulative one. Views are built on demand at refresh time.
 */
import { isIdle } from '../sampling/idle.js';
import { waitingName, waitingThreadId } from '../sampling/task-frame.js';
import type { FrameTable, Sample } from '../sampling/types.js';
import { FunctionIds, grown } from './function-ids.js';
import {
  functionView,
  threadRows,
  totals,
  type FunctionView,
  type QueryContext,
  type ThreadRow,
  type Totals,
  type ViewOptions,
} from './queries.js';
import { ProcessRecord } from './records.js';
import { callTree, type CallTree } from './call-tree.js';
import { groupedView, taskNames } from './task-groups.js';
import type { ThreadWindow, Window } from './windows.js';

export { OTHER_ID } from './count-table.js';
export type { FunctionView, Row, SortKey, ThreadRow, Totals, ViewOptions } from './queries.js';
export type { Window } from './windows.js';

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

export class ProfileModel {
  readonly processes = new Map<number, ProcessRecord>();
  readonly rateHz: number;
  /** Counting only GIL holders (the gil mode): applied as samples are counted. */
  private gil: boolean;
  private readonly frames: FrameTable;
  private readonly functionIds: FunctionIds;
  private readonly cap: number;
  private readonly maxThreads: number;
  /** Per-sample dedupe of total counts (recursion): stamp[id] === gen means counted. */
  private funcStamp: Int32Array<ArrayBuffer> = new Int32Array(1024);
  private lineStamp: Int32Array<ArrayBuffer> = new Int32Array(1024);
  private gen = 0;

  constructor(opts: ModelOptions) {
    this.frames = opts.frames;
    this.functionIds = new FunctionIds(opts.frames);
    this.rateHz = opts.rateHz;
    this.gil = !!opts.gilOnly;
    this.cap = Math.max(8, opts.maxEntries ?? 5000);
    this.maxThreads = Math.max(2, opts.maxThreads ?? 512);
  }

  private process(pid: number): ProcessRecord {
    let p = this.processes.get(pid);
    if (!p) {
      p = new ProcessRecord(pid, this.maxThreads, this.cap);
      this.processes.set(pid, p);
    }
    return p;
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
    if (sample.noGil) pw.noGilTicks++;
    pw.reasons.addSample(sample);
    let anyGil = false;
    let anyActive = false;
    const threads = sample.threads;
    for (const r of p.threads.values()) r.alive = false;
    for (let i = 0; i < threads.length; i++) {
      const t = threads[i]!;
      // A loop's pending asyncio tasks share one row (thousands of tasks must not make thousands of rows).
      const on = t.waitingOn;
      const rec = p.thread(on ? waitingThreadId(on.threadId) : t.threadId);
      rec.alive = true;
      rec.lastSeenNs = sample.timeNs;
      if (on) rec.name = waitingName(on.tasks);
      else if (t.name) rec.name = t.name;
      rec.nativeId = on ? on.nativeId : t.nativeId;
      rec.state = t.state;
      // A thread's first sample has no CPU delta yet; a known OS state beats guessing from the frame name.
      const idle = isIdle(t, this.frames);
      rec.lastIdle = idle;
      if (!idle) {
        rec.lastActiveNs = sample.timeNs;
        rec.activeState = t.state;
      }
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
      if (this.gil && !t.gil) continue;
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
    w.stacks.count(frames, idle);
    const gen = ++this.gen;
    if (gen === 0x7fffffff) {
      this.gen = 1;
      this.funcStamp.fill(0);
      this.lineStamp.fill(0);
    }
    for (let d = 0; d < n; d++) {
      const frameId = frames[d]!;
      const fid = this.functionIds.idOf(frameId);
      this.funcStamp = grown(this.funcStamp, fid);
      this.lineStamp = grown(this.lineStamp, frameId);
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
    for (const p of this.processes.values()) p.roll();
  }

  /** Count only GIL holders from now on, or every thread. */
  setGilOnly(on: boolean): void {
    this.gil = on;
  }

  get gilOnly(): boolean {
    return this.gil;
  }

  /** Forget everything counted so far (the `r` key). Threads and processes stay known. */
  reset(): void {
    for (const p of this.processes.values()) p.reset();
  }

  markExited(pid: number): void {
    const p = this.processes.get(pid);
    if (p) {
      p.exited = true;
      for (const t of p.threads.values()) t.alive = false;
    }
  }

  private get query(): QueryContext {
    return {
      processes: this.processes.values(),
      frames: this.frames,
      functions: this.functionIds,
      rateHz: this.rateHz,
    };
  }

  /** The functions (or lines) table. */
  functions(o: ViewOptions = {}): FunctionView {
    return o.byTask ? groupedView(this.query, o) : functionView(this.query, o);
  }

  /** asyncio task names in scope, most samples first (grouping by task). */
  taskNames(o: ViewOptions = {}): string[] {
    return taskNames(this.query, o);
  }

  /** The call tree of the same samples the functions table counts (tree and flame views). */
  callTree(o: ViewOptions = {}): CallTree {
    return callTree(this.query, o);
  }

  /** Threads, ordered by process then first appearance; all-idle threads only with idle. */
  threads(o: { window?: Window; idle?: boolean; pid?: number } = {}): ThreadRow[] {
    return threadRows(this.query, o);
  }

  /** Header figures. */
  totals(o: { window?: Window; pid?: number; rootPid?: number } = {}): Totals {
    return totals(this.query, o);
  }
}
