#include "debug_offsets.h"
#include "debug_offsets_schema.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/*
 * What a stack reader needs that _Py_DebugOffsets does not publish, per
 * minor version (CPython headers, checked on live interpreters). Object
 * offsets are for the 16-byte object header of GIL builds; free-threaded
 * builds add their header growth (pyobject.size - 16). A version newer than
 * the last row reads with the last row.
 */
typedef struct {
  int minor;
  int64_t co_firsttraceable;                       /* PyCodeObject._co_firsttraceable */
  int64_t tp_basicsize, tp_dictoffset, ht_cached_keys; /* published from 3.15 */
  int stackref;          /* f_executable is a tagged _PyStackRef */
  int owner_max;         /* highest _PyFrameOwner value */
  int ft_str_state_shift; /* free-threaded: `interned` widened to a byte */
  int64_t ts_context;     /* PyThreadState.context (free-threaded builds: the same, measured in 3.13t and 3.14t) */
  int64_t co_flags;       /* PyCodeObject.co_flags (GIL header; free-threaded adds its header growth) */
  int64_t ft_cvar_hash;   /* PyContextVar.var_hash, free-threaded (no cache fields); 0: not measured, not read */
} unpublished;

/*
 * ts_context measured inside 3.13.0, 3.13.5t, 3.14.7t, 3.14.10 and 3.15.2
 * with ctypes (a Context entered with Context.run, found in
 * PyThreadState_Get()'s struct); PyContext, HAMT and ContextVar offsets below
 * did not change 3.7-3.15. Free-threaded ContextVars lack the three cache
 * fields: var_hash at 48 (hash(var) found in the object, 3.13.5t, 3.14.7t).
 */
static const unpublished EXTRAS[] = {
  {13, 184, 32, 288, 880, 0, 3, 0, 208, 48, 48},
  {14, 192, 32, 288, 880, 1, 4, 6, 208, 48, 48},
  {15, 192, 32, 288, 888, 1, 3, 6, 232, 48, 0},
};

/* Upper bounds on published struct sizes: anything larger is not a CPython this reader can trust. */
enum { MAX_RUNTIME = 1 << 24, MAX_INTERP = 1 << 24, MAX_TSTATE = 1 << 16, MAX_SMALL = 1 << 12 };

typedef struct {
  const uint8_t *b;
  int idx; /* schema column */
  char *why;
  size_t whylen;
  int failed;
} decoder;

static void fail(decoder *d, const char *fmt, ...) {
  if (d->failed) return;
  d->failed = 1;
  va_list ap;
  va_start(ap, fmt);
  if (d->why && d->whylen) vsnprintf(d->why, d->whylen, fmt, ap);
  va_end(ap);
}

/* Raw value of a field; -1 when this version has no such field. */
static int64_t raw(decoder *d, enum do_field f) {
  int pos = DO_SCHEMA[f].pos[d->idx];
  if (pos < 0) return -1;
  uint64_t v;
  memcpy(&v, d->b + pos, sizeof v);
  if (v > (uint64_t)MAX_RUNTIME) {
    fail(d, "corrupt _Py_DebugOffsets: %s = %llu", DO_SCHEMA[f].name, (unsigned long long)v);
    return -1;
  }
  return (int64_t)v;
}

/* A struct size: present, non-zero, at most max. */
static int64_t size_of(decoder *d, enum do_field f, int64_t max) {
  int64_t s = raw(d, f);
  if (!d->failed && (s <= 0 || s > max))
    fail(d, "corrupt _Py_DebugOffsets: %s = %lld (expected 1..%lld)", DO_SCHEMA[f].name, (long long)s, (long long)max);
  return s;
}

/* An offset inside a struct of `size` bytes, `width` bytes wide and naturally aligned. -1 when absent. */
static int64_t field(decoder *d, enum do_field f, int64_t size, int width) {
  int64_t v = raw(d, f);
  if (d->failed || v < 0) return -1;
  if (v + width > size || (width > 1 && width <= 8 && v % width != 0))
    fail(d, "corrupt _Py_DebugOffsets: %s = %lld outside its %lld-byte struct", DO_SCHEMA[f].name, (long long)v,
         (long long)size);
  return v;
}

