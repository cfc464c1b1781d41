#include "layouts.h"
#include <string.h>

/*
 * Offsets checked against each version's headers (offsetof) and against
 * live interpreters by the test suite; see README "Supported versions".
 */

#define OBJ_FRAME_COMMON \
  .frame_kind = FRAME_OBJECT, .f_back = 24, .f_code = 32, .f_owner = -1, .owner_skip_min = 256, \
  .owner_generator = -1, .ts_cframe = -1, .cf_current_frame = -1

static const py_layout L27 = {
  .major = 2, .minor = 7, .root_is_interp_head = 1, .rt_interp_head = -1, .rt_tstate_current = -1,
  .gil_kind = GIL_TSTATE_CURRENT_SYM, .is_gil_ptr = -1,
  .is_next = 0, .is_threads_head = 8, .is_id = -1,
  .ts_next = 0, .ts_interp = 8, .ts_frame = 16, .ts_thread_id = 144, .ts_native_id = -1, .ts_read_size = 152,
  OBJ_FRAME_COMMON, .f_lasti = 120, .f_read_size = 128, .lasti_kind = LASTI_BYTES,
  .co_firstlineno = 96, .co_filename = 80, .co_name = 88, .co_qualname = -1, .co_linetable = 104,
  .co_code = 32, .co_firsttraceable = -1, .co_read_size = 112,
  .linetable_kind = LT_LNOTAB27, .string_kind = STR_PY2,
};

static const py_layout L36 = {
  .major = 3, .minor = 6, .root_is_interp_head = 1, .rt_interp_head = -1, .rt_tstate_current = -1,
  .gil_kind = GIL_TSTATE_CURRENT_SYM, .is_gil_ptr = -1,
  .is_next = 0, .is_threads_head = 8, .is_id = -1,
  .ts_next = 8, .ts_interp = 16, .ts_frame = 24, .ts_thread_id = 152, .ts_native_id = -1, .ts_read_size = 160,
  OBJ_FRAME_COMMON, .f_lasti = 120, .f_read_size = 128, .lasti_kind = LASTI_BYTES,
  .co_firstlineno = 36, .co_filename = 96, .co_name = 104, .co_qualname = -1, .co_linetable = 112,
  .co_code = 40, .co_firsttraceable = -1, .co_read_size = 120,
  .linetable_kind = LT_LNOTAB36, .string_kind = STR_UNICODE_WSTR,
};

#define RT37(tc) \
  .root_is_interp_head = 0, .rt_interp_head = 24, .rt_tstate_current = tc, .gil_kind = GIL_RUNTIME, .is_gil_ptr = -1

static const py_layout L37 = {
  .major = 3, .minor = 7, RT37(1480),
  .is_next = 0, .is_threads_head = 8, .is_id = 16,
  .ts_next = 8, .ts_interp = 16, .ts_frame = 24, .ts_thread_id = 176, .ts_native_id = -1, .ts_read_size = 184,
  OBJ_FRAME_COMMON, .f_lasti = 104, .f_read_size = 112, .lasti_kind = LASTI_BYTES,
  .co_firstlineno = 36, .co_filename = 96, .co_name = 104, .co_qualname = -1, .co_linetable = 112,
  .co_code = 40, .co_firsttraceable = -1, .co_read_size = 120,
  .linetable_kind = LT_LNOTAB36, .string_kind = STR_UNICODE_WSTR,
};

static const py_layout L38 = {
  .major = 3, .minor = 8, .root_is_interp_head = 0, .rt_interp_head = 32, .rt_tstate_current = 1368,
  .gil_kind = GIL_RUNTIME, .is_gil_ptr = -1,
  .is_next = 0, .is_threads_head = 8, .is_id = 16,
  .ts_next = 8, .ts_interp = 16, .ts_frame = 24, .ts_thread_id = 176, .ts_native_id = -1, .ts_read_size = 184,
  OBJ_FRAME_COMMON, .f_lasti = 104, .f_read_size = 112, .lasti_kind = LASTI_BYTES,
  .co_firstlineno = 40, .co_filename = 104, .co_name = 112, .co_qualname = -1, .co_linetable = 120,
  .co_code = 48, .co_firsttraceable = -1, .co_read_size = 128,
  .linetable_kind = LT_LNOTAB36, .string_kind = STR_UNICODE_WSTR,
};

