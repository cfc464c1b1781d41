/**
 * Accumulates samples into a profile and writes it as a file flame-graph
 * tools open: speedscope JSON (one sampled profile per thread, in time
 * order), pprof (gzipped protobuf, `go tool pprof`) or collapsed stacks
 * (`flamegraph.pl`), or an SVG flame graph. Used by `gauge record`, the uploaders and the TUI's
 * save key. Memory grows with distinct stacks and stack changes, not with
 * samples: consecutive identical stacks of a thread are run-length merged.
 */
import { displayThreadName } from '../process/thread-names.js';
import { writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import {
  Function as PFunction,
  Label,
  Line,
  Location,
  Profile,
  Sample as PSample,
  StringTable,
  ValueType,
} from 'pprof-format';
import { isIdle } from '../sampling/idle.js';
import type { FrameTable, Sample, ThreadSample } from '../sampling/types.js';
import { VERSION } from '../cli/version.js';
import { flameGraphSvg } from './flamegraph-svg.js';
import { formatFor, type ProfileFormat } from './profile-formats.js';

export interface RecorderOptions {
  /** Include idle thread samples (default: left out, as in top). */
  idle?: boolean;
  /** Only samples of threads holding the GIL. */
  gil?: boolean;
  /** Sampling rate, for durations (speedscope weights, pprof period). Default 100. */
  rateHz?: number;
  /** Put a "process PID" frame at the root of every stack; default: when more than one process was seen. */
  perProcess?: boolean;
  /** Label for a process (e.g. its command line), used in root frames and profile names. */
  describeProcess?: (pid: number) => string;
  /** Run-length entries kept per thread for speedscope's time order before merging by stack. */
  maxRuns?: number;
}

export interface WriteResult {
  path: string;
  format: ProfileFormat;
  /** Thread samples in the file (the unit every count is in). */
  samples: number;
}

interface ThreadProfile {
  pid: number;
  threadId: bigint;
  nativeId: number;
  name: string;
  counts: Map<number, number>;
  /** Flattened (stackId, count) pairs in time order. */
  runs: number[];
  total: number;
}

function sameFrames(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Frame id for a stack with no Python frames (a thread in C code, or a torn read). */
const NO_FRAMES = -1;

export class ProfileRecorder {
  /** Threads in order of first sample, and by pid, then Python thread id (no key string built per thread sample). */
  private readonly threads: ThreadProfile[] = [];
  private readonly byPid = new Map<number, Map<bigint, ThreadProfile>>();
  /** Stack ids by a hash of their frames (colliding stacks share a bucket, told apart by their frames). */
  private readonly stackIds = new Map<number, number | number[]>();
  /** Stacks by id, innermost first. */
  private readonly stacks: number[][] = [];
  private readonly pids = new Set<number>();
  private total = 0;
  private ticks = 0;
  private firstNs: bigint | undefined;
  private lastNs: bigint | undefined;
  /** Wall-clock ms of the first sample (pprof time_nanos, upload windows). */
  startedAtMs: number | undefined;
  endedAtMs: number | undefined;
  private readonly maxRuns: number;

  constructor(
    readonly frames: FrameTable,
    readonly opts: RecorderOptions = {},
  ) {
    this.maxRuns = opts.maxRuns ?? 1 << 20;
  }

  /** Thread samples recorded so far (after the idle and GIL filters). */
  get samples(): number {
    return this.total;
  }

  /** Process samples seen (one per process per tick), before filters. */
  get processSamples(): number {
    return this.ticks;
  }

  get rateHz(): number {
    return this.opts.rateHz && this.opts.rateHz > 0 ? this.opts.rateHz : 100;
  }

  keep(t: ThreadSample): boolean {
    if (this.opts.gil && !t.gil) return false;
    if (!this.opts.idle && isIdle(t, this.frames)) return false;
    return true;
  }

  add(samples: readonly Sample[]): void {
    const now = Date.now();
    for (const s of samples) {
      this.ticks++;
      if (this.firstNs === undefined) {
        this.firstNs = s.timeNs;
        this.startedAtMs = now;
      }
      if (this.lastNs === undefined || s.timeNs > this.lastNs) this.lastNs = s.timeNs;
      this.endedAtMs = now;
      for (const t of s.threads) {
        if (!this.keep(t)) continue;
        this.pids.add(s.pid);
        let ofPid = this.byPid.get(s.pid);
        if (!ofPid) this.byPid.set(s.pid, (ofPid = new Map()));
        let tp = ofPid.get(t.threadId);
        if (!tp) {
          tp = {
            pid: s.pid,
            threadId: t.threadId,
            nativeId: t.nativeId,
            name: t.name,
            counts: new Map(),
            runs: [],
            total: 0,
          };
          ofPid.set(t.threadId, tp);
          this.threads.push(tp);
        }
        if (t.name) tp.name = t.name;
        const stack = this.intern(t.frames.length ? t.frames : [NO_FRAMES]);
        tp.counts.set(stack, (tp.counts.get(stack) ?? 0) + 1);
        tp.total++;
        const r = tp.runs;
        if (r.length && r[r.length - 2] === stack) r[r.length - 1]!++;
        else if (r.length / 2 < this.maxRuns) r.push(stack, 1);
        else this.mergeRuns(tp);
        this.total++;
      }
    }
  }

  /** Too many stack changes to keep in time order: fold the thread's runs into one run per stack. */
  private mergeRuns(tp: ThreadProfile): void {
    tp.runs = [];
    for (const [stack, n] of tp.counts) tp.runs.push(stack, n);
  }

  private intern(frames: readonly number[]): number {
    let h = 0x811c9dc5; // FNV-1a over the ids: no string built per thread sample
    for (const f of frames) h = Math.imul(h ^ f, 0x01000193);
    const bucket = this.stackIds.get(h);
    if (typeof bucket === 'number' && sameFrames(this.stacks[bucket]!, frames)) return bucket;
    if (Array.isArray(bucket)) for (const id of bucket) if (sameFrames(this.stacks[id]!, frames)) return id;
    const id = this.stacks.length;
    this.stacks.push(frames.slice());
    this.stackIds.set(h, bucket === undefined ? id : typeof bucket === 'number' ? [bucket, id] : [...bucket, id]);
    return id;
  }

  private get perProcess(): boolean {
    return this.opts.perProcess ?? this.pids.size > 1;
  }

  private processLabel(pid: number): string {
    const d = this.opts.describeProcess?.(pid);
    return d ? `process ${pid} (${d})` : `process ${pid}`;
  }

  private threadLabel(tp: ThreadProfile): string {
    const name = displayThreadName(tp, 'thread');
    return `${name} (pid ${tp.pid}, tid ${tp.nativeId || tp.threadId})`;
  }

  private frameInfo(id: number): { name: string; file: string; line: number; firstLine: number } {
    return id === NO_FRAMES ? { name: '<no Python frames>', file: '', line: 0, firstLine: 0 } : this.frames.get(id);
  }

  private sortedThreads(): ThreadProfile[] {
    return [...this.threads].sort((a, b) => a.pid - b.pid || a.nativeId - b.nativeId);
  }

  /** collapsed stacks: `outer;...;inner count` per line, counts summing to the thread samples recorded. */
  collapsed(): string {
    return this.folded()
      .map(([k, n]) => `${k} ${n}\n`)
      .join('');
  }

  /**
   * Distinct stacks as `outer;...;inner` (no ';' or newline inside a frame) and their counts, sorted.
   * Frames are lines (`name (file:line)`), or functions (`name (file:first line)`) for the SVG graph.
   */
  private folded(byFunction = false): Array<[string, number]> {
    const labels = new Map<number, string>();
    const label = (id: number): string => {
      let l = labels.get(id);
      if (l === undefined) {
        const f = this.frameInfo(id);
        // ';' separates frames and a newline ends the line; flamegraph.pl takes the count after the last space.
        l = (f.file ? `${f.name} (${f.file}:${byFunction ? f.firstLine : f.line})` : f.name)
          .replace(/;/g, ':')
          .replace(/[\r\n]/g, ' ');
        labels.set(id, l);
      }
      return l;
    };
    const agg = new Map<string, number>();
    for (const tp of this.threads) {
      const prefix = this.perProcess
        ? this.processLabel(tp.pid)
            .replace(/;/g, ':')
            .replace(/[\r\n]/g, ' ') + ';'
        : '';
      for (const [stack, n] of tp.counts) {
        const frames = this.stacks[stack]!;
        const parts: string[] = [];
        for (let i = frames.length - 1; i >= 0; i--) parts.push(label(frames[i]!));
        const key = prefix + parts.join(';');
        agg.set(key, (agg.get(key) ?? 0) + n);
      }
    }
    return [...agg].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  /** speedscope file format: one sampled profile per thread, samples in time order, weights in ms. */
  speedscope(name = 'gauge profile'): object {
    const frameIndex = new Map<number, number>();
    const shared: { name: string; file?: string; line?: number }[] = [];
    const indexOf = (id: number): number => {
      let i = frameIndex.get(id);
      if (i === undefined) {
        const f = this.frameInfo(id);
        i = shared.length;
        shared.push(f.file ? { name: f.name, file: f.file, line: f.line } : { name: f.name });
        frameIndex.set(id, i);
      }
      return i;
    };
    const ms = 1000 / this.rateHz;
    const stackCache = new Map<number, number[]>();
    const profiles = this.sortedThreads().map((tp) => {
      const samples: number[][] = [];
      const weights: number[] = [];
      for (let i = 0; i < tp.runs.length; i += 2) {
        const stack = tp.runs[i]!;
        let s = stackCache.get(stack);
        if (!s) {
          const frames = this.stacks[stack]!;
          s = [];
          for (let j = frames.length - 1; j >= 0; j--) s.push(indexOf(frames[j]!));
          stackCache.set(stack, s);
        }
        samples.push(s);
        weights.push(tp.runs[i + 1]! * ms);
      }
      const total = weights.reduce((a, b) => a + b, 0);
      return {
        type: 'sampled',
        name: this.threadLabel(tp),
        unit: 'milliseconds',
        startValue: 0,
        endValue: total,
        samples,
        weights,
      };
    });
    return {
      $schema: 'https://www.speedscope.app/file-format-schema.json',
      shared: { frames: shared },
      profiles,
      name,
      activeProfileIndex: 0,
      exporter: `gauge ${VERSION}`,
    };
  }

  /** pprof Profile: sample types samples/count and cpu/nanoseconds (count × period), labels per thread. */
  pprof(): Profile {
    const st = new StringTable();
    const periodNs = Math.round(1e9 / this.rateHz);
    const functions: PFunction[] = [];
    const funcIds = new Map<string, number>();
    const locations: Location[] = [];
    const locIds = new Map<number, number>();
    const funcId = (name: string, file: string, startLine: number): number => {
      const key = `${file}\0${name}\0${startLine}`;
      let id = funcIds.get(key);
      if (id === undefined) {
        id = functions.length + 1;
        functions.push(
          new PFunction({ id, name: st.dedup(name), systemName: st.dedup(name), filename: st.dedup(file), startLine }),
        );
        funcIds.set(key, id);
      }
      return id;
    };
    const locId = (frame: number): number => {
      let id = locIds.get(frame);
      if (id === undefined) {
        const f = this.frameInfo(frame);
        id = locations.length + 1;
        locations.push(
          new Location({ id, line: [new Line({ functionId: funcId(f.name, f.file, f.firstLine), line: f.line })] }),
        );
        locIds.set(frame, id);
      }
      return id;
    };
    const processLoc = new Map<number, number>();
    const rootOf = (pid: number): number => {
      let id = processLoc.get(pid);
      if (id === undefined) {
        id = locations.length + 1;
        locations.push(new Location({ id, line: [new Line({ functionId: funcId(this.processLabel(pid), '', 0) })] }));
        processLoc.set(pid, id);
      }
      return id;
    };
    const kPid = st.dedup('pid');
    const kTid = st.dedup('thread id');
    const kTname = st.dedup('thread name');
    const samples: PSample[] = [];
    for (const tp of this.sortedThreads()) {
      const labels = [
        new Label({ key: kPid, num: tp.pid }),
        new Label({ key: kTid, num: tp.nativeId || Number(tp.threadId) }),
        new Label({ key: kTname, str: st.dedup(displayThreadName(tp)) }),
      ];
      for (const [stack, n] of tp.counts) {
        const ids = this.stacks[stack]!.map(locId);
        if (this.perProcess) ids.push(rootOf(tp.pid));
        samples.push(new PSample({ locationId: ids, value: [n, n * periodNs], label: labels }));
      }
    }
    const durationNs =
      this.firstNs !== undefined && this.lastNs !== undefined ? Number(this.lastNs - this.firstNs) + periodNs : 0;
    return new Profile({
      sampleType: [
        new ValueType({ type: st.dedup('samples'), unit: st.dedup('count') }),
        new ValueType({ type: st.dedup('cpu'), unit: st.dedup('nanoseconds') }),
      ],
      sample: samples,
      location: locations,
      function: functions,
      stringTable: st,
      timeNanos: BigInt(Math.round((this.startedAtMs ?? Date.now()) * 1e6)),
      durationNanos: durationNs,
      periodType: new ValueType({ type: st.dedup('cpu'), unit: st.dedup('nanoseconds') }),
      period: periodNs,
      comment: [st.dedup(`gauge ${VERSION}`)],
    });
  }

  /** Gzipped pprof bytes (what `go tool pprof` and the upload endpoints take). */
  pprofGzip(): Buffer {
    return gzipSync(this.pprof().encode());
  }

  encode(format: ProfileFormat, name?: string): Buffer {
    switch (format) {
      case 'speedscope':
        return Buffer.from(JSON.stringify(this.speedscope(name)));
      case 'pprof':
        return this.pprofGzip();
      case 'collapsed':
        return Buffer.from(this.collapsed());
      case 'svg':
        return Buffer.from(
          flameGraphSvg(
            this.folded(true).map(([k, n]) => [k.split(';'), n]),
            `gauge flame graph${name ? ': ' + name : ''} (${this.total} samples)`,
          ),
        );
    }
  }

  async write(path: string, format?: ProfileFormat): Promise<WriteResult> {
    const f = formatFor(path, format);
    await writeFile(path, this.encode(f, path.split('/').pop()));
    return { path, format: f, samples: this.total };
  }
}
