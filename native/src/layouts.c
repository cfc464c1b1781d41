/*
 * Built-in layout rows (2.7, 3.6-3.14) and the checks every row passes.
 * Offsets from offsetof on each version's headers, confirmed on live
 * interpreters by the test suite (README "Supported versions"). From 3.13
 * the target's own _Py_DebugOffsets is the source of truth
 * (debug_offsets.c); the 3.13/3.14 rows here are only compared with it.
 */
#include "layouts.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Objects of GIL builds: 16-byte header. Types, modules and dicts unchanged 3.0-3.14 on 64-bit. */
#define OBJ3 \
  .ob_type = 8, .string_kind = STR_UNICODE, .str_length = 16, .str_state = 32, .bytes_size = 16, .bytes_data = 32, \
  .tp_name = 24, .tp_basicsize = 32, .tp_flags = 168, .tp_dictoffset = 288, .dict_keys = 32, .dict_values = 40, \
  .mod_dict = 16, .long_size = 16, .long_digit = 24, .gil_enabled = -1, .f_tlbc_index = -1, .co_tlbc = -1, \
  .is_tlbc_gen = -1
/* PEP 393 strings: characters after PyASCIIObject / PyCompactUnicodeObject (3.12 dropped wstr). */
#define STR_WSTR .str_ascii_data = 48, .str_compact_data = 72
#define STR_312 .str_ascii_data = 40, .str_compact_data = 56
/* Thread names through instance dicts (<=3.10). */
#define NAMES_DICT(dk, ik) \
  .dict_kind = dk, .attr_kind = ATTR_DICTOFFSET, .int_kind = ik, .ht_cached_keys = -1, .values_header = 0, .managed_dict = 0

/* PyCodeObject.co_flags: measured with ctypes in 2.7.18 (28), 3.6/3.7 (32), 3.8-3.10 (36), 3.11-3.15 (48). */

/*
 * Trace context (otelctx.c). Measured inside each interpreter with ctypes
 * (PyThreadState_Get, a Context entered with Context.run, a ContextVar set
 * in it; 3.7.16-3.15.2 GIL builds): PyContext.ctx_vars 24, PyHamtObject.h_root
 * 16, bitmap node b_bitmap 24 / b_array 32, array node a_array 16,
 * PyContextVar.var_hash 56, tuple ob_size 16 / ob_item 24 (32 from 3.14).
 */
#define TRACE_CTX(tsc, item) \
  .ts_context = tsc, .ctx_vars = 24, .hamt_root = 16, .hamt_bitmap = 24, .hamt_entries = 32, .hamt_nodes = 16, \
  .cvar_hash = 56, .var_size = 16, .tuple_item = item
#define NO_TRACE_CTX \
  .ts_context = -1, .ctx_vars = -1, .hamt_root = -1, .hamt_bitmap = -1, .hamt_entries = -1, .hamt_nodes = -1, \
  .cvar_hash = -1, .var_size = -1, .tuple_item = -1

#define OBJ_FRAME_COMMON \
  .frame_kind = FRAME_OBJECT, .f_back = 24, .f_code = 32, .f_owner = -1, .owner_skip_min = 256, .owner_max = 255, \
  .owner_generator = -1, .ts_cframe = -1, .cf_current_frame = -1

