/**
 * Function activations reconstructed from consecutive samples of a thread —
 * pure, no I/O, so it is unit-testable with synthetic samples.
 *
 * Stacks are compared outermost first. The frame at depth d continues the
 * same activation as the previous sample's frame at depth d when it is the
 * same function and every shallower frame is still the same function at the
 * same line (the call site did not move; frame ids are per line). The first
 * depth that differs ends the activation there and all its descendants. An
 * activation spans from the first sample holding it to the first without it.
 *
 * Traces have an end. The outermost frames of a thread are *context*, not
 * spans: those running when the thread is first seen and those older than
 * the TTL (serve_forever, a worker's loop). A trace is one activation of the
 * outermost frame below the context — one request — with the context as an
 * attribute on its root. When a root reaches the TTL its trace is cut at that
 * mark, the root joins the context and the frames below start a new trace: no
 * span stays open past the TTL, none outlives its parent's export. A trace
 * holds at most maxTraceSpans spans, the rest counted on its root.
 * `stripLevels` fixes the context depth by hand. A thread sample carrying the
 * application's OpenTelemetry span (read from the target) parents the root
 * under it; a change of that span starts another trace.
 */
import { IdSource } from './span-ids.js';
import type { FrameTable, Sample, ThreadSample, TraceContext } from '../sampling/types.js';
import type { Activation, SpanBuilderOptions } from './span-types.js';

export const DEFAULT_SPAN_TTL_MS = 30_000;
export const DEFAULT_MAX_TRACE_SPANS = 1000;
const MAX_CONTEXT_CHARS = 2000;

export type { Activation, RootInfo, SpanBuilderOptions } from './span-types.js';

interface Trace {
  traceId: string;
  appParent?: string; // the application span the root hangs under
  context: string;
  opened: number;
  dropped: number;
  cut: boolean;
}

interface Open {
  func: number;
  line: number;
  frame: number;
  /** When the frame's activation began (spans restarted by a cut keep it). */
  firstNs: bigint;
  /** Span start (the activation's, or the cut that restarted it). */
  startNs: bigint;
  samples: number;
  /** Undefined for context frames and spans cut off by the cap. */
  spanId?: string;
  parentSpanId?: string;
  trace?: Trace;
  depth: number;
}

interface ThreadState {
  open: Open[];
  /** Frames [0, ctx) are context. */
  ctx: number;
  /** A sample that left the context (long-lived frames): applied only when the next one agrees. */
  held?: { now: bigint; t: ThreadSample };
  /** The application's span in the last sample, and its key ('' = none). */
  app?: TraceContext;
  appKey: string;
  lastNs: bigint;
  /** Last gap between two samples of the thread: the end of whatever is open at a flush. */
  gapNs: bigint;
  name: string;
  nativeId: number;
  threadId: bigint;
  pid: number;
}

const appKey = (c: TraceContext | undefined): string => (c ? `${c.traceId}/${c.spanId}` : '');

export class SpanBuilder {
  private readonly threads = new Map<string, ThreadState>();
  private readonly funcIds = new Map<string, number>();
  private readonly funcOfFrame: number[] = [];
  private readonly ids = new IdSource();
  private readonly strip: number;
  private readonly minSamples: number;
  private readonly ttlNs: bigint;
  private readonly cap: number;
  private readonly existingAreContext: boolean;
  /** Activations dropped for being shorter than minSamples. */
  short = 0;
  /** Spans not made because their trace reached the cap. */
  capped = 0;

