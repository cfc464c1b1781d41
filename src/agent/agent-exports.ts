/**
 * The agent's destinations, per watched process: one DataKit and/or
 * Pyroscope uploader each (`gauge record`'s uploaders, over the agent's
 * keep-alive transport), and OTLP span exports shared by processes with the
 * same resource (service, env, version, runtime, container). Each process
 * has one recorder, whatever the number of destinations: one timer cuts
 * every process's window each interval, each window is encoded once and the
 * same gzipped pprof queued for every destination. A process that exits is
 * flushed — its last window cut and sent, its open spans ended — then
 * dropped; counters of finished destinations are kept as totals only.
 */
import type { FrameTable, Sample } from '../sampling/types.js';
import { OtlpSpanExport } from '../export/otlp.js';
import { ProfileRecorder, type RecorderOptions } from '../export/profile-recorder.js';
import type { QueueStats } from '../export/queue.js';
import type { ProfileUploader } from '../export/uploads.js';
import { AgentDataKitUploader, AgentPyroscopeUploader } from './agent-uploads.js';
import { extraTags, resourceOf, type ProcessIdentity } from './identity.js';

export interface AgentDestinations {
  /** OTLP: a URL, '' for the SDK's own resolution (OTEL_EXPORTER_OTLP_*), undefined for none. */
  otlpEndpoint?: string;
  otlpHeaders: Record<string, string>;
  datakit?: string;
  pyroscope?: string;
  intervalMs: number;
  /** Tags for every upload (DD_TAGS). */
  tags: Record<string, string>;
  idle: boolean;
  gil: boolean;
  stripLevels: number;
  minSpan: number;
  /** Profile windows held per process and destination while an endpoint is down. */
  maxQueue: number;
  maxBackoffMs?: number;
}

interface SpanGroup {
  exp: OtlpSpanExport;
  pids: Set<number>;
}

interface Profiled {
  pid: number;
  recorder: ProfileRecorder;
  recorderOpts: RecorderOptions;
  /** Destinations, used as send queues only: their own recorders stay empty, their timers never fire. */
  uploaders: ProfileUploader[];
}

const ZERO: QueueStats = { sent: 0, dropped: 0, errors: 0, ok: 0, pending: 0 };

function add(into: QueueStats, s: QueueStats): void {
  into.sent += s.sent;
  into.dropped += s.dropped;
  into.errors += s.errors;
  into.ok += s.ok;
  into.pending += s.pending;
  if (s.lastError) into.lastError = s.lastError;
}

export class AgentExports {
  private readonly profiled = new Map<number, Profiled>();
  private timer: NodeJS.Timeout | undefined;
  private readonly groupOf = new Map<number, string>();
  private readonly groups = new Map<string, SpanGroup>();
  /** Counters of destinations already closed. */
  private readonly finished: Record<string, QueueStats> = {};

  constructor(
    private readonly frames: FrameTable,
    private readonly d: AgentDestinations,
    private readonly rateHz: () => number,
  ) {}

  get any(): boolean {
    return this.d.otlpEndpoint !== undefined || !!this.d.datakit || !!this.d.pyroscope;
  }