static const py_layout L27 = {
  .major = 2, .minor = 7, .root_is_interp_head = 1, .rt_interp_head = -1, .rt_tstate_current = -1,
  .gil_kind = GIL_TSTATE_CURRENT_SYM, .is_gil_ptr = -1, .gil_switches = -1, .gil_enabled = -1,
  .is_next = 0, .is_threads_head = 8, .is_id = -1, .is_modules = 16, .is_tlbc_gen = -1,
  .ts_next = 0, .ts_interp = 8, .ts_frame = 16, .ts_thread_id = 144, .ts_native_id = -1, .ts_base_frame = -1, .ts_read_size = 152,
  OBJ_FRAME_COMMON, .f_lasti = 120, .f_tlbc_index = -1, .f_read_size = 128, .lasti_kind = LASTI_BYTES,
  .co_firstlineno = 96, .co_filename = 80, .co_name = 88, .co_qualname = -1, .co_linetable = 104,
  .co_code = 32, .co_firsttraceable = -1, .co_tlbc = -1, .co_read_size = 112,
  .linetable_kind = LT_LNOTAB27,
  /* PyStringObject: ob_size at 16, bytes at 36; PyIntObject: ob_ival at 16 */
  .ob_type = 8, .string_kind = STR_PY2, .str_length = 16, .str_state = -1, .str_ascii_data = 36, .str_compact_data = 36,
  .bytes_size = 16, .bytes_data = 36, .tp_name = 24, .tp_basicsize = 32, .tp_flags = 168, .tp_dictoffset = 288,
  .dict_keys = -1, .dict_values = -1, .mod_dict = 16, .long_size = -1, .long_digit = 16,
  NAMES_DICT(DICT_27, INT_PY2),
  NO_TRACE_CTX,
  .co_flags = 28,
};

static const py_layout L36 = {
  .major = 3, .minor = 6, .root_is_interp_head = 1, .rt_interp_head = -1, .rt_tstate_current = -1,
  .gil_kind = GIL_TSTATE_CURRENT_SYM, .is_gil_ptr = -1, .gil_switches = -1,
  .is_next = 0, .is_threads_head = 8, .is_id = -1, .is_modules = 16,
  .ts_next = 8, .ts_interp = 16, .ts_frame = 24, .ts_thread_id = 152, .ts_native_id = -1, .ts_base_frame = -1, .ts_read_size = 160,
  OBJ_FRAME_COMMON, .f_lasti = 120, .f_read_size = 128, .lasti_kind = LASTI_BYTES,
  .co_firstlineno = 36, .co_filename = 96, .co_name = 104, .co_qualname = -1, .co_linetable = 112,
  .co_code = 40, .co_firsttraceable = -1, .co_read_size = 120,
  .linetable_kind = LT_LNOTAB36, OBJ3, STR_WSTR, NAMES_DICT(DICT_36, INT_LONG_OBSIZE),
  NO_TRACE_CTX,
  .co_flags = 32,
};

#define RT37(tc) \
  .root_is_interp_head = 0, .rt_interp_head = 24, .rt_tstate_current = tc, .gil_kind = GIL_RUNTIME, .is_gil_ptr = -1, .gil_switches = -1

static const py_layout L37 = {
  .major = 3, .minor = 7, RT37(1480),
  .is_next = 0, .is_threads_head = 8, .is_id = 16, .is_modules = 40,
  .ts_next = 8, .ts_interp = 16, .ts_frame = 24, .ts_thread_id = 176, .ts_native_id = -1, .ts_base_frame = -1, .ts_read_size = 184,
  OBJ_FRAME_COMMON, .f_lasti = 104, .f_read_size = 112, .lasti_kind = LASTI_BYTES,
  .co_firstlineno = 36, .co_filename = 96, .co_name = 104, .co_qualname = -1, .co_linetable = 112,
  .co_code = 40, .co_firsttraceable = -1, .co_read_size = 120,
  .linetable_kind = LT_LNOTAB36, OBJ3, STR_WSTR, NAMES_DICT(DICT_36, INT_LONG_OBSIZE),
  TRACE_CTX(256, 24),
  .co_flags = 32,
};