  constructor(
    private readonly frames: FrameTable,
    opts: SpanBuilderOptions = {},
  ) {
    this.strip = Math.max(0, Math.floor(opts.stripLevels ?? 0));
    this.minSamples = Math.max(1, Math.floor(opts.minSamples ?? 2));
    this.ttlNs = BigInt(Math.max(1, Math.round(opts.ttlMs ?? DEFAULT_SPAN_TTL_MS))) * 1_000_000n;
    this.cap = Math.max(1, Math.floor(opts.maxTraceSpans ?? DEFAULT_MAX_TRACE_SPANS));
    this.existingAreContext = opts.existingAreContext ?? true;
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
      f = this.funcOfFrame[frame] = g;
    }
    return f;
  }

  /** Feed one sample (one process at one instant); finished activations are appended to out. */
  add(sample: Sample, out: Activation[] = []): Activation[] {
    const seen = new Set<string>();
    for (const t of sample.threads) {
      const key = `${sample.pid}:${t.threadId}`;
      seen.add(key);
      // A torn or cut stack says nothing reliable about depths: keep what is open, but let it age.
      if (t.error || t.truncated) {
        const st = this.threads.get(key);
        if (st) this.expire(st, sample.timeNs, out);
        continue;
      }
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
    const st = this.threads.get(key);
    if (!st) {
      // --strip-levels is the whole rule when given; else what already runs is context.
      const ctx = this.strip || (this.existingAreContext ? t.frames.length : 0);
      const { name, nativeId, threadId } = t;
      const fresh: ThreadState = { open: [], ctx, appKey: '', lastNs: now, gapNs: 0n, name, nativeId, threadId, pid };
      this.threads.set(key, fresh);
      return this.apply(fresh, now, t, out, 0);
    }
    // A stack read while a generator is entered or left can lack its outer frames: a sample that
    // ends context frames is held back, and applied only when the next one leaves the context too.
    const leaves = this.match(st, t, true) < st.ctx;
    const held = st.held;
    st.held = undefined;
    if (held && leaves) this.apply(st, held.now, held.t, out);
    else if (!held && leaves) return void (st.held = { now, t });
    this.apply(st, now, t, out);
  }

  private apply(st: ThreadState, now: bigint, t: ThreadSample, out: Activation[], first?: number): void {
    const n = t.frames.length;
    let d = 0;
    // A trace the TTL cuts here ends at its mark, which lies between the last sample and this one: what ends now, too.
    let endNs = now;
    if (first === undefined) {
      if (now > st.lastNs) st.gapNs = now - st.lastNs;
      st.lastNs = now;
      if (t.name) st.name = t.name;
      d = this.match(st, t, false);
      const mark = st.ctx < d ? st.open[st.ctx]!.firstNs + this.ttlNs : now;
      if (mark < now) endNs = mark;
      this.close(st, d, endNs, out);
      // Context frames that returned: the frame now at their depth starts a trace.
      if (d < st.ctx) st.ctx = Math.max(d, this.strip);
    }
    const open = st.open;
    // The application's span changed: whatever runs below the context is now part of another trace.
    const key2 = appKey(t.traceContext);
    let restartFrom = key2 !== st.appKey ? st.ctx : -1;
    st.appKey = key2;
    st.app = t.traceContext;
    // Frames older than the TTL join the context; the trace they rooted is cut.
    let ctx = st.ctx;
    while (ctx < open.length && now - open[ctx]!.firstNs >= this.ttlNs) ctx++;
    if (ctx !== st.ctx) {
      // Frames below that are half as old would only root a short trace cut again soon: context too.
      while (ctx < open.length && now - open[ctx]!.firstNs >= this.ttlNs / 2n) ctx++;
      const root = open[st.ctx];
      if (root?.trace) root.trace.cut = true;
      restartFrom = st.ctx;
    }
    if (restartFrom >= 0 && restartFrom < open.length) this.restart(st, restartFrom, ctx, endNs, out);
    st.ctx = ctx;
    for (; d < n; d++) {
      const frame = t.frames[n - 1 - d]!;
      const info = this.frames.get(frame);
      open.push({ func: this.funcOf(frame), line: info.line, frame, firstNs: now, startNs: now, samples: 1, depth: 0 });
      if (d >= st.ctx) this.makeSpan(st, d);
    }
  }

  /** A trace past the TTL on a thread whose stacks cannot be read: cut at its mark, every open frame context. */
  private expire(st: ThreadState, now: bigint, out: Activation[]): void {
    const open = st.open;
    const root = open[st.ctx];
    if (!root || now - root.firstNs < this.ttlNs) return;
    if (root.trace) root.trace.cut = true;
    for (let i = open.length - 1; i >= st.ctx; i--) {
      const o = open[i]!;
      this.emit(st, o, root.firstNs + this.ttlNs, out, true);
      o.spanId = o.parentSpanId = o.trace = undefined;
    }
    st.ctx = open.length;
  }

  /** First depth at which this sample differs from what is open; dry: without counting the sample. */
  private match(st: ThreadState, t: ThreadSample, dry: boolean): number {
    const n = t.frames.length;
    const open = st.open;
    let d = 0;
    // Outermost first: frames are stored innermost first.
    for (; d < open.length && d < n; d++) {
      const frame = t.frames[n - 1 - d]!;
      const o = open[d]!;
      if (o.func !== this.funcOf(frame)) break;
      // Same function; continue, but a deeper level only if this frame's call site is unchanged.
      const line = this.frames.get(frame).line;
      const moved = line !== o.line && d + 1 < open.length;
      if (!dry) {
        o.samples++;
        o.line = line;
        o.frame = frame;
      }
      if (moved) return d + 1;
    }
    return d;
  }

  /** Give the open frame at depth d a span: the root of a new trace at the context depth, else its parent's child. */
  private makeSpan(st: ThreadState, d: number): void {
    const o = st.open[d]!;
    const app = st.app;
    let trace: Trace;
    let parentSpanId: string | undefined;
    if (d === st.ctx) {
      trace = {
        traceId: app?.traceId ?? this.ids.hex(16),
        appParent: app?.spanId,
        context: this.describe(st.open, d),
        opened: 0,
        dropped: 0,
        cut: false,
      };
      parentSpanId = trace.appParent;
    } else {
      const parent = st.open[d - 1]!;
      trace = parent.trace!;
      parentSpanId = parent.spanId;
    }
    o.trace = trace;
    o.depth = d - st.ctx;
    if ((d > st.ctx && parentSpanId === undefined) || trace.opened >= this.cap) {
      trace.dropped++;
      this.capped++;
      return;
    }
    trace.opened++;
    o.spanId = this.ids.hex(8);
    o.parentSpanId = parentSpanId;
  }

  /** Context frames above depth d, outermost first, cut from the outer end to a bounded length. */
  private describe(open: Open[], d: number): string {
    const parts: string[] = [];
    let len = 0;
    for (let i = d - 1; i >= 0 && len < MAX_CONTEXT_CHARS; i--) {
      const info = this.frames.get(open[i]!.frame);
      const file = info.file.slice(info.file.lastIndexOf('/') + 1);
      const s = `${info.name} (${file}:${info.line})`;
      parts.push(s);
      len += s.length + 3;
    }
    if (parts.length < d) parts.push('…');
    return parts.reverse().join(' > ');
  }

  /** End the spans at depth >= from at `now` (cut), make [from, ctx) context, and give the frames below ctx new spans. */
  private restart(st: ThreadState, from: number, ctx: number, now: bigint, out: Activation[]): void {
    const open = st.open;
    for (let i = open.length - 1; i >= from; i--) this.emit(st, open[i]!, now, out, true);
    const saved = st.ctx;
    st.ctx = ctx;
    for (let i = from; i < open.length; i++) {
      const o = open[i]!;
      o.spanId = o.parentSpanId = o.trace = undefined;
      o.startNs = now;
      o.samples = 1;
      if (i >= ctx) this.makeSpan(st, i);
    }
    st.ctx = saved;
  }

  private emit(st: ThreadState, o: Open, endNs: bigint, out: Activation[], cut: boolean): void {
    if (o.spanId === undefined) return;
    if (o.samples < this.minSamples) {
      this.short++;
      return;
    }
    const info = this.frames.get(o.frame);
    const tr = o.trace!;
    const a: Activation = {
      name: info.name,
      file: info.file,
      line: info.firstLine || info.line,
      traceId: tr.traceId,
      spanId: o.spanId,
      parentSpanId: o.parentSpanId,
      depth: o.depth,
      pid: st.pid,
      threadId: st.threadId,
      nativeId: st.nativeId,
      threadName: st.name,
      startNs: o.startNs,
      endNs: endNs > o.startNs ? endNs : o.startNs + 1n,
      samples: o.samples,
    };
    if (cut) a.cut = true;
    if (info.generator) a.generator = true;
    if (info.coroutine) a.coroutine = true;
    if (o.depth === 0) {
      a.root = { context: tr.context, droppedSpans: tr.dropped, cut: tr.cut, joined: tr.appParent !== undefined };
    }
    out.push(a);
  }

  /** End open activations at depth >= from, innermost first (children before parents). */
  private close(st: ThreadState, from: number, endNs: bigint, out: Activation[]): void {
    while (st.open.length > from) this.emit(st, st.open.pop()!, endNs, out, false);
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

  /** Frames open, context included (tests). */
  get openCount(): number {
    return [...this.threads.values()].reduce((n, st) => n + st.open.length, 0);
  }
}