  /** Start exporting a newly watched process. */
  open(id: ProcessIdentity, describe: () => string): void {
    const d = this.d;
    const opts = {
      service: id.service,
      env: id.env,
      version: id.version,
      tags: { ...d.tags, ...extraTags(id) },
      intervalMs: 0, // the agent's one timer cuts every process's window; the uploaders only send
      recorder: {
        idle: d.idle,
        gil: d.gil,
        // The rate changes under the budget; a window's pprof period uses the rate at the cut.
        get rateHz() {
          return rate();
        },
        perProcess: false,
        describeProcess: describe,
      },
      pid: id.pid,
      runtimeVersion: () => id.runtimeVersion,
      maxQueue: d.maxQueue,
      maxBackoffMs: d.maxBackoffMs,
    };
    const rate = this.rateHz;
    const list: ProfileUploader[] = [];
    if (d.datakit) list.push(new AgentDataKitUploader(d.datakit, this.frames, opts));
    // Pyroscope has no process tag of its own: a pid label keeps processes of one service apart.
    if (d.pyroscope)
      list.push(
        new AgentPyroscopeUploader(d.pyroscope, this.frames, { ...opts, tags: { ...opts.tags, pid: String(id.pid) } }),
      );
    if (list.length) {
      this.profiled.set(id.pid, {
        pid: id.pid,
        recorder: new ProfileRecorder(this.frames, opts.recorder),
        recorderOpts: opts.recorder,
        uploaders: list,
      });
      if (!this.timer) {
        this.timer = setInterval(() => this.cutAll(), d.intervalMs);
        this.timer.unref();
      }
    }
    if (d.otlpEndpoint !== undefined) {
      const resource = resourceOf(id);
      const key = JSON.stringify(resource);
      let g = this.groups.get(key);
      if (!g) {
        const exp = new OtlpSpanExport(this.frames, {
          endpoint: d.otlpEndpoint || undefined,
          headers: d.otlpHeaders,
          service: id.service,
          identity: resource,
          stripLevels: d.stripLevels,
          minSamples: d.minSpan,
          maxQueue: 5000,
          maxBackoffMs: d.maxBackoffMs,
        });
        g = { exp, pids: new Set() };
        this.groups.set(key, g);
      }
      g.pids.add(id.pid);
      this.groupOf.set(id.pid, key);
    }
  }

  /** Samples of one process. */
  push(pid: number, samples: readonly Sample[]): void {
    this.profiled.get(pid)?.recorder.add(samples);
    const key = this.groupOf.get(pid);
    if (key) this.groups.get(key)?.exp.push(samples);
  }

  /** Every process's window: cut, encoded once, queued for each destination. */
  private cutAll(): void {
    for (const p of this.profiled.values()) this.cut(p);
  }

  private cut(p: Profiled): void {
    const r = p.recorder;
    if (r.samples === 0) return;
    p.recorder = new ProfileRecorder(this.frames, p.recorderOpts);
    const endMs = Date.now();
    const w = {
      pprofGz: r.pprofGzip(),
      startMs: r.startedAtMs ?? endMs - this.d.intervalMs,
      endMs,
      samples: r.samples,
      pid: p.pid,
    };
    for (const u of p.uploaders) u.queue.push([w]);
  }

  private retire(kind: string, s: QueueStats): void {
    add((this.finished[kind] ??= { ...ZERO }), s);
  }

  /** The process exited: send its last window and spans (bounded wait), then forget it. */
  async close(pid: number, timeoutMs = 5000): Promise<void> {
    const p = this.profiled.get(pid);
    this.profiled.delete(pid);
    if (p) this.cut(p);
    const list = p?.uploaders ?? [];
    const key = this.groupOf.get(pid);
    this.groupOf.delete(pid);
    const g = key ? this.groups.get(key) : undefined;
    g?.exp.processExited(pid);
    g?.pids.delete(pid);
    const waits: Promise<void>[] = list.map((u) => u.close(timeoutMs).then(() => this.retire(u.kind, u.stats())));
    if (g && key && g.pids.size === 0) {
      this.groups.delete(key);
      waits.push(g.exp.close(timeoutMs).then(() => this.retire('spans', g.exp.stats())));
    }
    await Promise.all(waits);
  }

  /** Flush and stop everything. */
  async closeAll(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await Promise.all([...new Set([...this.profiled.keys(), ...this.groupOf.keys()])].map((pid) => this.close(pid)));
  }

  /** Counters per destination kind, over every process ever watched. */
  stats(): Record<string, QueueStats> {
    const out: Record<string, QueueStats> = {};
    for (const [k, s] of Object.entries(this.finished)) add((out[k] ??= { ...ZERO }), s);
    for (const p of this.profiled.values()) for (const u of p.uploaders) add((out[u.kind] ??= { ...ZERO }), u.stats());
    for (const g of this.groups.values()) add((out.spans ??= { ...ZERO }), g.exp.stats());
    return out;
  }

  status(): string {
    return Object.entries(this.stats())
      .map(
        ([k, s]) =>
          `${k} ${k === 'spans' ? `${s.sent} sent` : `${s.ok} ok`}` +
          (s.dropped ? ` ${s.dropped} dropped` : '') +
          (s.errors ? ` ${s.errors} errors` : ''),
      )
      .join(', ');
  }
}