static const py_layout L38 = {
  .major = 3, .minor = 8, .root_is_interp_head = 0, .rt_interp_head = 32, .rt_tstate_current = 1368,
  .gil_kind = GIL_RUNTIME, .is_gil_ptr = -1, .gil_switches = -1,
  .is_next = 0, .is_threads_head = 8, .is_id = 16, .is_modules = 56,
  .ts_next = 8, .ts_interp = 16, .ts_frame = 24, .ts_thread_id = 176, .ts_native_id = -1, .ts_base_frame = -1, .ts_read_size = 184,
  OBJ_FRAME_COMMON, .f_lasti = 104, .f_read_size = 112, .lasti_kind = LASTI_BYTES,
  .co_firstlineno = 40, .co_filename = 104, .co_name = 112, .co_qualname = -1, .co_linetable = 120,
  .co_code = 48, .co_firsttraceable = -1, .co_read_size = 128,
  .linetable_kind = LT_LNOTAB36, OBJ3, STR_WSTR, NAMES_DICT(DICT_36, INT_LONG_OBSIZE),
  TRACE_CTX(240, 24),
  .co_flags = 36,
};

static const py_layout L39 = {
  .major = 3, .minor = 9, .root_is_interp_head = 0, .rt_interp_head = 32, .rt_tstate_current = 568,
  .gil_kind = GIL_RUNTIME, .is_gil_ptr = -1, .gil_switches = -1,
  .is_next = 0, .is_threads_head = 8, .is_id = 24, .is_modules = 856,
  .ts_next = 8, .ts_interp = 16, .ts_frame = 24, .ts_thread_id = 176, .ts_native_id = -1, .ts_base_frame = -1, .ts_read_size = 184,
  OBJ_FRAME_COMMON, .f_lasti = 104, .f_read_size = 112, .lasti_kind = LASTI_BYTES,
  .co_firstlineno = 40, .co_filename = 104, .co_name = 112, .co_qualname = -1, .co_linetable = 120,
  .co_code = 48, .co_firsttraceable = -1, .co_read_size = 128,
  .linetable_kind = LT_LNOTAB36, OBJ3, STR_WSTR, NAMES_DICT(DICT_36, INT_LONG_OBSIZE),
  TRACE_CTX(240, 24),
  .co_flags = 36,
};

static const py_layout L310 = {
  .major = 3, .minor = 10, .root_is_interp_head = 0, .rt_interp_head = 32, .rt_tstate_current = 568,
  .gil_kind = GIL_RUNTIME, .is_gil_ptr = -1, .gil_switches = -1,
  .is_next = 0, .is_threads_head = 8, .is_id = 24, .is_modules = 856,
  .ts_next = 8, .ts_interp = 16, .ts_frame = 24, .ts_thread_id = 176, .ts_native_id = -1, .ts_base_frame = -1, .ts_read_size = 184,
  OBJ_FRAME_COMMON, .f_lasti = 96, .f_read_size = 104, .lasti_kind = LASTI_UNITS,
  .co_firstlineno = 40, .co_filename = 104, .co_name = 112, .co_qualname = -1, .co_linetable = 120,
  .co_code = 48, .co_firsttraceable = -1, .co_read_size = 128,
  .linetable_kind = LT_LINETABLE310, OBJ3, STR_WSTR, NAMES_DICT(DICT_36, INT_LONG_OBSIZE),
  TRACE_CTX(240, 24),
  .co_flags = 36,
};

/* 3.11+: thread names through managed dicts and shared keys (ht_cached_keys). */
#define NAMES_311(ak, ck, vh) \
  .dict_kind = DICT_311, .attr_kind = ak, .ht_cached_keys = ck, .values_header = vh, .managed_dict = -24

static const py_layout L311 = {
  .major = 3, .minor = 11, .root_is_interp_head = 0, .rt_interp_head = 40, .rt_tstate_current = 576,
  .gil_kind = GIL_RUNTIME, .is_gil_ptr = -1, .gil_switches = -1,
  .is_next = 0, .is_threads_head = 16, .is_id = 48, .is_modules = 888,
  .ts_next = 8, .ts_interp = 16, .ts_frame = 56, .ts_cframe = 56, .cf_current_frame = 8,
  .ts_thread_id = 152, .ts_native_id = 160, .ts_base_frame = -1, .ts_read_size = 168,
  .frame_kind = FRAME_INTERP, .f_back = 48, .f_code = 32, .f_lasti = 56, .f_owner = 69, .f_read_size = 72,
  .owner_skip_min = 256, .owner_max = 2, .owner_generator = 1, .lasti_kind = LASTI_PREV_INSTR,
  .co_firstlineno = 72, .co_filename = 112, .co_name = 120, .co_qualname = 128, .co_linetable = 136,
  .co_code = 184, .co_firsttraceable = 168, .co_read_size = 184,
  .linetable_kind = LT_LOCATIONS311, OBJ3, STR_WSTR, .int_kind = INT_LONG_OBSIZE,
  NAMES_311(ATTR_MANAGED_311, 872, 0),
  TRACE_CTX(224, 24),
  .co_flags = 48,
};

