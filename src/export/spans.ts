/**
 * Function activations reconstructed from consecutive samples of a thread —
 * pure, no I/O, so it is unit-testable with synthetic samples.
 *
 * Stacks are compared outermost first. The frame at depth d continues the
 * same activation as the previous sample's frame at depth d when it is the
 * same function and every shallower frame is still the same function at the
 * same line (the call site did not move). Frame ids alone are not enough:
 * they are per (function, line), so comparing them would split a function
 * into one span per line it executes. The first depth that differs ends the
 * activation there and all its descendants; the new frames open new ones.
 * An activation spans from the first sample holding it to the first sample
 * that no longer does ("after the last").
 */
import { randomBytes } from 'node:crypto';
import type { FrameTable, Sample, ThreadSample } from '../sampling/types.js';

export interface SpanBuilderOptions {
  /** Outermost frames that are never spans; the next level starts a trace. */
  stripLevels?: number;
  /** Activations seen in fewer samples than this are dropped. */
  minSamples?: number;
}

/** A finished activation, ready to become a span. Times are the samples' CLOCK_MONOTONIC ns. */
export interface Activation {
  name: string;
  file: string;
  /** First line of the function (its definition), 0 when unknown. */
  line: number;
  traceId: string;
  spanId: string;
  /** Undefined for the outermost span of a trace. */
  parentSpanId?: string;
  /** Depth below the stripped levels: 0 for a trace's root span. */
  depth: number;
  pid: number;
  threadId: bigint;
  nativeId: number;
  threadName: string;
  startNs: bigint;
  endNs: bigint;
  /** Samples that held this activation. */
  samples: number;
}

interface Open {
  func: number;
  line: number;
  frame: number;
  /** Undefined for a stripped level (not a span). */
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
  startNs: bigint;
  samples: number;
}

interface ThreadState {
  open: Open[];
  lastNs: bigint;
  /** Last gap between two samples of the thread: the end of whatever is open at a flush. */
  gapNs: bigint;
  name: string;
  nativeId: number;
  threadId: bigint;
  pid: number;
}

/** Random ids, drawn from a pooled buffer: thousands of spans a second must not cost a syscall each. */
class IdSource {
  private pool = Buffer.alloc(0);
  private pos = 0;
  hex(bytes: number): string {
    if (this.pos + bytes > this.pool.length) {
      this.pool = randomBytes(4096);
      this.pos = 0;
    }
    const s = this.pool.toString('hex', this.pos, this.pos + bytes);
    this.pos += bytes;
    // All-zero ids are invalid in OTLP; astronomically unlikely, but cheap to rule out.
    return /^0+$/.test(s) ? this.hex(bytes) : s;
  }
}

export class SpanBuilder {
  private readonly threads = new Map<string, ThreadState>();
  private readonly funcIds = new Map<string, number>();
  private readonly funcOfFrame: number[] = [];
  private readonly ids = new IdSource();
  private readonly strip: number;
  private readonly minSamples: number;
  /** Activations dropped for being shorter than minSamples. */
  short = 0;

  constructor(
    private readonly frames: FrameTable,
    opts: SpanBuilderOptions = {},
  ) {
    this.strip = Math.max(0, Math.floor(opts.stripLevels ?? 0));
    this.minSamples = Math.max(1, Math.floor(opts.minSamples ?? 2));
  }

  /** Function identity of a frame id (name, file, first line), interned. */
  private funcOf(frame: number): number {
    let f = this.funcOfFrame[frame];
    if (f === undefined) {
      const info = this.frames.get(frame);
      const key = `${info.file}\0${info.name}\0${info.firstLine}`;
      let g = this.funcIds.get(key);
      if (g === undefined) {
        g = this.funcIds.size;
        this.funcIds.set(key, g);
      }
      this.funcOfFrame[frame] = g;
      f = g;
    }
    return f;
  }