static const py_layout L39 = {
  .major = 3, .minor = 9, .root_is_interp_head = 0, .rt_interp_head = 32, .rt_tstate_current = 568,
  .gil_kind = GIL_RUNTIME, .is_gil_ptr = -1,
  .is_next = 0, .is_threads_head = 8, .is_id = 24,
  .ts_next = 8, .ts_interp = 16, .ts_frame = 24, .ts_thread_id = 176, .ts_native_id = -1, .ts_read_size = 184,
  OBJ_FRAME_COMMON, .f_lasti = 104, .f_read_size = 112, .lasti_kind = LASTI_BYTES,
  .co_firstlineno = 40, .co_filename = 104, .co_name = 112, .co_qualname = -1, .co_linetable = 120,
  .co_code = 48, .co_firsttraceable = -1, .co_read_size = 128,
  .linetable_kind = LT_LNOTAB36, .string_kind = STR_UNICODE_WSTR,
};

static const py_layout L310 = {
  .major = 3, .minor = 10, .root_is_interp_head = 0, .rt_interp_head = 32, .rt_tstate_current = 568,
  .gil_kind = GIL_RUNTIME, .is_gil_ptr = -1,
  .is_next = 0, .is_threads_head = 8, .is_id = 24,
  .ts_next = 8, .ts_interp = 16, .ts_frame = 24, .ts_thread_id = 176, .ts_native_id = -1, .ts_read_size = 184,
  OBJ_FRAME_COMMON, .f_lasti = 96, .f_read_size = 104, .lasti_kind = LASTI_UNITS,
  .co_firstlineno = 40, .co_filename = 104, .co_name = 112, .co_qualname = -1, .co_linetable = 120,
  .co_code = 48, .co_firsttraceable = -1, .co_read_size = 128,
  .linetable_kind = LT_LINETABLE310, .string_kind = STR_UNICODE_WSTR,
};

static const py_layout L311 = {
  .major = 3, .minor = 11, .root_is_interp_head = 0, .rt_interp_head = 40, .rt_tstate_current = 576,
  .gil_kind = GIL_RUNTIME, .is_gil_ptr = -1,
  .is_next = 0, .is_threads_head = 16, .is_id = 48,
  .ts_next = 8, .ts_interp = 16, .ts_frame = 56, .ts_cframe = 56, .cf_current_frame = 8,
  .ts_thread_id = 152, .ts_native_id = 160, .ts_read_size = 168,
  .frame_kind = FRAME_INTERP, .f_back = 48, .f_code = 32, .f_lasti = 56, .f_owner = 69, .f_read_size = 72,
  .owner_skip_min = 256, .owner_generator = 1, .lasti_kind = LASTI_PREV_INSTR,
  .co_firstlineno = 72, .co_filename = 112, .co_name = 120, .co_qualname = 128, .co_linetable = 136,
  .co_code = 184, .co_firsttraceable = 168, .co_read_size = 184,
  .linetable_kind = LT_LOCATIONS311, .string_kind = STR_UNICODE_WSTR,
};

static const py_layout L312 = {
  .major = 3, .minor = 12, .root_is_interp_head = 0, .rt_interp_head = 40, .rt_tstate_current = -1,
  .gil_kind = GIL_INTERP_PTR, .is_gil_ptr = 384, .gil_holder = 8, .gil_locked = 16,
  .is_next = 0, .is_threads_head = 72, .is_id = 8,
  .ts_next = 8, .ts_interp = 16, .ts_frame = 56, .ts_cframe = 56, .cf_current_frame = 0,
  .ts_thread_id = 136, .ts_native_id = 144, .ts_read_size = 152,
  .frame_kind = FRAME_INTERP, .f_back = 8, .f_code = 0, .f_lasti = 56, .f_owner = 70, .f_read_size = 72,
  .owner_skip_min = 3, .owner_generator = 1, .lasti_kind = LASTI_PREV_INSTR,
  .co_firstlineno = 68, .co_filename = 112, .co_name = 120, .co_qualname = 128, .co_linetable = 136,
  .co_code = 192, .co_firsttraceable = 176, .co_read_size = 184,
  .linetable_kind = LT_LOCATIONS311, .string_kind = STR_UNICODE_312,
};