static const py_layout L312 = {
  .major = 3, .minor = 12, .root_is_interp_head = 0, .rt_interp_head = 40, .rt_tstate_current = -1,
  .gil_kind = GIL_INTERP_PTR, .is_gil_ptr = 384, .gil_holder = 8, .gil_locked = 16, .gil_switches = 24,
  .is_next = 0, .is_threads_head = 72, .is_id = 8, .is_modules = 944,
  .ts_next = 8, .ts_interp = 16, .ts_frame = 56, .ts_cframe = 56, .cf_current_frame = 0,
  .ts_thread_id = 136, .ts_native_id = 144, .ts_base_frame = -1, .ts_read_size = 152,
  .frame_kind = FRAME_INTERP, .f_back = 8, .f_code = 0, .f_lasti = 56, .f_owner = 70, .f_read_size = 72,
  .owner_skip_min = 3, .owner_max = 3, .owner_generator = 1, .lasti_kind = LASTI_PREV_INSTR,
  .co_firstlineno = 68, .co_filename = 112, .co_name = 120, .co_qualname = 128, .co_linetable = 136,
  .co_code = 192, .co_firsttraceable = 176, .co_read_size = 184,
  .linetable_kind = LT_LOCATIONS311, OBJ3, STR_312, .int_kind = INT_LONG_TAG,
  NAMES_311(ATTR_MANAGED_312, 880, 0),
  TRACE_CTX(208, 24),
  .co_flags = 48,
};

/* 3.13 and 3.14 GIL builds: compared with what the target publishes, never used over it. */
static const py_layout L313 = {
  .major = 3, .minor = 13, .root_is_interp_head = 0, .rt_interp_head = 632, .rt_tstate_current = -1,
  .gil_kind = GIL_INTERP_PTR, .is_gil_ptr = 16, .gil_holder = 8, .gil_locked = 16, .gil_switches = 24,
  .is_next = 7264, .is_threads_head = 7344, .is_id = 7272, .is_modules = 7656,
  .ts_next = 8, .ts_interp = 16, .ts_frame = 72, .ts_cframe = -1, .cf_current_frame = -1,
  .ts_thread_id = 152, .ts_native_id = 160, .ts_base_frame = -1, .ts_read_size = 168,
  .frame_kind = FRAME_INTERP, .f_back = 8, .f_code = 0, .f_lasti = 56, .f_owner = 70, .f_read_size = 72,
  .owner_skip_min = 3, .owner_max = 3, .owner_generator = 1, .lasti_kind = LASTI_INSTR_PTR,
  .co_firstlineno = 68, .co_filename = 112, .co_name = 120, .co_qualname = 128, .co_linetable = 136,
  .co_code = 200, .co_firsttraceable = 184, .co_read_size = 192,
  .linetable_kind = LT_LOCATIONS311, OBJ3, STR_312, .int_kind = INT_LONG_TAG,
  NAMES_311(ATTR_INLINE_313, 880, 8),
  TRACE_CTX(208, 24),
  .co_flags = 48,
};

