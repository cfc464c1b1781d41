/**
 * A sampling session: attaches to a process (and, if asked, its Python
 * descendants), runs the native sampler thread and hands decoded Samples to
 * listeners a few times a second. Sampling never waits for listeners: the
 * native buffer absorbs bursts and counts what it has to drop.
 */
import { GaugeError, ErrorCode } from '../reader/errors.js';
import { FrameRegistry } from '../reader/frame-registry.js';
import { native } from '../reader/native.js';
import { decodeRecords, Target } from '../reader/target.js';
import { warnOnce } from '../reader/warnings.js';
import { commandLine } from '../process/procfs.js';
import { ChildWatcher } from '../process/children.js';
import { ThreadNamer } from '../process/thread-names.js';
import type { ProcessInfo, Sample, SamplerStats } from './types.js';

export interface SessionOptions {
  /** Samples per second (per process). */
  rateHz: number;
  /** Follow Python descendants of the root process. */
  subprocesses?: boolean;
  /** Frame depth cap per thread. */
  maxDepth?: number;
  /** How often samples are handed to listeners, ms. */
  drainMs?: number;
  /** How often each process's Python thread names are re-read, ms (default 1000). */
  threadNamesMs?: number;
  /** Size of the native sample ring, 32-bit words (default 4 Mi words = 16 MiB). */
  bufferWords?: number;
}

export type SampleListener = (samples: readonly Sample[]) => void;

const DRAIN_WORDS = 1 << 20;

export class SamplingSession {
  readonly frames = new FrameRegistry();
  readonly processes = new Map<number, ProcessInfo>();
  private readonly targets = new Map<number, Target>();
  private readonly listeners: SampleListener[] = [];
  private readonly exitListeners: ((pid: number) => void)[] = [];
  private readonly drainBuf = new Uint32Array(DRAIN_WORDS);
  private readonly statsBuf = new Float64Array(8);
  private sampler: unknown;
  private timer: NodeJS.Timeout | undefined;
  private children: ChildWatcher | undefined;
  private readonly namer: ThreadNamer;
  readonly startedAt = Date.now();
  private stopped = false;

  /** rootPid 0: no root; processes come only through addProcess (the agent). */
  constructor(
    readonly rootPid: number,
    readonly opts: SessionOptions,
  ) {
    this.namer = new ThreadNamer(opts.threadNamesMs);
  }

  /** Attach and start sampling. Throws GaugeError when the root cannot be read (unless following subprocesses). */
  start(): void {
    const api = native();
    this.sampler = api.samplerNew(this.opts.rateHz, this.opts.bufferWords ?? 1 << 22);
    if (!this.sampler) throw new GaugeError(ErrorCode.INVALID, `cannot sample at ${this.opts.rateHz} Hz`);
    try {
      if (this.rootPid) this.attach(this.rootPid);
    } catch (err) {
      // A shell or supervisor that is not Python itself is fine when its descendants are.
      if (!(this.opts.subprocesses && err instanceof GaugeError && err.code === ErrorCode.NOT_PYTHON)) {
        api.samplerFree(this.sampler);
        this.sampler = undefined;
        throw err;
      }
    }
    if (this.opts.subprocesses) {
      this.children = new ChildWatcher(this.rootPid, (pid) => this.tryAttachChild(pid));
      this.children.poll();
    }
    if (api.samplerStart(this.sampler) < 0) throw new GaugeError(ErrorCode.INVALID, 'cannot start the sampler thread');
    const every = this.opts.drainMs ?? 100;
    this.timer = setInterval(() => this.tick(), every);
  }

  /** Read each thread's OpenTelemetry span (targets using OpenTelemetry Python), now and in processes attached later. */
  readTraceContext(): void {
    this.traceContext = true;
    for (const t of this.targets.values()) t.readTraceContext(true);
  }
  private traceContext = false;

  private attach(pid: number): Target {
    const t = Target.attach(pid, this.frames, { threadStats: true, maxDepth: this.opts.maxDepth });
    if (this.traceContext) t.readTraceContext(true);
    const info = t.info();
    warnOnce(info);
    this.targets.set(pid, t);
    this.processes.set(pid, { pid, cmdline: commandLine(pid), pythonVersion: info.version, exited: false });
    native().samplerAdd(this.sampler, t.handle);
    return t;
  }

  /** Attach one more process: 'ok', 'refused' (not Python, or not ours to read) or 'later' (Python still starting). */
  addProcess(pid: number): 'ok' | 'refused' | 'later' {
    return this.tryAttachChild(pid);
  }

