/** What the span builder (spans.ts) takes and gives: its options and the finished activations. */

export interface SpanBuilderOptions {
  /** Exactly this many outermost frames are context (manual override; the TTL still ends traces). */
  stripLevels?: number;
  /** Activations seen in fewer samples than this are dropped. */
  minSamples?: number;
  /** Longest a span may stay open (ms); older frames become context. */
  ttlMs?: number;
  /** Spans per trace; the rest are counted on the root. */
  maxTraceSpans?: number;
  /** Frames a thread is running when first seen are context (default true). */
  existingAreContext?: boolean;
}

/** What a trace root carries besides its own span. */
export interface RootInfo {
  /** The context frames above the root, outermost first: "name (file:line) > …". */
  context: string;
  /** Spans of the trace not sent because of the cap. */
  droppedSpans: number;
  /** The trace was ended by the TTL while its frames still ran. */
  cut: boolean;
  /** Parented under the application's own span (OpenTelemetry context read from the target). */
  joined: boolean;
}

/** A finished activation, ready to become a span. Times are the samples' CLOCK_MONOTONIC ns. */
export interface Activation {
  name: string;
  file: string;
  /** First line of the function (its definition), 0 when unknown. */
  line: number;
  traceId: string;
  spanId: string;
  /** Undefined for the outermost span of a trace that is not joined to an application span. */
  parentSpanId?: string;
  /** Depth below the trace's root: 0 for the root. */
  depth: number;
  pid: number;
  threadId: bigint;
  nativeId: number;
  threadName: string;
  startNs: bigint;
  endNs: bigint;
  /** Samples that held this activation. */
  samples: number;
  /** Set on a trace's root only. */
  root?: RootInfo;
  /** The function is a generator / a coroutine (from the frame). */
  generator?: boolean;
  coroutine?: boolean;
  /** The span ended because the TTL cut its trace, not because the frame returned. */
  cut?: boolean;
}