static const py_layout L314 = {
  .major = 3, .minor = 14, .root_is_interp_head = 0, .rt_interp_head = 808, .rt_tstate_current = -1,
  .gil_kind = GIL_INTERP_PTR, .is_gil_ptr = 16, .gil_holder = 8, .gil_locked = 16, .gil_switches = 24,
  .is_next = 7272, .is_threads_head = 7344, .is_id = 7280, .is_modules = 7688,
  .ts_next = 8, .ts_interp = 16, .ts_frame = 72, .ts_cframe = -1, .cf_current_frame = -1,
  .ts_thread_id = 152, .ts_native_id = 160, .ts_base_frame = -1, .ts_read_size = 168,
  .frame_kind = FRAME_INTERP, .f_back = 8, .f_code = 0, .f_lasti = 56, .f_owner = 74, .f_read_size = 80,
  .owner_skip_min = 3, .owner_max = 4, .owner_generator = 1, .stackref = 1, .lasti_kind = LASTI_INSTR_PTR,
  .co_firstlineno = 68, .co_filename = 112, .co_name = 120, .co_qualname = 128, .co_linetable = 136,
  .co_code = 208, .co_firsttraceable = 192, .co_read_size = 200,
  .linetable_kind = LT_LOCATIONS311, OBJ3, STR_312, .int_kind = INT_LONG_TAG,
  NAMES_311(ATTR_INLINE_313, 880, 8),
  TRACE_CTX(208, 32),
  .co_flags = 48,
};

static py_layout L37_early;

const py_layout *layout_for(int major, int minor, int micro) {
  if (major == 2 && minor == 7) return &L27;
  if (major != 3) return 0;
  switch (minor) {
  case 6: return &L36;
  case 7:
    if (micro >= 0 && micro <= 3) {
      /* 3.7.0-3.7.3: _PyRuntimeState is 88 bytes smaller before tstate_current. */
      L37_early = L37;
      L37_early.rt_tstate_current = 1392;
      return &L37_early;
    }
    return &L37;
  case 8: return &L38;
  case 9: return &L39;
  case 10: return &L310;
  case 11: return &L311;
  case 12: return &L312;
  case 13: return &L313;
  case 14: return &L314;
  default: return 0;
  }
}

/* ---- checks ---- */

typedef struct {
  const char *name;
  size_t at; /* offsetof(py_layout, field) */
  int width; /* bytes the reader copies at that offset */
} field_ref;

#define F(n, w) {#n, offsetof(py_layout, n), w}

/* Fields copied out of one local buffer, and the size field that buffer's read uses. */
static const field_ref TS_FIELDS[] = {F(ts_next, 8), F(ts_interp, 8), F(ts_frame, 8), F(ts_thread_id, 8), F(ts_native_id, 8),
                                      F(ts_base_frame, 8)};
static const field_ref FRAME_FIELDS[] = {F(f_back, 8), F(f_code, 8), F(f_lasti, 8), F(f_owner, 1), F(f_tlbc_index, 4)};
static const field_ref CODE_FIELDS[] = {F(ob_type, 8), F(co_firstlineno, 4), F(co_filename, 8), F(co_name, 8),
                                        F(co_qualname, 8), F(co_linetable, 8), F(co_firsttraceable, 4), F(co_tlbc, 8),
                                        F(co_flags, 4)};
/* Object headers read into LAYOUT_OBJ_MAX bytes. */
static const field_ref OBJ_FIELDS[] = {F(ob_type, 8), F(str_length, 8), F(str_state, 4), F(bytes_size, 8),
                                       F(dict_keys, 8), F(dict_values, 8), F(long_size, 8), F(long_digit, 12),
                                       F(mod_dict, 8), F(ctx_vars, 8), F(hamt_root, 8), F(hamt_bitmap, 4),
                                       F(cvar_hash, 8), F(var_size, 8), F(long_digit, 20)};
/* Type objects read into LAYOUT_TYPE_MAX bytes. */
static const field_ref TYPE_FIELDS[] = {F(tp_name, 8), F(tp_basicsize, 8), F(tp_flags, 8), F(tp_dictoffset, 8),
                                        F(ht_cached_keys, 8)};
