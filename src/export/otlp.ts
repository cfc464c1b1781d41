/**
 * Spans from samples to an OTLP/HTTP protobuf endpoint (Jaeger's own port by
 * default). Activations come from SpanBuilder with ids and times already
 * fixed, so they are handed to the SDK's OTLP exporter as finished
 * ReadableSpans; our SendQueue in front of it bounds memory and retries.
 */
import { hostname } from 'node:os';
import { SpanKind, SpanStatusCode, TraceFlags, type Attributes, type HrTime, type SpanContext } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { FrameTable, Sample } from '../sampling/types.js';
import { VERSION } from '../cli/version.js';
import { SendQueue, type QueueStats } from './queue.js';
import { SpanBuilder, type Activation } from './spans.js';

export const DEFAULT_OTLP_ENDPOINT = 'http://localhost:4318/v1/traces';

export interface OtlpOptions {
  endpoint: string;
  headers: Record<string, string>;
  service: string;
  version?: string;
  env?: string;
  stripLevels: number;
  minSamples: number;
  /** Spans held while the endpoint is unreachable. */
  maxQueue?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

type ExporterConfig = NonNullable<ConstructorParameters<typeof OTLPTraceExporter>[0]>;

/** Maps CLOCK_MONOTONIC ns (the samples' clock; Node's hrtime is the same clock) to Unix ns, fixed once. */
export class WallClock {
  private readonly offset: bigint;
  constructor() {
    const mono = process.hrtime.bigint();
    const wall = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
    this.offset = wall - mono;
  }
  unixNs(monoNs: bigint): bigint {
    return monoNs + this.offset;
  }
}

function hr(ns: bigint): HrTime {
  return [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];
}

export function resourceFor(o: { service: string; version?: string; env?: string }): Resource {
  const attrs: Attributes = { 'service.name': o.service, 'host.name': hostname(), 'telemetry.sdk.language': 'nodejs' };
  if (o.version) attrs['service.version'] = o.version;
  if (o.env) {
    attrs['deployment.environment'] = o.env;
    attrs['deployment.environment.name'] = o.env;
  }
  return resourceFromAttributes(attrs);
}

/** One activation as a finished SDK span. */
export function toReadableSpan(a: Activation, clock: WallClock, resource: Resource): ReadableSpan {
  const ctx: SpanContext = { traceId: a.traceId, spanId: a.spanId, traceFlags: TraceFlags.SAMPLED };
  const start = clock.unixNs(a.startNs);
  const end = clock.unixNs(a.endNs);
  const attributes: Attributes = {
    'code.function.name': a.name,
    'code.file.path': a.file,
    'code.line.number': a.line,
    'thread.id': a.nativeId || Number(a.threadId),
    'thread.name': a.threadName || (a.nativeId === a.pid ? 'MainThread' : ''),
    'process.pid': a.pid,
    'gauge.samples': a.samples,
  };
  return {
    name: a.name,
    kind: SpanKind.INTERNAL,
    spanContext: () => ctx,
    parentSpanContext: a.parentSpanId ? { traceId: a.traceId, spanId: a.parentSpanId, traceFlags: TraceFlags.SAMPLED } : undefined,
    startTime: hr(start),
    endTime: hr(end),
    duration: hr(end - start),
    status: { code: SpanStatusCode.UNSET },
    attributes,
    links: [],
    events: [],
    ended: true,
    resource,
    instrumentationScope: { name: 'gauge', version: VERSION },
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

export class OtlpSpanExport {
  readonly builder: SpanBuilder;
  readonly queue: SendQueue<ReadableSpan>;
  private readonly exporter: OTLPTraceExporter;
  private readonly clock = new WallClock();
  private readonly resource: Resource;
  private readonly scratch: Activation[] = [];

  constructor(frames: FrameTable, readonly opts: OtlpOptions) {
    this.builder = new SpanBuilder(frames, { stripLevels: opts.stripLevels, minSamples: opts.minSamples });
    this.resource = resourceFor(opts);
    const config: ExporterConfig = {
      url: opts.endpoint,
      headers: opts.headers,
      compression: 'gzip' as ExporterConfig['compression'],
      timeoutMillis: 5000,
    };
    this.exporter = new OTLPTraceExporter(config);
    this.queue = new SendQueue<ReadableSpan>('spans', (batch) => this.send(batch), {
      maxItems: opts.maxQueue ?? 20000,
      batchSize: 1000,
      lingerMs: 1000,
      minBackoffMs: opts.minBackoffMs ?? 1000,
      maxBackoffMs: opts.maxBackoffMs ?? 30000,
    });
  }

  private send(batch: ReadableSpan[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.exporter.export(batch, (r) => {
        if (r.code === ExportResultCode.SUCCESS) resolve();
        else reject(r.error ?? new Error('OTLP export failed'));
      });
    });
  }

  private emit(): void {
    if (!this.scratch.length) return;
    const spans = this.scratch.map((a) => toReadableSpan(a, this.clock, this.resource));
    this.scratch.length = 0;
    this.queue.push(...spans);
  }

  push(samples: readonly Sample[]): void {
    for (const s of samples) this.builder.add(s, this.scratch);
    this.emit();
  }

  processExited(pid: number): void {
    this.builder.endProcess(pid, this.scratch);
    this.emit();
  }

  stats(): QueueStats {
    return this.queue.stats;
  }

  async close(timeoutMs?: number): Promise<void> {
    this.builder.flush(this.scratch);
    this.emit();
    await this.queue.close(timeoutMs);
    // The SDK waits for its in-flight request; bounded, as a dead endpoint must not hold gauge's exit.
    await Promise.race([this.exporter.shutdown().catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
  }
}