static const py_layout L313 = {
  .major = 3, .minor = 13, .root_is_interp_head = 0, .rt_interp_head = 632, .rt_tstate_current = -1,
  .gil_kind = GIL_INTERP_PTR, .is_gil_ptr = 16, .gil_holder = 8, .gil_locked = 16,
  .is_next = 7264, .is_threads_head = 7344, .is_id = 7272,
  .ts_next = 8, .ts_interp = 16, .ts_frame = 72, .ts_cframe = -1, .cf_current_frame = -1,
  .ts_thread_id = 152, .ts_native_id = 160, .ts_read_size = 168,
  .frame_kind = FRAME_INTERP, .f_back = 8, .f_code = 0, .f_lasti = 56, .f_owner = 70, .f_read_size = 72,
  .owner_skip_min = 3, .owner_generator = 1, .lasti_kind = LASTI_INSTR_PTR,
  .co_firstlineno = 68, .co_filename = 112, .co_name = 120, .co_qualname = 128, .co_linetable = 136,
  .co_code = 200, .co_firsttraceable = 184, .co_read_size = 192,
  .linetable_kind = LT_LOCATIONS311, .string_kind = STR_UNICODE_312,
};

/* 3.14: derived from its published layout, not run here (unit-tested on synthetic images). */
static const py_layout L314 = {
  .major = 3, .minor = 14, .root_is_interp_head = 0, .rt_interp_head = 808, .rt_tstate_current = -1,
  .gil_kind = GIL_INTERP_PTR, .is_gil_ptr = 16, .gil_holder = 8, .gil_locked = 16,
  .is_next = 7272, .is_threads_head = 7344, .is_id = 7280,
  .ts_next = 8, .ts_interp = 16, .ts_frame = 72, .ts_cframe = -1, .cf_current_frame = -1,
  .ts_thread_id = 152, .ts_native_id = 160, .ts_read_size = 168,
  .frame_kind = FRAME_INTERP, .f_back = 8, .f_code = 0, .f_lasti = 56, .f_owner = 74, .f_read_size = 80,
  .owner_skip_min = 3, .owner_generator = 1, .stackref = 1, .lasti_kind = LASTI_INSTR_PTR,
  .co_firstlineno = 68, .co_filename = 112, .co_name = 120, .co_qualname = 128, .co_linetable = 136,
  .co_code = 208, .co_firsttraceable = 192, .co_read_size = 200,
  .linetable_kind = LT_LOCATIONS311, .string_kind = STR_UNICODE_312,
};

static py_layout L37_early;

int layout_supported(int major, int minor) {
  return (major == 2 && minor == 7) || (major == 3 && minor >= 6 && minor <= 14);
}

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

/*
 * 3.13's _Py_DebugOffsets: cookie[8], version, free_threaded, then blocks of
 * u64 whose first member is the struct size. Positions (bytes) of the
 * members gauge uses.
 */
enum {
  D313_RT_SIZE = 24, D313_RT_INTERP_HEAD = 40,
  D313_IS_ID = 56, D313_IS_NEXT = 64, D313_IS_THREADS_HEAD = 72, D313_IS_CEVAL_GIL = 112,
  D313_GIL_RUNTIME_STATE = 120, D313_GIL_LOCKED = 136, D313_GIL_HOLDER = 144,
  D313_TS_NEXT = 168, D313_TS_INTERP = 176, D313_TS_FRAME = 184, D313_TS_THREAD_ID = 192, D313_TS_NATIVE_ID = 200,
  D313_F_PREVIOUS = 232, D313_F_EXECUTABLE = 240, D313_F_INSTR_PTR = 248, D313_F_OWNER = 264,
  D313_CO_FILENAME = 280, D313_CO_NAME = 288, D313_CO_QUALNAME = 296, D313_CO_LINETABLE = 304,
  D313_CO_FIRSTLINENO = 312, D313_CO_CODE_ADAPTIVE = 344,
  D313_END = 352
};

static int64_t dv(const uint8_t *d, int off) { uint64_t v; memcpy(&v, d + off, 8); return (int64_t)v; }