/* Published fields copied into the row as they are: which struct bounds each, how wide it is, whether it must exist. */
typedef struct {
  enum do_field f, size;
  size_t at; /* offsetof(py_layout, member) */
  int width; /* bytes read at the offset (0: the start of an inline array) */
  int need;
} field_map;
#define M(f, member, size, width, need) {f, size, offsetof(py_layout, member), width, need}
#define IS DO_INTERPRETER_STATE_SIZE
#define TS DO_THREAD_STATE_SIZE
#define FR DO_INTERPRETER_FRAME_SIZE
#define CO DO_CODE_OBJECT_SIZE
static const field_map MAP[] = {
  M(DO_RUNTIME_STATE_INTERPRETERS_HEAD, rt_interp_head, DO_RUNTIME_STATE_SIZE, 8, 1),
  M(DO_INTERPRETER_STATE_ID, is_id, IS, 8, 1),
  M(DO_INTERPRETER_STATE_NEXT, is_next, IS, 8, 1),
  M(DO_INTERPRETER_STATE_THREADS_HEAD, is_threads_head, IS, 8, 1),
  M(DO_INTERPRETER_STATE_IMPORTS_MODULES, is_modules, IS, 8, 1),
  M(DO_INTERPRETER_STATE_CEVAL_GIL, is_gil_ptr, IS, 8, 1),
  M(DO_THREAD_STATE_NEXT, ts_next, TS, 8, 1),
  M(DO_THREAD_STATE_INTERP, ts_interp, TS, 8, 1),
  M(DO_THREAD_STATE_CURRENT_FRAME, ts_frame, TS, 8, 1),
  M(DO_THREAD_STATE_THREAD_ID, ts_thread_id, TS, 8, 1),
  M(DO_THREAD_STATE_NATIVE_THREAD_ID, ts_native_id, TS, 8, 1),
  M(DO_THREAD_STATE_BASE_FRAME, ts_base_frame, TS, 8, 0),
  M(DO_INTERPRETER_FRAME_PREVIOUS, f_back, FR, 8, 1),
  M(DO_INTERPRETER_FRAME_EXECUTABLE, f_code, FR, 8, 1),
  M(DO_INTERPRETER_FRAME_INSTR_PTR, f_lasti, FR, 8, 1),
  M(DO_INTERPRETER_FRAME_OWNER, f_owner, FR, 1, 1),
  M(DO_CODE_OBJECT_FILENAME, co_filename, CO, 8, 1),
  M(DO_CODE_OBJECT_NAME, co_name, CO, 8, 1),
  M(DO_CODE_OBJECT_QUALNAME, co_qualname, CO, 8, 1),
  M(DO_CODE_OBJECT_LINETABLE, co_linetable, CO, 8, 1),
  M(DO_CODE_OBJECT_FIRSTLINENO, co_firstlineno, CO, 4, 1),
  M(DO_CODE_OBJECT_CO_CODE_ADAPTIVE, co_code, CO, 0, 1),
  M(DO_PYOBJECT_OB_TYPE, ob_type, DO_PYOBJECT_SIZE, 8, 1),
  M(DO_UNICODE_OBJECT_STATE, str_state, DO_UNICODE_OBJECT_SIZE, 4, 1),
  M(DO_UNICODE_OBJECT_LENGTH, str_length, DO_UNICODE_OBJECT_SIZE, 8, 1),
  M(DO_UNICODE_OBJECT_ASCIIOBJECT_SIZE, str_ascii_data, DO_UNICODE_OBJECT_SIZE, 0, 1),
  M(DO_UNICODE_OBJECT_COMPACTUNICODEOBJECT_SIZE, str_compact_data, DO_UNICODE_OBJECT_SIZE, 0, 0),
  M(DO_BYTES_OBJECT_OB_SIZE, bytes_size, DO_BYTES_OBJECT_SIZE, 8, 1),
  M(DO_BYTES_OBJECT_OB_SVAL, bytes_data, DO_BYTES_OBJECT_SIZE, 1, 1),
  M(DO_TYPE_OBJECT_TP_NAME, tp_name, DO_TYPE_OBJECT_SIZE, 8, 1),
  M(DO_TYPE_OBJECT_TP_FLAGS, tp_flags, DO_TYPE_OBJECT_SIZE, 8, 1),
  M(DO_TYPE_OBJECT_TP_BASICSIZE, tp_basicsize, DO_TYPE_OBJECT_SIZE, 8, 0),
  M(DO_TYPE_OBJECT_TP_DICTOFFSET, tp_dictoffset, DO_TYPE_OBJECT_SIZE, 8, 0),
  M(DO_HEAP_TYPE_OBJECT_HT_CACHED_KEYS, ht_cached_keys, DO_HEAP_TYPE_OBJECT_SIZE, 8, 0),
  M(DO_DICT_OBJECT_MA_KEYS, dict_keys, DO_DICT_OBJECT_SIZE, 8, 1),
  M(DO_DICT_OBJECT_MA_VALUES, dict_values, DO_DICT_OBJECT_SIZE, 8, 1),
  M(DO_LONG_OBJECT_LV_TAG, long_size, DO_LONG_OBJECT_SIZE, 8, 1),
  M(DO_LONG_OBJECT_OB_DIGIT, long_digit, DO_LONG_OBJECT_SIZE, 4, 1),
};

