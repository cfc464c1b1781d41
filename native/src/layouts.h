/*
 * Everything gauge knows about one CPython build's memory, as data: struct
 * offsets plus the *kind* of each representation that changed shape across
 * versions. Code branches on kinds, never on version numbers.
 *
 * Where a row comes from:
 *   - 2.7, 3.6-3.12: built-in rows (offsetof on each version's headers);
 *   - 3.13 and later: the target's own _Py_DebugOffsets (debug_offsets.c),
 *     completed by a small per-version table of facts it does not publish.
 * Every row, whatever its source, passes layout_check before the walker
 * uses it: offsets taken from a target are untrusted input.
 *
 * Offsets are bytes relative to the object named by the prefix; -1 = absent.
 */
#ifndef GAUGE_LAYOUTS_H
#define GAUGE_LAYOUTS_H
#include <stddef.h>
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
/* str objects: 2.7 byte strings, or PEP 393 unicode (offsets in the layout). */
enum string_kind { STR_PY2 = 0, STR_UNICODE = 1 };
/* Where the GIL holder is read from. */
enum gil_kind {
  GIL_TSTATE_CURRENT_SYM = 0, /* 2.7, 3.6: *_PyThreadState_Current */
  GIL_RUNTIME = 1,            /* 3.7-3.11: _PyRuntime.gilstate.tstate_current */
  GIL_INTERP_PTR = 2          /* 3.12+: interp->ceval.gil -> {last_holder, locked} */
};
/* dict tables (thread names). */
enum dict_kind { DICT_27 = 0, DICT_36 = 1, DICT_311 = 2 };
/* Where an instance's attributes live (thread names). */
enum attr_kind {
  ATTR_DICTOFFSET = 0, /* <=3.10: tp_dictoffset -> dict */
  ATTR_MANAGED_311 = 1, /* dict pointer before the object, values pointer before that */
  ATTR_MANAGED_312 = 2, /* one word before the object: dict, or values pointer - 1 */
  ATTR_INLINE_313 = 3   /* 3.13+: values inline after the object while valid */
};
/* int objects (thread idents). */
enum int_kind { INT_PY2 = 0, INT_LONG_OBSIZE = 1, INT_LONG_TAG = 2 };

/* Local buffers the walker and parsers copy target structs into; layout_check keeps every field inside them. */
#define LAYOUT_TS_MAX 512    /* bytes of a thread state read at once */
#define LAYOUT_FRAME_MAX 256 /* bytes of a frame */
#define LAYOUT_CODE_MAX 512  /* bytes of a code object header */
#define LAYOUT_OBJ_MAX 128   /* bytes of a str / bytes / int / dict header */
#define LAYOUT_TYPE_MAX 1024 /* bytes of a (heap) type object */

typedef struct py_layout {
  int major, minor;
  int free_threaded; /* no GIL by default; 32-byte object header */
  /* runtime */
  int root_is_interp_head; /* 2.7/3.6: interp_head symbol holds the first interpreter */
  int64_t rt_interp_head;
  int64_t rt_tstate_current;
  int gil_kind;
  int64_t is_gil_ptr, gil_locked, gil_holder;
  int64_t gil_enabled; /* free-threaded: int `enabled` in the GIL struct; -1 in GIL builds */
  /* 3.12+: unsigned long switch_number in the GIL struct, bumped when a thread other than the last holder takes it; -1 unknown */
  int64_t gil_switches;
  /* interpreter */
  int64_t is_next, is_threads_head, is_id, is_modules;
  int64_t is_tlbc_gen; /* free-threaded 3.14+: uint32 bumped when a bytecode-copy index is handed out or freed */
  /* thread */
  int64_t ts_next, ts_interp, ts_frame, ts_thread_id, ts_native_id;
  int64_t ts_cframe; /* >=0: ts_frame is a pointer to a cframe holding current_frame */
  int64_t cf_current_frame;
  int64_t ts_base_frame; /* 3.15+: pointer to the thread's sentinel base frame, where every whole chain ends; -1 = none */
  int64_t ts_read_size; /* bytes of the thread state to read at once */
  /* frame */
  int frame_kind;
  int64_t f_back, f_code, f_lasti, f_owner, f_tlbc_index, f_read_size;
  int owner_skip_min;  /* skip frames whose owner >= this (C stack shims, sentinels) */
  int owner_max;       /* larger owners are garbage */
  int owner_generator; /* owner value of generator frames (never incomplete) */
  int stackref;        /* 3.14+: f_executable is a tagged _PyStackRef */
  int lasti_kind;
  /* code */
  int64_t co_firstlineno, co_filename, co_name, co_qualname, co_linetable, co_code, co_firsttraceable;
  int64_t co_tlbc; /* free-threaded 3.14+: _PyCodeArray of per-thread bytecode copies */
  int64_t co_flags; /* int: CO_GENERATOR, CO_COROUTINE, ... (-1 = not read) */
  int64_t co_read_size;
  int linetable_kind;
  /* objects */
  int64_t ob_type;
  int string_kind;
  int64_t str_length, str_state, str_ascii_data, str_compact_data;
  int str_state_shift; /* free-threaded 3.14+: `interned` is a byte, the other state bits move up */
  int64_t bytes_size, bytes_data;
  /* types, dicts, ints, modules (thread names) */
  int64_t tp_name, tp_basicsize, tp_flags, tp_dictoffset, ht_cached_keys;
  int dict_kind, attr_kind, int_kind;
  int64_t dict_keys, dict_values;
  int64_t values_header; /* bytes before the first split value (3.13+) */
  int64_t managed_dict;  /* the managed dict word, relative to the object (negative) */
  int64_t long_size, long_digit;
  int64_t mod_dict;
  /* the current OpenTelemetry span of a thread (otelctx.c): contextvars, HAMT, tuples; -1 = not read */
  int64_t ts_context;   /* PyThreadState.context (3.7+) */
  int64_t ctx_vars;     /* PyContext.ctx_vars -> PyHamtObject */
  int64_t hamt_root;    /* PyHamtObject.h_root */
  int64_t hamt_bitmap;  /* PyHamtNode_Bitmap.b_bitmap (uint32) */
  int64_t hamt_entries; /* PyHamtNode_Bitmap.b_array: key/value pairs */
  int64_t hamt_nodes;   /* PyHamtNode_Array.a_array: 32 child pointers */
  int64_t cvar_hash;    /* PyContextVar.var_hash */
  int64_t var_size;     /* PyVarObject.ob_size (tuples, HAMT bitmap nodes) */
  int64_t tuple_item;   /* PyTupleObject.ob_item */
} py_layout;

/* Built-in row for major.minor(.micro) (2.7, 3.6-3.14); NULL when there is none. */
const py_layout *layout_for(int major, int minor, int micro);

/*
 * Check a row before use: every field the reader reads lies inside the local
 * buffer it is copied into, read sizes fit those buffers, kinds are known.
 * 0 when usable; else -1 and a one-line reason in why.
 */
int layout_check(const py_layout *l, char *why, size_t whylen);

/* Fields in which two rows differ, as "name a->b" pairs separated by ", "; returns how many. */
int layout_diff(const py_layout *a, const py_layout *b, char *out, size_t outlen);
#endif