/* Offsets only added to remote addresses (never index a local buffer): bounded for sanity. */
static const field_ref REMOTE_FIELDS[] = {F(rt_interp_head, 8), F(rt_tstate_current, 8), F(is_gil_ptr, 8),
                                          F(gil_locked, 4), F(gil_holder, 8), F(gil_enabled, 4), F(gil_switches, 8), F(is_next, 8),
                                          F(is_threads_head, 8), F(is_id, 8), F(is_modules, 8), F(is_tlbc_gen, 4),
                                          F(cf_current_frame, 8),
                                          F(co_code, 0), F(str_ascii_data, 0), F(str_compact_data, 0), F(bytes_data, 0),
                                          F(values_header, 0), F(ts_context, 8), F(hamt_entries, 0), F(hamt_nodes, 0),
                                          F(tuple_item, 0)};

static int64_t get(const py_layout *l, const field_ref *f) {
  int64_t v;
  memcpy(&v, (const char *)l + f->at, sizeof v);
  return v;
}

static int bad(char *why, size_t n, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (why && n) vsnprintf(why, n, fmt, ap);
  va_end(ap);
  return -1;
}

/* Every present field of the group ends within `limit` bytes. */
static int check_group(const py_layout *l, const field_ref *fs, size_t nf, int64_t limit, char *why, size_t n) {
  for (size_t i = 0; i < nf; i++) {
    int64_t v = get(l, &fs[i]);
    if (v != -1 && (v < 0 || v > limit - fs[i].width))
      return bad(why, n, "%s = %lld does not fit the %lld-byte read", fs[i].name, (long long)v, (long long)limit);
  }
  return 0;
}

int layout_check(const py_layout *l, char *why, size_t n) {
  if (l->ts_read_size <= 0 || l->ts_read_size > LAYOUT_TS_MAX)
    return bad(why, n, "ts_read_size = %lld outside 1..%d", (long long)l->ts_read_size, LAYOUT_TS_MAX);
  if (l->f_read_size <= 0 || l->f_read_size > LAYOUT_FRAME_MAX)
    return bad(why, n, "f_read_size = %lld outside 1..%d", (long long)l->f_read_size, LAYOUT_FRAME_MAX);
  if (l->co_read_size <= 0 || l->co_read_size > LAYOUT_CODE_MAX)
    return bad(why, n, "co_read_size = %lld outside 1..%d", (long long)l->co_read_size, LAYOUT_CODE_MAX);
  if (check_group(l, TS_FIELDS, sizeof TS_FIELDS / sizeof *TS_FIELDS, l->ts_read_size, why, n) ||
      check_group(l, FRAME_FIELDS, sizeof FRAME_FIELDS / sizeof *FRAME_FIELDS, l->f_read_size, why, n) ||
      check_group(l, CODE_FIELDS, sizeof CODE_FIELDS / sizeof *CODE_FIELDS, l->co_read_size, why, n) ||
      check_group(l, OBJ_FIELDS, sizeof OBJ_FIELDS / sizeof *OBJ_FIELDS, LAYOUT_OBJ_MAX, why, n) ||
      check_group(l, TYPE_FIELDS, sizeof TYPE_FIELDS / sizeof *TYPE_FIELDS, LAYOUT_TYPE_MAX, why, n) ||
      check_group(l, REMOTE_FIELDS, sizeof REMOTE_FIELDS / sizeof *REMOTE_FIELDS, 1 << 24, why, n))
    return -1;
  /* Fields the walker always needs. */
  if (l->ts_next < 0 || l->ts_frame < 0 || l->ts_thread_id < 0 || l->f_back < 0 || l->f_code < 0 || l->f_lasti < 0 ||
      l->co_filename < 0 || l->co_name < 0 || l->co_linetable < 0 || l->co_firstlineno < 0 || l->co_code < 0 ||
      l->ob_type < 0 || l->str_length < 0 || l->bytes_size < 0)
    return bad(why, n, "a field the reader needs is missing");
  /* Thread names read these unconditionally once the modules dict is known. */
  if (l->is_modules >= 0 && (l->tp_name < 0 || l->tp_flags < 0 || l->tp_basicsize < 0 || l->tp_dictoffset < 0 ||
                             l->mod_dict < 0 || l->long_digit < 0 || (l->int_kind != INT_PY2 && l->long_size < 0)))
    return bad(why, n, "thread-name fields missing");
  if (l->frame_kind == FRAME_INTERP && l->f_owner < 0)
    return bad(why, n, "interpreter frames need an owner field");
  if (l->string_kind == STR_UNICODE && l->str_state < 0)
    return bad(why, n, "unicode strings need a state field");
  if (l->managed_dict < -64 || l->managed_dict > 0)
    return bad(why, n, "managed_dict = %lld outside -64..0", (long long)l->managed_dict);
  /* Trace context: all of its fields or none (otelctx.c reads them only when ts_context is present). */
  if (l->ts_context >= 0 && (l->ctx_vars < 0 || l->hamt_root < 0 || l->hamt_bitmap < 0 || l->hamt_entries < 0 ||
                             l->hamt_nodes < 0 || l->cvar_hash < 0 || l->var_size < 0 || l->tuple_item < 0 ||
                             l->is_modules < 0 || l->int_kind == INT_PY2))
    return bad(why, n, "trace-context fields missing");
  if ((unsigned)l->frame_kind > FRAME_INTERP || (unsigned)l->lasti_kind > LASTI_INSTR_PTR ||
      (unsigned)l->linetable_kind > LT_LOCATIONS311 || (unsigned)l->string_kind > STR_UNICODE ||
      (unsigned)l->gil_kind > GIL_INTERP_PTR || (unsigned)l->dict_kind > DICT_311 ||
      (unsigned)l->attr_kind > ATTR_INLINE_313 || (unsigned)l->int_kind > INT_LONG_TAG || l->str_state_shift < 0 ||
      l->str_state_shift > 16 || l->owner_max < 0 || l->owner_max > 255)
    return bad(why, n, "unknown kind of frame, string, dict or GIL");
  return 0;
}

