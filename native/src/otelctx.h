/*
 * The application's current OpenTelemetry span on a thread, read from the
 * target: PyThreadState.context -> PyContext.ctx_vars (a HAMT) -> the entry
 * keyed by OpenTelemetry's runtime-context ContextVar -> the Context dict ->
 * its current-span entry -> the span's _context (a SpanContext tuple) ->
 * trace_id (128-bit int) and span_id (64-bit int).
 *
 * The ContextVar and the current-span key are module globals of
 * opentelemetry.context and opentelemetry.trace.propagation, found through
 * sys.modules (otel_discover, rate-limited by the caller) and rechecked on
 * use. Every read is bounded and goes through a memsrc; a count, size or
 * pointer from the target is never trusted. 3.7+ and free-threaded 3.13t and
 * 3.14t (layout rows with ts_context >= 0); without OpenTelemetry in the
 * target nothing is read past sys.modules.
 */
#ifndef GAUGE_OTELCTX_H
#define GAUGE_OTELCTX_H
#include <stdint.h>
#include "layouts.h"
#include "memsrc.h"

#define OTEL_MAX_CONTEXT 256 /* entries of an OpenTelemetry Context dict (a real one holds a handful) */
#define OTEL_MAX_COLLISION 16 /* keys of one HAMT collision node (a real one holds two) */
#define OTEL_RETRY_NS 2000000000ull /* look for OpenTelemetry again this often while it is absent */

typedef struct otel_cache {
  uint64_t cvar;      /* the runtime context's ContextVar */
  uint64_t cvar_type; /* its type (contextvars.ContextVar), rechecked every sample */
  uint32_t cvar_hash; /* the ContextVar's hash folded to 32 bits as the HAMT does */
  uint64_t span_key;  /* the str keying the current span in a Context */
  uint64_t attr_key;  /* the interned "_context" attribute name, once matched */
  uint64_t t_bitmap, t_array, t_collision, t_hamt, t_context; /* types seen by name once, then by address */
  uint64_t ftype[8], fflags[8]; /* tp_flags of types seen (int, tuple and dict subclasses): one read saved per object */
  unsigned fnext;
  uint64_t next_try_ns;
} otel_cache;

/* A span context: trace id as two 64-bit halves (high first) and the span id. */
typedef struct {
  uint64_t trace_hi, trace_lo, span;
} otel_ids;

/* Find the ContextVar and span key via sys.modules of the interpreter at interp. 0 found, 1 absent, -1 unreadable. */
int otel_discover(memsrc *m, const py_layout *l, otel_cache *c, uint64_t interp);

/* The current span of the thread state at tstate. 0 found (ids non-zero), 1 none, -1 unreadable. */
int otel_thread(memsrc *m, const py_layout *l, otel_cache *c, uint64_t tstate, otel_ids *out);

/* An int of up to 128 bits (non-negative). 0 ok, -1 unreadable, negative or too big. */
int otel_int128(memsrc *m, const py_layout *l, uint64_t obj, uint64_t *hi, uint64_t *lo);
#endif
