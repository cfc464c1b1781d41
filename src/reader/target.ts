/**
 * An attached Python process: attach errors become GaugeErrors, records
 * become Samples with session-wide frame ids.
 */
import type { FrameInfo, Sample, ThreadSample, ThreadState, TraceContext } from '../sampling/types.js';
import { GaugeError, ErrorCode } from './errors.js';
import { FrameRegistry } from './frame-registry.js';
import {
  cString,
  native,
  OPEN_THREAD_STATS,
  REC_EXITED,
  REC_HEADER,
  REC_NO_GIL,
  TH_ERROR,
  TH_GIL,
  TH_TRUNCATED,
  TH_TRACE,
  TRACE_WORDS,
  FRAME_GENERATOR,
  FRAME_COROUTINE,
  FRAME_ASYNC_GENERATOR,
  THREAD_HEADER,
} from './native.js';
import { reasonText, recordReasonCode, threadReasonCode } from './reasons.js';

export interface TargetInfo {
  pid: number;
  version: string;
  major: number;
  minor: number;
  micro: number;
  binary: string;
  library: string;
  debugOffsets: boolean;
  /** A free-threaded build (3.13t+). */
  freeThreaded: boolean;
  /** Something to be wary of (an untested newer CPython, a pre-release); '' when nothing. */
  warning: string;
  /** Where the target's _Py_DebugOffsets differ from gauge's built-in table; '' when they agree. */
  layoutDiff: string;
  syscalls: number;
  codeResolves: number;
}

const STATE_BY_LETTER: Record<string, ThreadState> = {
  R: 'running',
  S: 'sleeping',
  I: 'sleeping',
  D: 'disk',
  T: 'stopped',
  t: 'stopped',
  Z: 'zombie',
  X: 'zombie',
};

export interface AttachOptions {
  /** Read per-thread OS state and CPU time with each sample (sampling does; dump doesn't need to). */
  threadStats?: boolean;
  maxDepth?: number;
}

let namesBuf: Buffer | undefined;

export class Target {
  readonly source: number;
  private closed = false;
  private readonly nameBuf = Buffer.alloc(64 * 1024);
  private readonly lines = new Int32Array(2);
  /** Thread names by Python thread id, filled by whoever knows them (ThreadNamer in process/thread-names.ts, during sampling). */
  threadNames = new Map<bigint, string>();
  /** Each thread's last stack (global ids) by its place in the record: decodeRecords hands it out again when unchanged. */
  readonly lastStacks: { key: number; frames: readonly number[] }[] = [];

  private constructor(
    readonly handle: unknown,
    readonly pid: number,
    readonly frames: FrameRegistry,
  ) {
    this.source = frames.addSource();
  }

  static attach(pid: number, frames: FrameRegistry, opts: AttachOptions = {}): Target {
    const api = native();
    const err = [0];
    const msg = Buffer.alloc(1024);
    const h = api.open(pid, opts.threadStats ? OPEN_THREAD_STATS : 0, err, msg, msg.length);
    if (!h) throw new GaugeError(err[0] || ErrorCode.INVALID, cString(msg) || `cannot attach to pid ${pid}`);
    const t = new Target(h, pid, frames);
    if (opts.maxDepth) api.setMaxDepth(h, opts.maxDepth);
    return t;
  }

  /** Read each thread's OpenTelemetry span into its samples (traceContext); false when this target's layout cannot. */
  readTraceContext(on: boolean): boolean {
    return native().setTraceContext(this.handle, on ? 1 : 0) === 1;
  }

  info(): TargetInfo {
    const buf = Buffer.alloc(16384);
    const n = native().info(this.handle, buf, buf.length);
    if (n < 0) throw new GaugeError(-n, 'cannot describe target');
    return JSON.parse(buf.toString('utf8', 0, n)) as TargetInfo;
  }

  /** Strings of a reader-local frame id. */
  resolveLocal(localId: number): FrameInfo {
    const n = native().frame(this.handle, localId, this.nameBuf, this.nameBuf.length, this.lines);
    if (n < 0) return { name: '<unknown>', file: '', line: 0, firstLine: 0 };
    const name = cString(this.nameBuf);
    const file = cString(this.nameBuf, Buffer.byteLength(name) + 1);
    const info: FrameInfo = { name, file, line: this.lines[0]!, firstLine: this.lines[1]! };
    const kind = native().frameKind(this.handle, localId);
    if (kind > 0 && kind & (FRAME_GENERATOR | FRAME_ASYNC_GENERATOR)) info.generator = true;
    if (kind > 0 && kind & (FRAME_COROUTINE | FRAME_ASYNC_GENERATOR)) info.coroutine = true;
    return info;
  }

  /** One consistent-as-possible snapshot of every thread. */
  snapshot(): Sample {
    let cap = 1 << 16;
    for (;;) {
      const out = new Uint32Array(cap);
      const n = native().snapshot(this.handle, out, cap);
      if (n === -ErrorCode.NO_MEMORY && cap < 1 << 26) {
        cap *= 4;
        continue;
      }
      if (n === -ErrorCode.EXITED) throw new GaugeError(ErrorCode.EXITED, `process ${this.pid} exited`);
      if (n < 0) throw new GaugeError(-n, `cannot read process ${this.pid}`);
      const samples: Sample[] = [];
      decodeRecords(out, n, () => this, samples);
      return samples[0]!;
    }
  }