/* Every offset field, for layout_diff. */
static const field_ref ALL_FIELDS[] = {
  F(rt_interp_head, 0), F(is_gil_ptr, 0), F(gil_locked, 0), F(gil_holder, 0), F(is_next, 0), F(is_threads_head, 0),
  F(is_id, 0), F(is_modules, 0), F(ts_next, 0), F(ts_interp, 0), F(ts_frame, 0), F(ts_thread_id, 0),
  F(ts_native_id, 0), F(ts_base_frame, 0), F(f_back, 0), F(f_code, 0), F(f_lasti, 0), F(f_owner, 0), F(co_firstlineno, 0),
  F(co_filename, 0), F(co_name, 0), F(co_qualname, 0), F(co_linetable, 0), F(co_code, 0),
  F(co_firsttraceable, 0), F(ob_type, 0), F(str_length, 0), F(str_state, 0), F(str_ascii_data, 0),
  F(str_compact_data, 0), F(bytes_size, 0), F(bytes_data, 0), F(tp_name, 0), F(tp_flags, 0),
  F(ht_cached_keys, 0), F(dict_keys, 0), F(dict_values, 0), F(long_size, 0), F(long_digit, 0)};

int layout_diff(const py_layout *a, const py_layout *b, char *out, size_t outlen) {
  int count = 0;
  size_t pos = 0;
  if (outlen) out[0] = 0;
  for (size_t i = 0; i < sizeof ALL_FIELDS / sizeof *ALL_FIELDS; i++) {
    int64_t x = get(a, &ALL_FIELDS[i]), y = get(b, &ALL_FIELDS[i]);
    if (x == y) continue;
    if (pos < outlen) {
      int w = snprintf(out + pos, outlen - pos, "%s%s %lld->%lld", count ? ", " : "", ALL_FIELDS[i].name, (long long)x,
                       (long long)y);
      if (w > 0) pos += (size_t)w;
    }
    count++;
  }
  return count;
}