  /** Feed one sample (one process at one instant); finished activations are appended to out. */
  add(sample: Sample, out: Activation[] = []): Activation[] {
    const seen = new Set<string>();
    for (const t of sample.threads) {
      const key = `${sample.pid}:${t.threadId}`;
      // A torn or cut stack says nothing reliable about depths: skip it, keep what is open.
      if (t.error || t.truncated) {
        seen.add(key);
        continue;
      }
      seen.add(key);
      this.addThread(key, sample.pid, sample.timeNs, t, out);
    }
    // Threads of this process that are gone ended at this sample.
    for (const [key, st] of this.threads) {
      if (st.pid === sample.pid && !seen.has(key)) {
        this.close(st, 0, sample.timeNs, out);
        this.threads.delete(key);
      }
    }
    return out;
  }

  private addThread(key: string, pid: number, now: bigint, t: ThreadSample, out: Activation[]): void {
    let st = this.threads.get(key);
    if (!st) {
      st = { open: [], lastNs: now, gapNs: 0n, name: t.name, nativeId: t.nativeId, threadId: t.threadId, pid };
      this.threads.set(key, st);
    } else {
      if (now > st.lastNs) st.gapNs = now - st.lastNs;
      st.lastNs = now;
      if (t.name) st.name = t.name;
    }
    const n = t.frames.length;
    const open = st.open;
    // Outermost first: frames are stored innermost first.
    let d = 0;
    for (; d < open.length && d < n; d++) {
      const frame = t.frames[n - 1 - d]!;
      const o = open[d]!;
      if (o.func !== this.funcOf(frame)) break;
      // Same function; continue, but a deeper level only if this frame's call site is unchanged.
      o.samples++;
      const line = this.frames.get(frame).line;
      const prevLine = o.line;
      o.line = line;
      o.frame = frame;
      if (line !== prevLine && d + 1 < open.length) {
        d++;
        break;
      }
    }
    this.close(st, d, now, out);
    for (; d < n; d++) {
      const frame = t.frames[n - 1 - d]!;
      const info = this.frames.get(frame);
      const o: Open = { func: this.funcOf(frame), line: info.line, frame, startNs: now, samples: 1 };
      if (d >= this.strip) {
        const parent = d > this.strip ? open[d - 1] : undefined;
        o.traceId = parent?.traceId ?? this.ids.hex(16);
        o.parentSpanId = parent?.spanId;
        o.spanId = this.ids.hex(8);
      }
      open.push(o);
    }
  }

  /** End open activations at depth >= from, innermost first (children before parents). */
  private close(st: ThreadState, from: number, endNs: bigint, out: Activation[]): void {
    while (st.open.length > from) {
      const o = st.open.pop()!;
      if (o.spanId === undefined) continue;
      if (o.samples < this.minSamples) {
        this.short++;
        continue;
      }
      const info = this.frames.get(o.frame);
      out.push({
        name: info.name,
        file: info.file,
        line: info.firstLine || info.line,
        traceId: o.traceId!,
        spanId: o.spanId,
        parentSpanId: o.parentSpanId,
        depth: st.open.length - this.strip,
        pid: st.pid,
        threadId: st.threadId,
        nativeId: st.nativeId,
        threadName: st.name,
        startNs: o.startNs,
        endNs: endNs > o.startNs ? endNs : o.startNs + 1n,
        samples: o.samples,
      });
    }
  }

  /** A process exited: everything open in it ends after its last sample. */
  endProcess(pid: number, out: Activation[] = []): Activation[] {
    for (const [key, st] of this.threads) {
      if (st.pid !== pid) continue;
      this.close(st, 0, st.lastNs + st.gapNs, out);
      this.threads.delete(key);
    }
    return out;
  }

  /** End everything (recording stops): open activations end one sampling gap after their last sample. */
  flush(out: Activation[] = []): Activation[] {
    for (const st of this.threads.values()) this.close(st, 0, st.lastNs + st.gapNs, out);
    this.threads.clear();
    return out;
  }

  /** Activations currently open (for tests and status). */
  get openCount(): number {
    let n = 0;
    for (const st of this.threads.values()) n += st.open.length;
    return n;
  }
}