  /** Drop an exited process's record (the agent, once its last profile is flushed): memory stays bounded. */
  forget(pid: number): void {
    if (this.targets.has(pid)) return;
    this.processes.delete(pid);
    this.namer.forget(pid);
  }

  /** Processes currently sampled. */
  get sampledCount(): number {
    return this.targets.size;
  }

  /**
   * Change the sampling rate. The native sampler's rate is fixed when it is
   * made, so a new one takes over the readers: the old one is stopped and
   * drained first (its samples are delivered), then the new one starts.
   */
  setRate(rateHz: number): void {
    if (!this.sampler || this.stopped || rateHz === this.opts.rateHz) return;
    const api = native();
    const next = api.samplerNew(rateHz, this.opts.bufferWords ?? 1 << 22);
    if (!next) throw new GaugeError(ErrorCode.INVALID, `cannot sample at ${rateHz} Hz`);
    api.samplerStop(this.sampler);
    this.tick();
    for (const t of this.targets.values()) api.samplerRemove(this.sampler, t.handle);
    api.samplerFree(this.sampler);
    this.sampler = next;
    this.opts.rateHz = rateHz;
    for (const t of this.targets.values()) api.samplerAdd(next, t.handle);
    if (api.samplerStart(next) < 0) throw new GaugeError(ErrorCode.INVALID, 'cannot start the sampler thread');
  }

  private tryAttachChild(pid: number): 'ok' | 'refused' | 'later' {
    if (this.targets.has(pid) || this.stopped) return 'ok';
    try {
      this.attach(pid);
      return 'ok';
    } catch (err) {
      return err instanceof GaugeError && err.code === ErrorCode.NOT_READY ? 'later' : 'refused';
    }
  }

  onSamples(l: SampleListener): void {
    this.listeners.push(l);
  }

  onProcessExit(l: (pid: number) => void): void {
    this.exitListeners.push(l);
  }

  /** Drain the native buffer now and deliver. */
  tick(): void {
    if (!this.sampler) return;
    const api = native();
    if (this.children) this.children.poll();
    const samples: Sample[] = [];
    const exited: number[] = [];
    for (;;) {
      const n = api.samplerDrain(this.sampler, this.drainBuf, DRAIN_WORDS);
      if (n <= 0) break;
      exited.push(...decodeRecords(this.drainBuf, n, (pid) => this.targets.get(pid), samples));
      if (n < DRAIN_WORDS / 2) break;
    }
    for (const t of this.targets.values()) if (!exited.includes(t.pid)) this.namer.refresh(t, samples);
    if (samples.length) for (const l of this.listeners) l(samples);
    // After the samples: they were taken before the exit, and a consumer
    // must not see a process come back to life after being told it is gone.
    for (const pid of exited) this.markExited(pid);
  }

  private markExited(pid: number): void {
    const t = this.targets.get(pid);
    const p = this.processes.get(pid);
    if (p) p.exited = true;
    if (t) {
      native().samplerRemove(this.sampler, t.handle);
      t.close();
      this.targets.delete(pid);
    }
    for (const l of this.exitListeners) l(pid);
  }

  /** True when every process we attached to has exited. */
  get allExited(): boolean {
    return this.processes.size > 0 && [...this.processes.values()].every((p) => p.exited);
  }

  stats(): SamplerStats {
    if (!this.sampler) return { taken: 0, dropped: 0, late: 0, errors: 0, rateHz: this.opts.rateHz };
    native().samplerStats(this.sampler, this.statsBuf);
    const s = this.statsBuf;
    return { taken: s[0]!, dropped: s[1]!, late: s[2]!, errors: s[3]!, rateHz: this.opts.rateHz };
  }

  /** Raw native counters: reader ns, ticks, sampler CPU ns, worst tick ns (benchmarks). */
  rawStats(): { readerNs: number; ticks: number; samplerCpuNs: number; maxTickNs: number } {
    this.stats();
    const s = this.statsBuf;
    return { readerNs: s[4]!, ticks: s[5]!, samplerCpuNs: s[6]!, maxTickNs: s[7]! };
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.sampler) {
      const api = native();
      api.samplerStop(this.sampler);
      this.tick();
      api.samplerFree(this.sampler);
      this.sampler = undefined;
    }
    for (const t of this.targets.values()) t.close();
    this.targets.clear();
  }
}