/* Upper bound of each struct size a field is checked against. */
static int64_t size_max(enum do_field size) {
  switch (size) {
  case DO_RUNTIME_STATE_SIZE: return MAX_RUNTIME;
  case DO_INTERPRETER_STATE_SIZE: return MAX_INTERP;
  case DO_THREAD_STATE_SIZE: return MAX_TSTATE;
  case DO_PYOBJECT_SIZE: return 64;
  default: return MAX_SMALL;
  }
}

/* Copy every mapped field into the row, each checked against its struct's published size. */
static void copy_fields(decoder *d, py_layout *l) {
  for (size_t i = 0; i < sizeof MAP / sizeof *MAP && !d->failed; i++) {
    const field_map *m = &MAP[i];
    int64_t v = -1;
    if (DO_SCHEMA[m->f].pos[d->idx] >= 0) v = field(d, m->f, size_of(d, m->size, size_max(m->size)), m->width);
    if (!d->failed && v < 0 && m->need) fail(d, "_Py_DebugOffsets lacks %s", DO_SCHEMA[m->f].name);
    memcpy((char *)l + m->at, &v, sizeof v);
  }
}

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

uint64_t debug_offsets_version(const uint8_t *b, size_t len) {
  if (len < DO_HEADER_SIZE || memcmp(b, "xdebugpy", 8) != 0) return 0;
  uint64_t v;
  memcpy(&v, b + 8, sizeof v);
  return v;
}

