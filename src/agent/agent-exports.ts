/**
 * The agent's destinations, per watched process: one DataKit and/or
 * Pyroscope uploader each (the same uploaders `gauge record` uses, so one
 * profile per process per interval, tagged with that process's identity),
 * and OTLP span exports shared by processes with the same resource
 * (service, env, version, runtime, container). A process that exits is
 * flushed — its last window cut and sent, its open spans ended — then
 * dropped; counters of finished destinations are kept as totals only.
 */
import type { FrameTable, Sample } from '../sampling/types.js';
import { OtlpSpanExport } from '../export/otlp.js';
import type { QueueStats } from '../export/queue.js';
import { DataKitUploader, PyroscopeUploader, type ProfileUploader } from '../export/uploads.js';
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
  private readonly uploaders = new Map<number, ProfileUploader[]>();
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
      intervalMs: d.intervalMs,
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
    if (d.datakit) list.push(new DataKitUploader(d.datakit, this.frames, opts));
    // Pyroscope has no process tag of its own: a pid label keeps processes of one service apart.
    if (d.pyroscope)
      list.push(
        new PyroscopeUploader(d.pyroscope, this.frames, { ...opts, tags: { ...opts.tags, pid: String(id.pid) } }),
      );
    this.uploaders.set(id.pid, list);
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
    for (const u of this.uploaders.get(pid) ?? []) u.push(samples);
    const key = this.groupOf.get(pid);
    if (key) this.groups.get(key)?.exp.push(samples);
  }

  private retire(kind: string, s: QueueStats): void {
    add((this.finished[kind] ??= { ...ZERO }), s);
  }

  /** The process exited: send its last window and spans (bounded wait), then forget it. */
  async close(pid: number, timeoutMs = 5000): Promise<void> {
    const list = this.uploaders.get(pid) ?? [];
    this.uploaders.delete(pid);
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
    await Promise.all([...new Set([...this.uploaders.keys(), ...this.groupOf.keys()])].map((pid) => this.close(pid)));
  }

  /** Counters per destination kind, over every process ever watched. */
  stats(): Record<string, QueueStats> {
    const out: Record<string, QueueStats> = {};
    for (const [k, s] of Object.entries(this.finished)) add((out[k] ??= { ...ZERO }), s);
    for (const list of this.uploaders.values()) for (const u of list) add((out[u.kind] ??= { ...ZERO }), u.stats());
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
