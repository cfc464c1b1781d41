/* Per-version CPython struct offsets (x86_64 / aarch64 where noted). */
#ifndef GAUGE_LAYOUTS_H
#define GAUGE_LAYOUTS_H
#include <stdint.h>

enum frame_kind { FRAME_OBJECT = 0, FRAME_INTERP = 1 };
/* How an instruction position is stored and turned into a code-unit index. */
enum lasti_kind {
  LASTI_BYTES = 0,      /* <=3.9: f_lasti is a byte offset */
  LASTI_UNITS = 1,      /* 3.10: f_lasti is a code-unit index */
  LASTI_PREV_INSTR = 2, /* 3.11/3.12: pointer to the last executed unit */
  LASTI_INSTR_PTR = 3   /* 3.13+: pointer to the current unit */
};
enum linetable_kind { LT_LNOTAB27 = 0, LT_LNOTAB36 = 1, LT_LINETABLE310 = 2, LT_LOCATIONS311 = 3 };
enum string_kind { STR_PY2 = 0, STR_UNICODE_WSTR = 1, STR_UNICODE_312 = 2 };
/* Where the GIL holder is read from. */
enum gil_kind {
  GIL_TSTATE_CURRENT_SYM = 0, /* 2.7, 3.6: *_PyThreadState_Current */
  GIL_RUNTIME = 1,            /* 3.7-3.11: _PyRuntime.gilstate.tstate_current */
  GIL_INTERP_PTR = 2          /* 3.12+: interp->ceval.gil -> {last_holder, locked} */
};

typedef struct py_layout {
  int major, minor;
  /* runtime */
  int root_is_interp_head;  /* 2.7/3.6: interp_head symbol holds the first interpreter */
  int64_t rt_interp_head;
  int64_t rt_tstate_current;
  int gil_kind;
  int64_t is_gil_ptr, gil_locked, gil_holder;
  /* interpreter */
  int64_t is_next, is_threads_head, is_id;
  /* thread */
  int64_t ts_next, ts_interp, ts_frame, ts_thread_id, ts_native_id;
  int64_t ts_cframe;       /* >=0: ts_frame is a pointer to a cframe holding current_frame */
  int64_t cf_current_frame;
  int64_t ts_read_size;    /* bytes of the thread state to read at once */
  /* frame */
  int frame_kind;
  int64_t f_back, f_code, f_lasti, f_owner, f_read_size;
  int owner_skip_min;       /* skip frames whose owner >= this (C stack shims) */
  int owner_generator;      /* owner value of generator frames (never incomplete) */
  int stackref;             /* 3.14: f_executable is a tagged _PyStackRef */
  int lasti_kind;
  /* code */
  int64_t co_firstlineno, co_filename, co_name, co_qualname, co_linetable, co_code, co_firsttraceable;
  int64_t co_read_size;
  int linetable_kind;
  int string_kind;
} py_layout;

/* Layout for major.minor(.micro); NULL when unsupported. */
const py_layout *layout_for(int major, int minor, int micro);
int layout_supported(int major, int minor);

/* _Py_DebugOffsets (3.13): overlay what the target publishes on a copy of the built-in layout. */
int layout_apply_debug_offsets_313(py_layout *l, const uint8_t *dbg, int len, uint64_t *rt_size);
#endif