  /**
   * Python's own thread names (threading.Thread.name) by thread id, read from
   * the target's threading module. Costs a few reads per thread: call it
   * periodically, not per sample. Empty when unknown; throws only on exit.
   */
  readPythonThreadNames(): Map<bigint, string> {
    const out = new Map<bigint, string>();
    // One buffer for every target, made once: called every second per process, a fresh 1 MiB each time was most of its cost.
    // It grows when the names do not fit (4,096 names of up to 1 KiB each fit 8 MiB).
    namesBuf ??= Buffer.alloc(1 << 20);
    let n = native().threadNames(this.handle, namesBuf, namesBuf.length);
    while (n === -ErrorCode.NO_MEMORY && namesBuf.length < 1 << 23) {
      namesBuf = Buffer.alloc(namesBuf.length * 2);
      n = native().threadNames(this.handle, namesBuf, namesBuf.length);
    }
    const buf = namesBuf;
    if (n === -ErrorCode.EXITED) throw new GaugeError(ErrorCode.EXITED, `process ${this.pid} exited`);
    let pos = 0;
    while (pos < n) {
      const idEnd = buf.indexOf(0, pos);
      const nameEnd = buf.indexOf(0, idEnd + 1);
      if (idEnd < 0 || nameEnd < 0 || nameEnd > n) break;
      out.set(BigInt(buf.toString('latin1', pos, idEnd)), buf.toString('utf8', idEnd + 1, nameEnd));
      pos = nameEnd + 1;
    }
    return out;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    native().close(this.handle);
    this.frames.removeSource(this.source);
  }
}

// Thread ids repeat every sample: reuse their BigInts instead of building two per thread per sample.
const hex8 = (w: number): string => w.toString(16).padStart(8, '0');
/** The GAUGE_TRACE_WORDS at p: trace id (4 words) and span id (2 words), most significant first. */
function traceContextOf(words: Uint32Array, p: number): TraceContext {
  let traceId = '';
  for (let k = 0; k < 4; k++) traceId += hex8(words[p + k]!);
  return { traceId, spanId: hex8(words[p + 4]!) + hex8(words[p + 5]!) };
}

const tidCache = new Map<number, bigint>();
function threadIdOf(key: number, lo: number, hi: number): bigint {
  let v = tidCache.get(key);
  if (v === undefined) {
    if (tidCache.size >= 65536) tidCache.clear();
    v = (BigInt(hi) << 32n) | BigInt(lo);
    tidCache.set(key, v);
  }
  return v;
}

/**
 * Decode native records (format in native/include/gauge.h) into Samples.
 * targetFor maps a record's pid to its Target (for frame ids and names).
 * Returns pids whose process exited.
 */
export function decodeRecords(
  words: Uint32Array,
  n: number,
  targetFor: (pid: number) => Target | undefined,
  out: Sample[],
): number[] {
  const exited: number[] = [];
  let pos = 0;
  while (pos + REC_HEADER <= n) {
    const len = words[pos]!;
    if (len < REC_HEADER || pos + len > n) break;
    const pid = words[pos + 1]!;
    const timeNs = (BigInt(words[pos + 3]!) << 32n) | BigInt(words[pos + 2]!);
    const nthreads = words[pos + 4]!;
    const flags = words[pos + 5]!;
    const target = targetFor(pid);
    if (flags & REC_EXITED) {
      exited.push(pid);
    } else if (target) {
      const resolve = (id: number) => target.resolveLocal(id); // one closure per record, not per frame
      const threads: ThreadSample[] = [];
      let p = pos + REC_HEADER;
      for (let t = 0; t < nthreads && p + THREAD_HEADER <= pos + len; t++) {
        const key = words[p + 1]! * 4294967296 + words[p]!; // exact: ids are addresses below 2^53
        const tid = threadIdOf(key, words[p]!, words[p + 1]!);
        const nativeId = words[p + 2]!;
        const tflags = words[p + 3]!;
        const lo = words[p + 4]!;
        const hi = words[p + 5]!;
        const depth = words[p + 7]!;
        const base = p + THREAD_HEADER;
        if (base + depth > pos + len) break;
        const last = target.lastStacks[t];
        const frames = target.frames.globalIds(
          target.source,
          words,
          base,
          depth,
          resolve,
          last && last.key === key ? last.frames : undefined,
        );
        if (last) {
          last.key = key;
          last.frames = frames;
        } else if (t === target.lastStacks.length) target.lastStacks.push({ key, frames });
        const letter = (tflags >> 8) & 0xff;
        const reason = reasonText(threadReasonCode(tflags));
        const th: ThreadSample = {
          pid,
          threadId: tid,
          nativeId,
          name: target.threadNames.get(tid) ?? '',
          gil: (tflags & TH_GIL) !== 0,
          state: letter ? (STATE_BY_LETTER[String.fromCharCode(letter)] ?? 'unknown') : 'unknown',
          cpuNs: lo === 0xffffffff && hi === 0xffffffff ? -1 : hi * 4294967296 + lo,
          frames,
          error: (tflags & TH_ERROR) !== 0,
          truncated: (tflags & TH_TRUNCATED) !== 0,
        };
        if (reason) th.reason = reason; // not a spread: that is a slow generic copy per thread sample
        threads.push(th);
        p = base + depth;
        if (tflags & TH_TRACE) {
          threads[threads.length - 1]!.traceContext = traceContextOf(words, p);
          p += TRACE_WORDS;
        }
      }
      const sample: Sample = { pid, timeNs, threads };
      if (flags & REC_NO_GIL) sample.noGil = true;
      const why = reasonText(recordReasonCode(flags));
      if (why) sample.reason = why;
      out.push(sample);
    }
    pos += len;
  }
  return exited;
}