int debug_offsets_layout(const uint8_t *b, size_t len, py_layout *l, debug_offsets_info *info, char *why,
                         size_t whylen) {
  memset(info, 0, sizeof *info);
  uint64_t version = debug_offsets_version(b, len);
  if (!version) {
    if (why && whylen) snprintf(why, whylen, "no _Py_DebugOffsets at the start of _PyRuntime (cookie missing)");
    return -1;
  }
  int major = (int)((version >> 24) & 0xff), minor = (int)((version >> 16) & 0xff), level = (int)((version >> 4) & 0xf);
  uint64_t ft;
  memcpy(&ft, b + 16, sizeof ft);
  if (major != 3 || minor < DO_FIRST_MINOR || ft > 1) {
    if (why && whylen)
      snprintf(why, whylen, "corrupt _Py_DebugOffsets: version %#llx, free_threaded %llu", (unsigned long long)version,
               (unsigned long long)ft);
    return -1;
  }
  int idx = (minor > DO_LAST_MINOR ? DO_LAST_MINOR : minor) - DO_FIRST_MINOR;
  if ((size_t)DO_STRUCT_SIZE[idx] > len) {
    if (why && whylen) snprintf(why, whylen, "_Py_DebugOffsets block cut short (%zu bytes)", len);
    return -1;
  }
  info->version = version;
  info->free_threaded = (int)ft;
  info->schema_minor = idx + DO_FIRST_MINOR;
  info->untested = minor > DO_LAST_MINOR;
  info->prerelease = level != 0xf;
  const unpublished *x = &EXTRAS[idx];

  decoder d = {b, idx, why, whylen, 0};
  memset(l, 0, sizeof *l);
  l->major = major;
  l->minor = minor;
  l->free_threaded = (int)ft;

  copy_fields(&d, l);
  info->runtime_size = (uint64_t)raw(&d, DO_RUNTIME_STATE_SIZE);
  l->rt_tstate_current = -1;
  l->ts_cframe = l->cf_current_frame = -1;
  l->ts_read_size = 8 + max64(max64(max64(l->ts_next, l->ts_interp), l->ts_base_frame),
                              max64(l->ts_frame, max64(l->ts_thread_id, l->ts_native_id)));

  /* The GIL: interp->ceval.gil points at the struct; locked/holder are published relative to the interpreter. */
  l->gil_kind = GIL_INTERP_PTR;
  int64_t is = raw(&d, IS);
  int64_t gil = field(&d, DO_INTERPRETER_STATE_GIL_RUNTIME_STATE, is, 8);
  int64_t locked = field(&d, DO_INTERPRETER_STATE_GIL_RUNTIME_STATE_LOCKED, is, 4);
  int64_t holder = field(&d, DO_INTERPRETER_STATE_GIL_RUNTIME_STATE_HOLDER, is, 8);
  if (!d.failed && (gil < 0 || locked < gil || holder < gil || locked - gil > 256 || holder - gil > 256))
    fail(&d, "corrupt _Py_DebugOffsets: GIL fields %lld/%lld outside the GIL struct at %lld", (long long)locked,
         (long long)holder, (long long)gil);
  l->gil_locked = locked - gil;
  l->gil_holder = holder - gil;
  /* Not published: struct _gil_runtime_state has kept `int locked; unsigned long switch_number;` side by side
     since 3.2 (checked in 3.7-3.15 headers), so the count is the next 8-byte word. */
  l->gil_switches = l->gil_locked + 8;
  l->gil_enabled = -1;
  l->f_tlbc_index = l->co_tlbc = l->is_tlbc_gen = -1;
  if (ft) {
    /* Relative to the GIL struct itself (its first member: 0). */
    l->gil_enabled = raw(&d, DO_INTERPRETER_STATE_GIL_RUNTIME_STATE_ENABLED);
    if (!d.failed && (l->gil_enabled < 0 || l->gil_enabled > 256 || l->gil_enabled % 4))
      fail(&d, "corrupt _Py_DebugOffsets: interpreter_state.gil_runtime_state_enabled = %lld", (long long)l->gil_enabled);
    /* Thread-local bytecode (3.14+; the fields read 0 in GIL builds): both or neither. */
    l->f_tlbc_index = field(&d, DO_INTERPRETER_FRAME_TLBC_INDEX, raw(&d, FR), 4);
    l->co_tlbc = field(&d, DO_CODE_OBJECT_CO_TLBC, raw(&d, CO), 8);
    l->is_tlbc_gen = field(&d, DO_INTERPRETER_STATE_TLBC_GENERATION, raw(&d, IS), 4);
    if (l->f_tlbc_index < 0 || l->co_tlbc < 0) l->f_tlbc_index = l->co_tlbc = l->is_tlbc_gen = -1;
  }

  l->frame_kind = FRAME_INTERP;
  l->f_read_size = max64(max64(l->f_back, l->f_code), l->f_lasti) + 8;
  l->f_read_size = max64(l->f_read_size, max64(l->f_owner + 1, l->f_tlbc_index + 4));
  l->owner_skip_min = 3; /* thread, generator and frame-object frames carry code; higher owners are C shims */
  l->owner_max = x->owner_max;
  l->owner_generator = 1;
  l->stackref = x->stackref;
  l->lasti_kind = LASTI_INSTR_PTR;

  int64_t grow = raw(&d, DO_PYOBJECT_SIZE) - 16; /* free-threaded object header growth */
  if (!d.failed && (grow < 0 || grow % 8)) fail(&d, "corrupt _Py_DebugOffsets: pyobject.size = %lld", (long long)grow + 16);
  l->co_firsttraceable = x->co_firsttraceable + grow;
  l->co_flags = x->co_flags + grow; /* measured: 48 in 3.13-3.15, 64 in 3.13t/3.14t */
  if (!d.failed && l->co_firsttraceable + 4 > l->co_code)
    fail(&d, "corrupt _Py_DebugOffsets: code_object.co_code_adaptive = %lld before the header ends", (long long)l->co_code);
  l->co_read_size = 8 + max64(max64(l->co_filename, l->co_name), max64(l->co_qualname, l->co_linetable));
  l->co_read_size = max64(l->co_read_size, max64(max64(l->co_firstlineno, l->co_firsttraceable), l->co_flags) + 4);
  l->co_read_size = max64(l->co_read_size, max64(l->ob_type, l->co_tlbc) + 8);
  l->linetable_kind = LT_LOCATIONS311;

  l->string_kind = STR_UNICODE;
  if (l->str_compact_data < 0) l->str_compact_data = l->str_ascii_data + 16; /* utf8_length, utf8 */
  l->str_state_shift = ft ? x->ft_str_state_shift : 0;
  /* Thread names: what 3.15 publishes about types, earlier versions' headers give. */
  if (l->tp_basicsize < 0) l->tp_basicsize = x->tp_basicsize + grow;
  if (l->tp_dictoffset < 0) l->tp_dictoffset = x->tp_dictoffset + grow;
  if (l->ht_cached_keys < 0) l->ht_cached_keys = x->ht_cached_keys + grow;
  l->mod_dict = 16 + grow; /* PyModuleObject.md_dict follows the header */
  l->dict_kind = DICT_311;
  l->attr_kind = ATTR_INLINE_313;
  l->int_kind = INT_LONG_TAG;
  l->values_header = 8;
  l->managed_dict = ft ? -8 : -24; /* MANAGED_DICT_OFFSET: free-threaded objects have no GC links before it */
  /* Trace context (otelctx.c): tuples as published, the rest from the table (free-threaded: where measured). */
  /* Tuples (trace context only): a block without them reads no trace context. */
  int64_t tuple_size = raw(&d, DO_TUPLE_OBJECT_SIZE);
  l->tuple_item = l->var_size = -1;
  if (!d.failed && tuple_size > 0 && tuple_size <= MAX_SMALL) {
    l->tuple_item = field(&d, DO_TUPLE_OBJECT_OB_ITEM, tuple_size, 0);
    l->var_size = field(&d, DO_TUPLE_OBJECT_OB_SIZE, tuple_size, 8);
  }
  l->ts_context = l->ctx_vars = l->hamt_root = l->hamt_bitmap = l->hamt_entries = l->hamt_nodes = l->cvar_hash = -1;
  int64_t cvar_hash = ft ? x->ft_cvar_hash : 56;
  if (cvar_hash && l->tuple_item >= 0 && l->var_size >= 0 && x->ts_context + 8 <= raw(&d, TS)) {
    l->ts_context = x->ts_context;
    l->ctx_vars = 24 + grow;
    l->hamt_root = 16 + grow;
    l->hamt_bitmap = 24 + grow;
    l->hamt_entries = 32 + grow;
    l->hamt_nodes = 16 + grow;
    l->cvar_hash = cvar_hash;
  } else {
    l->tuple_item = l->var_size = -1;
  }
  if (d.failed) return -1;
  /* The rule every row passes, built-in or published. */
  char inner[160];
  if (layout_check(l, inner, sizeof inner)) {
    if (why && whylen) snprintf(why, whylen, "unusable _Py_DebugOffsets: %s", inner);
    return -1;
  }
  return 0;
}