int layout_apply_debug_offsets_313(py_layout *l, const uint8_t *d, int len, uint64_t *rt_size) {
  if (len < D313_END || memcmp(d, "xdebugpy", 8) != 0) return -1;
  /* Every offset must stay inside a plausible struct; reject garbage wholesale. */
  int64_t vals[] = {
    dv(d, D313_RT_INTERP_HEAD), dv(d, D313_IS_ID), dv(d, D313_IS_NEXT), dv(d, D313_IS_THREADS_HEAD),
    dv(d, D313_IS_CEVAL_GIL), dv(d, D313_GIL_LOCKED), dv(d, D313_GIL_HOLDER), dv(d, D313_TS_NEXT),
    dv(d, D313_TS_INTERP), dv(d, D313_TS_FRAME), dv(d, D313_TS_THREAD_ID), dv(d, D313_TS_NATIVE_ID),
    dv(d, D313_F_PREVIOUS), dv(d, D313_F_EXECUTABLE), dv(d, D313_F_INSTR_PTR), dv(d, D313_F_OWNER),
    dv(d, D313_CO_FILENAME), dv(d, D313_CO_NAME), dv(d, D313_CO_QUALNAME), dv(d, D313_CO_LINETABLE),
    dv(d, D313_CO_FIRSTLINENO), dv(d, D313_CO_CODE_ADAPTIVE)};
  for (unsigned i = 0; i < sizeof vals / sizeof vals[0]; i++)
    if (vals[i] < 0 || vals[i] > (1 << 20)) return -1;
  if (dv(d, D313_TS_NATIVE_ID) + 8 > 4096 || dv(d, D313_F_OWNER) + 1 > 256 || dv(d, D313_CO_CODE_ADAPTIVE) > 1024) return -1;
  l->rt_interp_head = dv(d, D313_RT_INTERP_HEAD);
  l->is_id = dv(d, D313_IS_ID);
  l->is_next = dv(d, D313_IS_NEXT);
  l->is_threads_head = dv(d, D313_IS_THREADS_HEAD);
  l->is_gil_ptr = dv(d, D313_IS_CEVAL_GIL);
  /* locked/holder are published relative to the interpreter (interp->_gil.*); ceval.gil points at _gil. */
  if (dv(d, D313_GIL_LOCKED) < dv(d, D313_GIL_RUNTIME_STATE) || dv(d, D313_GIL_HOLDER) < dv(d, D313_GIL_RUNTIME_STATE)) return -1;
  l->gil_locked = dv(d, D313_GIL_LOCKED) - dv(d, D313_GIL_RUNTIME_STATE);
  l->gil_holder = dv(d, D313_GIL_HOLDER) - dv(d, D313_GIL_RUNTIME_STATE);
  l->ts_next = dv(d, D313_TS_NEXT);
  l->ts_interp = dv(d, D313_TS_INTERP);
  l->ts_frame = dv(d, D313_TS_FRAME);
  l->ts_thread_id = dv(d, D313_TS_THREAD_ID);
  l->ts_native_id = dv(d, D313_TS_NATIVE_ID);
  l->ts_read_size = l->ts_native_id + 8;
  if (l->ts_frame + 8 > l->ts_read_size) l->ts_read_size = l->ts_frame + 8;
  if (l->ts_thread_id + 8 > l->ts_read_size) l->ts_read_size = l->ts_thread_id + 8;
  l->f_back = dv(d, D313_F_PREVIOUS);
  l->f_code = dv(d, D313_F_EXECUTABLE);
  l->f_lasti = dv(d, D313_F_INSTR_PTR);
  l->f_owner = dv(d, D313_F_OWNER);
  l->co_filename = dv(d, D313_CO_FILENAME);
  l->co_name = dv(d, D313_CO_NAME);
  l->co_qualname = dv(d, D313_CO_QUALNAME);
  l->co_linetable = dv(d, D313_CO_LINETABLE);
  l->co_firstlineno = dv(d, D313_CO_FIRSTLINENO);
  l->co_code = dv(d, D313_CO_CODE_ADAPTIVE);
  if (rt_size) *rt_size = (uint64_t)dv(d, D313_RT_SIZE);
  return 0;
}
