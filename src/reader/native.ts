/**
 * koffi bindings to the native reader (native/include/gauge.h). Nothing else
 * in gauge touches the FFI: everything above works with decoded records.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import koffi from 'koffi';

/** Record layout constants, mirrored from gauge.h. */
export const REC_HEADER = 6;
export const THREAD_HEADER = 8;
export const REC_EXITED = 1;
export const REC_ERROR = 2;
export const REC_NO_GIL = 4;
export const TH_GIL = 1;
export const TH_ERROR = 2;
export const TH_TRUNCATED = 4;
/** GAUGE_TH_TRACE: GAUGE_TRACE_WORDS words of OpenTelemetry span context follow the thread's frames. */
export const TH_TRACE = 8;
export const TRACE_WORDS = 6;
/** gauge_frame_kind bits (GAUGE_FRAME_*). */
export const FRAME_GENERATOR = 1;
export const FRAME_COROUTINE = 2;
export const FRAME_ASYNC_GENERATOR = 4;
export const OPEN_THREAD_STATS = 1;

/**
 * The readers this machine may use, best first: GAUGE_NATIVE_LIB when set, else the
 * prebuilt one for process.platform/process.arch (native/prebuilt/linux-x64, linux-arm64,
 * glibc 2.17+), then the one compiled from source by `npm install` (native/build/libgauge.so).
 */
function libraryCandidates(): string[] {
  if (process.env.GAUGE_NATIVE_LIB) return [process.env.GAUGE_NATIVE_LIB];
  const found: string[] = [];
  for (const rel of [
    join('native', 'prebuilt', `${process.platform}-${process.arch}`, 'libgauge.so'),
    join('native', 'build', 'libgauge.so'),
  ]) {
    // Walk up from this file to the package root, wherever the build (or the bundle) put us.
    let dir = dirname(fileURLToPath(import.meta.url));
    for (let i = 0; i < 6; i++) {
      const candidate = join(dir, rel);
      if (existsSync(candidate)) {
        found.push(candidate);
        break;
      }
      dir = dirname(dir);
    }
  }
  if (found.length === 0)
    throw new Error(
      `gauge: no native reader for ${process.platform}-${process.arch} (native/build/libgauge.so missing); run \`npm install\` with a C compiler`,
    );
  return found;
}

/** The first candidate that loads: a glibc prebuilt reader does not load on musl, where the source build does. */
function loadLibrary(): koffi.IKoffiLib {
  const candidates = libraryCandidates();
  for (const [i, path] of candidates.entries()) {
    try {
      return koffi.load(path);
    } catch (err) {
      if (i === candidates.length - 1) throw err;
    }
  }
  throw new Error('unreachable');
}

export interface NativeApi {
  open(pid: number, flags: number, err: number[], msg: Buffer, msglen: number): unknown;
  close(r: unknown): void;
  info(r: unknown, out: Buffer, len: number): number;
  setMaxDepth(r: unknown, depth: number): void;
  snapshot(r: unknown, out: Uint32Array, cap: number): number;
  frame(r: unknown, id: number, out: Buffer, len: number, lines: Int32Array): number;
  lastError(r: unknown, out: Buffer, len: number): number;
  setTraceContext(r: unknown, on: number): number;
  frameKind(r: unknown, id: number): number;
  threadNames(r: unknown, out: Buffer, len: number): number;
  asyncTasks(r: unknown, maxTasks: number, out: Uint32Array, cap: number, names: Buffer, namesCap: number): number;
  samplerNew(hz: number, words: number): unknown;
  samplerAdd(s: unknown, r: unknown): number;
  samplerRemove(s: unknown, r: unknown): number;
  samplerStart(s: unknown): number;
  samplerStop(s: unknown): void;
  samplerFree(s: unknown): void;
  samplerDrain(s: unknown, out: Uint32Array, cap: number): number;
  samplerStats(s: unknown, out: Float64Array): void;
}

let api: NativeApi | undefined;

export function native(): NativeApi {
  if (api) return api;
  const lib = loadLibrary();
  api = {
    open: lib.func('void *gauge_open(int pid, int flags, _Out_ int *err, _Out_ uint8_t *msg, int msglen)'),
    close: lib.func('void gauge_close(void *r)'),
    info: lib.func('int gauge_info(void *r, _Out_ uint8_t *out, int len)'),
    setMaxDepth: lib.func('void gauge_set_max_depth(void *r, int depth)'),
    snapshot: lib.func('int gauge_snapshot(void *r, _Out_ uint32_t *out, int cap)'),
    frame: lib.func('int gauge_frame(void *r, uint32_t id, _Out_ uint8_t *out, int len, _Out_ int32_t *lines)'),
    lastError: lib.func('int gauge_last_error(void *r, _Out_ uint8_t *out, int len)'),
    setTraceContext: lib.func('int gauge_set_trace_context(void *r, int on)'),
    frameKind: lib.func('int gauge_frame_kind(void *r, uint32_t id)'),
    threadNames: lib.func('int gauge_thread_names(void *r, _Out_ uint8_t *out, int len)'),
    asyncTasks: lib.func(
      'int gauge_async_tasks(void *r, int max, _Out_ uint32_t *out, int cap, _Out_ uint8_t *names, int ncap)',
    ),
    samplerNew: lib.func('void *gauge_sampler_new(double hz, int words)'),
    samplerAdd: lib.func('int gauge_sampler_add(void *s, void *r)'),
    samplerRemove: lib.func('int gauge_sampler_remove(void *s, void *r)'),
    samplerStart: lib.func('int gauge_sampler_start(void *s)'),
    samplerStop: lib.func('void gauge_sampler_stop(void *s)'),
    samplerFree: lib.func('void gauge_sampler_free(void *s)'),
    samplerDrain: lib.func('int gauge_sampler_drain(void *s, _Out_ uint32_t *out, int cap)'),
    samplerStats: lib.func('void gauge_sampler_stats(void *s, _Out_ double *out)'),
  } as NativeApi;
  return api;
}

/** NUL-terminated UTF-8 at the start of buf. */
export function cString(buf: Buffer, start = 0): string {
  const end = buf.indexOf(0, start);
  return buf.toString('utf8', start, end < 0 ? buf.length : end);
}
