/**
 * The data model every consumer of samples shares: the TUI's profile model,
 * the plain-text output, the recorders and the exporters all read these
 * shapes and nothing from the native layer directly.
 */

/** OS scheduler state of a thread, from /proc/PID/task/TID/stat. */
export type ThreadState = 'running' | 'sleeping' | 'disk' | 'stopped' | 'zombie' | 'unknown';

/** One Python frame, resolved once per distinct (code object, line). */
export interface FrameInfo {
  /** Function name; the qualified name (Class.method) where CPython has one (3.11+). */
  name: string;
  /** File name as the code object holds it. */
  file: string;
  /** Line being executed, decoded from the line table; 0 when unknown. */
  line: number;
  /** First line of the function (co_firstlineno): identifies the function together with file and name. */
  firstLine: number;
  /** The function is a generator (or an async generator), from its code's co_flags; absent when not (or unknown). */
  generator?: boolean;
  /** The function is a coroutine (async def, or an async generator), from its code's co_flags. */
  coroutine?: boolean;
}

/** One thread as seen in one sample. */
export interface ThreadSample {
  /** Process the thread belongs to. */
  pid: number;
  /** Python's thread identifier (threading.get_ident()). */
  threadId: bigint;
  /** Kernel thread id (gettid()); 0 when it could not be determined. */
  nativeId: number;
  /** Thread name as Python knows it (threading.Thread.name), else the OS name, else ''. */
  name: string;
  /** Whether this thread held the GIL at the sample. */
  gil: boolean;
  /** OS scheduler state at the sample. */
  state: ThreadState;
  /** CPU time the thread consumed since its previous sample, in ns; -1 when unknown (first sample). */
  cpuNs: number;
  /**
   * Interned frame ids (see FrameTable), innermost first. Ids are global for
   * the whole session, across processes.
   */
  frames: readonly number[];
  /** The stack could not be read consistently (the target changed under us). frames may be empty. */
  error: boolean;
  /** The stack was deeper than the depth cap; the outermost frames were cut. */
  truncated: boolean;
  /** Why the stack failed (error) or was cut (truncated), e.g. 'frame changed while read'; absent when neither. */
  reason?: string;
  /** The application's current OpenTelemetry span on this thread, read from the target; absent when it has none. */
  traceContext?: TraceContext;
  /**
   * A pending asyncio task sampled as a thread (`--async`, wall mode): the event-loop thread it waits on and
   * how many tasks wait there, so the live view counts them under one row per loop.
   */
  waitingOn?: { threadId: bigint; nativeId: number; tasks: number };
}

/** An OpenTelemetry span context: ids as lowercase hex (32 and 16 digits). */
export interface TraceContext {
  traceId: string;
  spanId: string;
}

/** Everything sampled at one instant from one process. */
export interface Sample {
  pid: number;
  /** Monotonic timestamp in nanoseconds (CLOCK_MONOTONIC). */
  timeNs: bigint;
  threads: ThreadSample[];
  /** The interpreter ran without a GIL (a free-threaded build): no thread holds one, `gil` is false for all. */
  noGil?: boolean;
  /** Why the thread list was read only in part (e.g. 'thread list changed'); absent when it was read whole. */
  reason?: string;
}

/** Resolves interned frame ids to their strings. Ids never change meaning within a session. */
export interface FrameTable {
  get(id: number): FrameInfo;
}

/** Counters a sampler exposes for the header and for honesty about data quality. */
export interface SamplerStats {
  /** Samples taken (one per process per tick). */
  taken: number;
  /** Samples lost because the buffer was full. */
  dropped: number;
  /** Ticks that started behind schedule. */
  late: number;
  /** Thread stacks that could not be read consistently. */
  errors: number;
  /** Requested rate in Hz. */
  rateHz: number;
}

/** A process being profiled. */
export interface ProcessInfo {
  pid: number;
  /** Command line, space-joined. */
  cmdline: string;
  /** Python version string, e.g. "3.12.1". */
  pythonVersion: string;
  /** True once the process has exited; its data is kept. */
  exited: boolean;
}
