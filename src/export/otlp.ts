/**
 * Spans from samples to an OTLP/HTTP protobuf endpoint (Jaeger's own port by
 * default). Activations come from SpanBuilder with ids and times already
 * fixed, so they are handed to the SDK's OTLP exporter as finished
 * ReadableSpans; our SendQueue in front of it bounds memory and retries.
 * The SDK is loaded on first use: it costs start-up time every gauge command
 * would otherwise pay.
 */
import { displayThreadName } from '../process/thread-names.js';
import { hostname } from 'node:os';
import type { Attributes, HrTime, SpanContext } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { FrameTable, ProcessInfo, Sample } from '../sampling/types.js';
import { VERSION } from '../cli/version.js';
import { SendQueue, type QueueStats } from './queue.js';
import { DEFAULT_SPAN_TTL_MS, SpanBuilder, type Activation } from './spans.js';
import { PROFILER_ATTRIBUTES, processAttributes } from './target-resource.js';

export interface OtlpOptions {
  /**
   * Where to post; undefined lets the SDK resolve it as every OpenTelemetry
   * SDK does: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else
   * OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces, else DEFAULT_OTLP_ENDPOINT
   * (export-flags.ts).
   */
  endpoint?: string;
  /** Headers from flags; they win over OTEL_EXPORTER_OTLP_HEADERS (merged by the SDK). */
  headers: Record<string, string>;
  /** service.name when neither `identity` nor OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES give one (the script's name). */
  service: string;
  /** Resource attributes that win over the environment's: what flags say (or, in the agent, the process itself). */
  identity?: Attributes;
  stripLevels: number;
  minSamples: number;
  /** --span-ttl in ms: every span is sent within it (default DEFAULT_SPAN_TTL_MS). */
  spanTtlMs?: number;
  /** Spans per trace (SpanBuilder's default when absent). */
  maxTraceSpans?: number;
  /** The profiled process behind a pid, for the resource's process.* attributes. */
  describeProcess?: (pid: number) => ProcessInfo | undefined;
  /** Spans held while the endpoint is unreachable. */
  maxQueue?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

type ExporterConfig = NonNullable<ConstructorParameters<typeof OTLPTraceExporter>[0]>;

/**
 * Maps CLOCK_MONOTONIC ns (the samples' clock; Node's hrtime is the same clock) to Unix ns, fixed once.
 * performance.timeOrigin is no help: here it ran 4-21 ms ahead of the wall clock, enough to put a span
 * outside the application's span it joins. Instead the moment Date.now() ticks to the next millisecond
 * is caught between two monotonic reads, the closest of a few ticks kept.
 */
export class WallClock {
  private readonly offset: bigint;
  constructor() {
    let prevAt = process.hrtime.bigint();
    let prev = Date.now();
    let offset = BigInt(prev) * 1_000_000n - prevAt;
    const deadline = prevAt + 50_000_000n;
    for (let ticks = 0, best = Infinity; ticks < 3 && best > 20_000;) {
      const at = process.hrtime.bigint();
      const ms = Date.now();
      const after = process.hrtime.bigint();
      if (ms !== prev) {
        // The wall clock reached `ms` after the previous Date.now() (so after prevAt) and before `after`.
        ticks++;
        if (Number(after - prevAt) < best) {
          best = Number(after - prevAt);
          offset = BigInt(ms) * 1_000_000n - (prevAt + after) / 2n;
        }
      }
      if (after > deadline) break;
      prev = ms;
      prevAt = at;
    }
    this.offset = offset;
  }
  unixNs(monoNs: bigint): bigint {
    return monoNs + this.offset;
  }
}

function hr(ns: bigint): HrTime {
  return [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];
}

// Numeric values of the API enums used here (stable parts of the OTLP data model).
const SPAN_KIND_INTERNAL = 0; // api SPAN_KIND_INTERNAL (OTLP's SPAN_KIND_INTERNAL = 1 on the wire)
const STATUS_UNSET = 0;
const TRACE_FLAGS_SAMPLED = 1;
const EXPORT_SUCCESS = 0;

interface Sdk {
  exporter: OTLPTraceExporter;
  /** Defaults, the process's process.* attributes, environment and flags (later wins), per pid. */
  forPid: (pid: number) => Resource;
}

async function loadSdk(opts: OtlpOptions): Promise<Sdk> {
  const [{ OTLPTraceExporter }, { resourceFromAttributes, detectResources, envDetector }] = await Promise.all([
    import('@opentelemetry/exporter-trace-otlp-proto'),
    import('@opentelemetry/resources'),
  ]);
  const config: ExporterConfig = {
    url: opts.endpoint,
    headers: opts.headers,
    compression: 'gzip' as ExporterConfig['compression'],
    timeoutMillis: 5000,
  };
  // Defaults, then the process, OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME (the SDK's detector), then flags: later wins.
  const base = resourceFromAttributes({
    'service.name': opts.service,
    'host.name': hostname(),
    'telemetry.sdk.language': 'nodejs',
  });
  const env = detectResources({ detectors: [envDetector] });
  const flags = resourceFromAttributes(opts.identity ?? {});
  const perPid = new Map<number, Resource>();
  const forPid = (pid: number): Resource => {
    let r = perPid.get(pid);
    if (!r) {
      r = base
        .merge(resourceFromAttributes(processAttributes(pid, opts.describeProcess?.(pid))))
        .merge(env)
        .merge(flags);
      // Bounded: a long --subprocesses run sees many short-lived workers.
      if (perPid.size >= 1024) perPid.clear();
      perPid.set(pid, r);
    }
    return r;
  };
  return { exporter: new OTLPTraceExporter(config), forPid };
}

/** Resource attributes for an explicitly given service, version and environment (absent ones are left out). */
export function identityAttributes(o: { service?: string; version?: string; env?: string }): Attributes {
  const attrs: Attributes = {};
  if (o.service) attrs['service.name'] = o.service;
  if (o.version) attrs['service.version'] = o.version;
  if (o.env) {
    attrs['deployment.environment'] = o.env;
    attrs['deployment.environment.name'] = o.env;
  }
  return attrs;
}

/** One activation as a finished SDK span. */
export function toReadableSpan(a: Activation, clock: WallClock, resource: Resource): ReadableSpan {
  const ctx: SpanContext = { traceId: a.traceId, spanId: a.spanId, traceFlags: TRACE_FLAGS_SAMPLED };
  const start = clock.unixNs(a.startNs);
  const end = clock.unixNs(a.endNs);
  const attributes: Attributes = {
    ...PROFILER_ATTRIBUTES,
    'code.function.name': a.name,
    'code.file.path': a.file,
    'code.line.number': a.line,
    'thread.id': a.nativeId || Number(a.threadId),
    'thread.name': displayThreadName({ name: a.threadName, pid: a.pid, nativeId: a.nativeId }),
    'process.pid': a.pid,
    'gauge.samples': a.samples,
  };
  if (a.cut) attributes['gauge.span.cut'] = true;
  if (a.generator) attributes['code.is_generator'] = true;
  if (a.coroutine) attributes['code.is_coroutine'] = true;
  if (a.root) {
    attributes['gauge.context.stack'] = a.root.context;
    attributes['gauge.trace.spans_dropped'] = a.root.droppedSpans;
    if (a.root.cut) attributes['gauge.trace.cut'] = 'ttl';
    if (a.root.joined) attributes['gauge.trace.joined'] = true;
  }
  return {
    name: a.name,
    kind: SPAN_KIND_INTERNAL,
    spanContext: () => ctx,
    parentSpanContext: a.parentSpanId
      ? { traceId: a.traceId, spanId: a.parentSpanId, traceFlags: TRACE_FLAGS_SAMPLED }
      : undefined,
    startTime: hr(start),
    endTime: hr(end),
    duration: hr(end - start),
    status: { code: STATUS_UNSET },
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
  readonly queue: SendQueue<Activation>;
  private sdk: Promise<Sdk> | undefined;
  private readonly clock = new WallClock();
  private readonly scratch: Activation[] = [];
  /** Traces whose root span was delivered. */
  traces = 0;

  constructor(
    frames: FrameTable,
    readonly opts: OtlpOptions,
  ) {
    // --span-ttl bounds when a span reaches the endpoint: traces are cut early enough for the queue's linger
    // and as long again for delivery (30 s: cut at 28 s), so a cut span is sent within the TTL.
    const ttlMs = opts.spanTtlMs ?? DEFAULT_SPAN_TTL_MS;
    const lingerMs = Math.min(1000, ttlMs / 4);
    this.builder = new SpanBuilder(frames, {
      stripLevels: opts.stripLevels,
      minSamples: opts.minSamples,
      ttlMs: ttlMs - 2 * lingerMs,
      maxTraceSpans: opts.maxTraceSpans,
    });
    this.queue = new SendQueue<Activation>('spans', (batch) => this.send(batch), {
      maxItems: opts.maxQueue ?? 20000,
      batchSize: 1000,
      lingerMs,
      minBackoffMs: opts.minBackoffMs ?? 1000,
      maxBackoffMs: opts.maxBackoffMs ?? 30000,
    });
  }

  private async send(batch: Activation[]): Promise<void> {
    this.sdk ??= loadSdk(this.opts);
    const { exporter, forPid } = await this.sdk;
    const spans = batch.map((a) => toReadableSpan(a, this.clock, forPid(a.pid)));
    await new Promise<void>((resolve, reject) => {
      exporter.export(spans, (r) => {
        if (r.code === EXPORT_SUCCESS) resolve();
        else reject(r.error ?? new Error('OTLP export failed'));
      });
    });
    // A trace counts as sent once its root is: the root ends last, after every span under it.
    for (const a of batch) if (a.root) this.traces++;
  }

  private emit(): void {
    if (!this.scratch.length) return;
    this.queue.push(this.scratch);
    this.scratch.length = 0;
  }

  push(samples: readonly Sample[]): void {
    for (const s of samples) this.builder.add(s, this.scratch);
    this.emit();
  }

  processExited(pid: number): void {
    this.builder.endProcess(pid, this.scratch);
    this.emit();
  }

  stats(): QueueStats & { traces: number } {
    return { ...this.queue.stats, traces: this.traces };
  }

  async close(timeoutMs?: number): Promise<void> {
    this.builder.flush(this.scratch);
    this.emit();
    await this.queue.close(timeoutMs);
    if (!this.sdk) return;
    const { exporter } = await this.sdk;
    // The SDK waits for its in-flight request; bounded, as a dead endpoint must not hold gauge's exit.
    await Promise.race([exporter.shutdown().catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
  }
}
