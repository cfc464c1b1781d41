/*
 * Real 3.13+ builds as the tests know them, written independently of the
 * reader: where each _Py_DebugOffsets field sits (reference
 * debug-offsets.md section 2) and the values real interpreters publish
 * (section 4), plus the facts the block leaves out (section 5). A test
 * writes the block and the image from these, then checks that the reader's
 * own decoding (debug_offsets_layout) walks that image correctly: if the
 * reader's field table or mapping is wrong, the test fails.
 */
#ifndef GAUGE_TEST_BUILDS_H
#define GAUGE_TEST_BUILDS_H
#include <stdint.h>
#include <string.h>
#include "image.h"

enum dfield {
  D_RT_SIZE, D_RT_INTERP_HEAD,
  D_IS_SIZE, D_IS_ID, D_IS_NEXT, D_IS_THREADS_HEAD, D_IS_MODULES, D_IS_CEVAL_GIL, D_IS_GIL, D_IS_GIL_ENABLED,
  D_IS_GIL_LOCKED, D_IS_GIL_HOLDER,
  D_TS_SIZE, D_TS_NEXT, D_TS_INTERP, D_TS_FRAME, D_TS_BASE_FRAME, D_TS_TID, D_TS_NATIVE,
  D_FR_SIZE, D_FR_PREV, D_FR_EXEC, D_FR_INSTR, D_FR_OWNER, D_FR_TLBC,
  D_CO_SIZE, D_CO_FILENAME, D_CO_NAME, D_CO_QUALNAME, D_CO_LINETABLE, D_CO_FIRSTLINENO, D_CO_CODE, D_CO_TLBC,
  D_OB_SIZE, D_OB_TYPE,
  D_TP_SIZE, D_TP_NAME, D_TP_FLAGS, D_TP_BASICSIZE, D_TP_DICTOFFSET, D_HT_SIZE, D_HT_CACHED_KEYS,
  D_DICT_SIZE, D_DICT_KEYS, D_DICT_VALUES,
  D_LONG_SIZE, D_LONG_TAG, D_LONG_DIGIT,
  D_BYTES_SIZE, D_BYTES_OBSIZE, D_BYTES_SVAL,
  D_STR_SIZE, D_STR_STATE, D_STR_LENGTH, D_STR_ASCII, D_STR_COMPACT,
  D_COUNT
};

/* Byte position of each field inside _Py_DebugOffsets: 3.13, 3.14, 3.15 (-1: not in that version). */
static const struct { const char *name; int pos[3]; } DPOS[D_COUNT] = {
  [D_RT_SIZE] = {"runtime_state.size", {24, 24, 24}},
  [D_RT_INTERP_HEAD] = {"runtime_state.interpreters_head", {40, 40, 40}},
  [D_IS_SIZE] = {"interpreter_state.size", {48, 48, 48}},
  [D_IS_ID] = {"interpreter_state.id", {56, 56, 56}},
  [D_IS_NEXT] = {"interpreter_state.next", {64, 64, 64}},
  [D_IS_THREADS_HEAD] = {"interpreter_state.threads_head", {72, 72, 72}},
  [D_IS_MODULES] = {"interpreter_state.imports_modules", {88, 96, 96}},
  [D_IS_CEVAL_GIL] = {"interpreter_state.ceval_gil", {112, 120, 120}},
  [D_IS_GIL] = {"interpreter_state.gil_runtime_state", {120, 128, 128}},
  [D_IS_GIL_ENABLED] = {"interpreter_state.gil_runtime_state_enabled", {128, 136, 136}},
  [D_IS_GIL_LOCKED] = {"interpreter_state.gil_runtime_state_locked", {136, 144, 144}},
  [D_IS_GIL_HOLDER] = {"interpreter_state.gil_runtime_state_holder", {144, 152, 152}},
  [D_TS_SIZE] = {"thread_state.size", {152, 176, 176}},
  [D_TS_NEXT] = {"thread_state.next", {168, 192, 192}},
  [D_TS_INTERP] = {"thread_state.interp", {176, 200, 200}},
  [D_TS_FRAME] = {"thread_state.current_frame", {184, 208, 208}},
  [D_TS_BASE_FRAME] = {"thread_state.base_frame", {-1, -1, 216}},
  [D_TS_TID] = {"thread_state.thread_id", {192, 216, 240}},
  [D_TS_NATIVE] = {"thread_state.native_thread_id", {200, 224, 248}},
  [D_FR_SIZE] = {"interpreter_frame.size", {224, 248, 312}},
  [D_FR_PREV] = {"interpreter_frame.previous", {232, 256, 320}},
  [D_FR_EXEC] = {"interpreter_frame.executable", {240, 264, 328}},
  [D_FR_INSTR] = {"interpreter_frame.instr_ptr", {248, 272, 336}},
  [D_FR_OWNER] = {"interpreter_frame.owner", {264, 288, 352}},
  [D_FR_TLBC] = {"interpreter_frame.tlbc_index", {-1, 304, 368}},
  [D_CO_SIZE] = {"code_object.size", {272, 312, 376}},
  [D_CO_FILENAME] = {"code_object.filename", {280, 320, 384}},
  [D_CO_NAME] = {"code_object.name", {288, 328, 392}},
  [D_CO_QUALNAME] = {"code_object.qualname", {296, 336, 400}},
  [D_CO_LINETABLE] = {"code_object.linetable", {304, 344, 408}},
  [D_CO_FIRSTLINENO] = {"code_object.firstlineno", {312, 352, 416}},
  [D_CO_CODE] = {"code_object.co_code_adaptive", {344, 384, 448}},
  [D_CO_TLBC] = {"code_object.co_tlbc", {-1, 392, 456}},
  [D_OB_SIZE] = {"pyobject.size", {352, 400, 464}},
  [D_OB_TYPE] = {"pyobject.ob_type", {360, 408, 472}},
  [D_TP_SIZE] = {"type_object.size", {368, 416, 480}},
  [D_TP_NAME] = {"type_object.tp_name", {376, 424, 488}},
  [D_TP_FLAGS] = {"type_object.tp_flags", {392, 440, 504}},
  [D_TP_BASICSIZE] = {"type_object.tp_basicsize", {-1, -1, 512}},
  [D_TP_DICTOFFSET] = {"type_object.tp_dictoffset", {-1, -1, 520}},
  [D_HT_SIZE] = {"heap_type_object.size", {-1, -1, 528}},
  [D_HT_CACHED_KEYS] = {"heap_type_object.ht_cached_keys", {-1, -1, 536}},
  [D_DICT_SIZE] = {"dict_object.size", {448, 528, 624}},
  [D_DICT_KEYS] = {"dict_object.ma_keys", {456, 536, 632}},
  [D_DICT_VALUES] = {"dict_object.ma_values", {464, 544, 640}},
  [D_LONG_SIZE] = {"long_object.size", {488, 568, 664}},
  [D_LONG_TAG] = {"long_object.lv_tag", {496, 576, 672}},
  [D_LONG_DIGIT] = {"long_object.ob_digit", {504, 584, 680}},
  [D_BYTES_SIZE] = {"bytes_object.size", {512, 592, 688}},
  [D_BYTES_OBSIZE] = {"bytes_object.ob_size", {520, 600, 696}},
  [D_BYTES_SVAL] = {"bytes_object.ob_sval", {528, 608, 704}},
  [D_STR_SIZE] = {"unicode_object.size", {536, 616, 712}},
  [D_STR_STATE] = {"unicode_object.state", {544, 624, 720}},
  [D_STR_LENGTH] = {"unicode_object.length", {552, 632, 728}},
  [D_STR_ASCII] = {"unicode_object.asciiobject_size", {560, 640, 736}},
  [D_STR_COMPACT] = {"unicode_object.compactunicodeobject_size", {-1, -1, 744}},
};
/* sizeof(_Py_DebugOffsets) per field table. */
static const int DSIZE[3] = {584, 760, 888};

typedef struct {
  const char *tag;
  uint64_t version; /* PY_VERSION_HEX */
  int ft;           /* free-threaded build */
  int table;        /* field table: 13, 14 or 15 */
  int64_t v[D_COUNT];
  /* not in the block (section 5) */
  int64_t firsttraceable, ht_cached_keys;
  int str_shift, owner_max;
} do_build;

/* Values shared by the GIL builds' object, type and dict blocks. */
#define OBJ_GIL \
  [D_OB_SIZE] = 16, [D_OB_TYPE] = 8, [D_DICT_SIZE] = 48, [D_DICT_KEYS] = 32, [D_DICT_VALUES] = 40, [D_LONG_SIZE] = 32, \
  [D_LONG_TAG] = 16, [D_LONG_DIGIT] = 24, [D_BYTES_SIZE] = 40, [D_BYTES_OBSIZE] = 16, [D_BYTES_SVAL] = 32, \
  [D_STR_SIZE] = 64, [D_STR_STATE] = 32, [D_STR_LENGTH] = 16, [D_STR_ASCII] = 40
/* Free-threaded: the object header is 32 bytes, every object field 16 later. */
#define OBJ_FT \
  [D_OB_SIZE] = 32, [D_OB_TYPE] = 24, [D_DICT_SIZE] = 64, [D_DICT_KEYS] = 48, [D_DICT_VALUES] = 56, [D_LONG_SIZE] = 48, \
  [D_LONG_TAG] = 32, [D_LONG_DIGIT] = 40, [D_BYTES_SIZE] = 56, [D_BYTES_OBSIZE] = 32, [D_BYTES_SVAL] = 48, \
  [D_STR_SIZE] = 80, [D_STR_STATE] = 48, [D_STR_LENGTH] = 32, [D_STR_ASCII] = 56
#define TS_COMMON [D_TS_NEXT] = 8, [D_TS_INTERP] = 16, [D_TS_FRAME] = 72, [D_FR_PREV] = 8, [D_FR_EXEC] = 0, [D_FR_INSTR] = 56
#define CO_GIL [D_CO_FILENAME] = 112, [D_CO_NAME] = 120, [D_CO_QUALNAME] = 128, [D_CO_LINETABLE] = 136, [D_CO_FIRSTLINENO] = 68
#define CO_FT [D_CO_FILENAME] = 128, [D_CO_NAME] = 136, [D_CO_QUALNAME] = 144, [D_CO_LINETABLE] = 152, [D_CO_FIRSTLINENO] = 84

static const do_build BUILDS[] = {
  {"3.13.0", 0x030d00f0, 0, 13,
   {[D_RT_SIZE] = 283320, [D_RT_INTERP_HEAD] = 632, [D_IS_SIZE] = 194968, [D_IS_ID] = 7272, [D_IS_NEXT] = 7264,
    [D_IS_THREADS_HEAD] = 7344, [D_IS_MODULES] = 7656, [D_IS_CEVAL_GIL] = 16, [D_IS_GIL] = 7752, [D_IS_GIL_LOCKED] = 7768,
    [D_IS_GIL_HOLDER] = 7760, [D_TS_SIZE] = 304, TS_COMMON, [D_TS_TID] = 152, [D_TS_NATIVE] = 160, [D_FR_SIZE] = 80,
    [D_FR_OWNER] = 70, [D_CO_SIZE] = 208, CO_GIL, [D_CO_CODE] = 200, [D_TP_SIZE] = 416, [D_TP_NAME] = 24,
    [D_TP_FLAGS] = 168, OBJ_GIL},
   184, 880, 0, 3},
  {"3.13.5t", 0x030d05f0, 1, 13,
   {[D_RT_SIZE] = 328320, [D_RT_INTERP_HEAD] = 632, [D_IS_SIZE] = 215616, [D_IS_ID] = 7272, [D_IS_NEXT] = 7264,
    [D_IS_THREADS_HEAD] = 7344, [D_IS_MODULES] = 7664, [D_IS_CEVAL_GIL] = 16, [D_IS_GIL] = 7760, [D_IS_GIL_LOCKED] = 7784,
    [D_IS_GIL_HOLDER] = 7776, [D_TS_SIZE] = 304, TS_COMMON, [D_TS_TID] = 152, [D_TS_NATIVE] = 160, [D_FR_SIZE] = 80,
    [D_FR_OWNER] = 70, [D_CO_SIZE] = 224, CO_FT, [D_CO_CODE] = 216, [D_TP_SIZE] = 432, [D_TP_NAME] = 40,
    [D_TP_FLAGS] = 184, OBJ_FT},
   200, 896, 0, 3},
  {"3.14.10", 0x030e0af0, 0, 14,
   {[D_RT_SIZE] = 316616, [D_RT_INTERP_HEAD] = 808, [D_IS_SIZE] = 225864, [D_IS_ID] = 7280, [D_IS_NEXT] = 7272,
    [D_IS_THREADS_HEAD] = 7344, [D_IS_MODULES] = 7688, [D_IS_CEVAL_GIL] = 16, [D_IS_GIL] = 7784, [D_IS_GIL_LOCKED] = 7800,
    [D_IS_GIL_HOLDER] = 7792, [D_TS_SIZE] = 832, TS_COMMON, [D_TS_TID] = 152, [D_TS_NATIVE] = 160, [D_FR_SIZE] = 88,
    [D_FR_OWNER] = 74, [D_CO_SIZE] = 216, CO_GIL, [D_CO_CODE] = 208, [D_TP_SIZE] = 416, [D_TP_NAME] = 24,
    [D_TP_FLAGS] = 168, OBJ_GIL},
   192, 880, 0, 4},
  {"3.14.7t", 0x030e07f0, 1, 14,
   {[D_RT_SIZE] = 362368, [D_RT_INTERP_HEAD] = 808, [D_IS_SIZE] = 246720, [D_IS_ID] = 7280, [D_IS_NEXT] = 7272,
    [D_IS_THREADS_HEAD] = 7344, [D_IS_MODULES] = 7712, [D_IS_CEVAL_GIL] = 16, [D_IS_GIL] = 7808, [D_IS_GIL_LOCKED] = 7832,
    [D_IS_GIL_HOLDER] = 7824, [D_TS_SIZE] = 832, TS_COMMON, [D_TS_TID] = 152, [D_TS_NATIVE] = 160, [D_FR_SIZE] = 88,
    [D_FR_OWNER] = 78, [D_FR_TLBC] = 72, [D_CO_SIZE] = 240, CO_FT, [D_CO_CODE] = 232, [D_CO_TLBC] = 224,
    [D_TP_SIZE] = 432, [D_TP_NAME] = 40, [D_TP_FLAGS] = 184, OBJ_FT},
   208, 896, 6, 4},
  {"3.15.2", 0x030f02f0, 0, 15,
   {[D_RT_SIZE] = 346568, [D_RT_INTERP_HEAD] = 936, [D_IS_SIZE] = 226240, [D_IS_ID] = 7272, [D_IS_NEXT] = 7264,
    [D_IS_THREADS_HEAD] = 7336, [D_IS_MODULES] = 7592, [D_IS_CEVAL_GIL] = 16, [D_IS_GIL] = 7736, [D_IS_GIL_LOCKED] = 7752,
    [D_IS_GIL_HOLDER] = 7744, [D_TS_SIZE] = 888, TS_COMMON, [D_TS_BASE_FRAME] = 80, [D_TS_TID] = 176, [D_TS_NATIVE] = 184,
    [D_FR_SIZE] = 88, [D_FR_OWNER] = 74, [D_CO_SIZE] = 216, CO_GIL, [D_CO_CODE] = 208, [D_TP_SIZE] = 424,
    [D_TP_NAME] = 24, [D_TP_FLAGS] = 168, [D_TP_BASICSIZE] = 32, [D_TP_DICTOFFSET] = 288, [D_HT_SIZE] = 944,
    [D_HT_CACHED_KEYS] = 888, OBJ_GIL, [D_STR_COMPACT] = 56},
   192, 888, 0, 3},
  /* A future 3.16 whose shapes hold: 3.15's field positions, values moved (new members in each struct). */
  {"3.16.0 (future)", 0x031000f0, 0, 15,
   {[D_RT_SIZE] = 350000, [D_RT_INTERP_HEAD] = 1000, [D_IS_SIZE] = 230000, [D_IS_ID] = 7336, [D_IS_NEXT] = 7328,
    [D_IS_THREADS_HEAD] = 7400, [D_IS_MODULES] = 7656, [D_IS_CEVAL_GIL] = 24, [D_IS_GIL] = 7800, [D_IS_GIL_LOCKED] = 7816,
    [D_IS_GIL_HOLDER] = 7808, [D_TS_SIZE] = 904, [D_TS_NEXT] = 16, [D_TS_INTERP] = 24, [D_TS_FRAME] = 80,
    [D_TS_BASE_FRAME] = 88, [D_TS_TID] = 192, [D_TS_NATIVE] = 200, [D_FR_SIZE] = 96, [D_FR_PREV] = 16, [D_FR_EXEC] = 8,
    [D_FR_INSTR] = 64, [D_FR_OWNER] = 82, [D_CO_SIZE] = 232, [D_CO_FILENAME] = 120, [D_CO_NAME] = 128,
    [D_CO_QUALNAME] = 136, [D_CO_LINETABLE] = 144, [D_CO_FIRSTLINENO] = 72, [D_CO_CODE] = 224, [D_TP_SIZE] = 432,
    [D_TP_NAME] = 24, [D_TP_FLAGS] = 176, [D_TP_BASICSIZE] = 32, [D_TP_DICTOFFSET] = 296, [D_HT_SIZE] = 960,
    [D_HT_CACHED_KEYS] = 904, [D_OB_SIZE] = 16, [D_OB_TYPE] = 8, [D_DICT_SIZE] = 48, [D_DICT_KEYS] = 32,
    [D_DICT_VALUES] = 40, [D_LONG_SIZE] = 32, [D_LONG_TAG] = 16, [D_LONG_DIGIT] = 24, [D_BYTES_SIZE] = 40,
    [D_BYTES_OBSIZE] = 16, [D_BYTES_SVAL] = 32, [D_STR_SIZE] = 72, [D_STR_STATE] = 32, [D_STR_LENGTH] = 16,
    [D_STR_ASCII] = 48, [D_STR_COMPACT] = 64},
   192, 904, 0, 3},
};
#define NBUILDS (sizeof BUILDS / sizeof BUILDS[0])

/* Write b's _Py_DebugOffsets at dst (DSIZE bytes of its table). */
static inline void block_write(const do_build *b, uint8_t *dst) {
  int t = b->table - 13;
  memset(dst, 0, (size_t)DSIZE[t]);
  memcpy(dst, "xdebugpy", 8);
  memcpy(dst + 8, &b->version, 8);
  uint64_t ft = (uint64_t)b->ft;
  memcpy(dst + 16, &ft, 8);
  for (int f = 0; f < D_COUNT; f++)
    if (DPOS[f].pos[t] >= 0) memcpy(dst + DPOS[f].pos[t], &b->v[f], 8);
}

/* Set one field of a block (corruption tests). */
static inline void block_set(const do_build *b, uint8_t *blk, enum dfield f, uint64_t v) {
  memcpy(blk + DPOS[f].pos[b->table - 13], &v, 8);
}

/* What the test expects the reader to use for build b, built from the values above alone. */
static inline void build_truth(const do_build *b, py_layout *t) {
  const int64_t *v = b->v;
  int64_t grow = v[D_OB_SIZE] - 16;
  memset(t, 0, sizeof *t);
  t->major = 3;
  t->minor = (int)((b->version >> 16) & 0xff);
  t->free_threaded = b->ft;
  t->rt_interp_head = v[D_RT_INTERP_HEAD];
  t->rt_tstate_current = -1;
  t->gil_kind = GIL_INTERP_PTR;
  t->is_gil_ptr = v[D_IS_CEVAL_GIL];
  t->gil_locked = v[D_IS_GIL_LOCKED] - v[D_IS_GIL];
  t->gil_holder = v[D_IS_GIL_HOLDER] - v[D_IS_GIL];
  t->gil_enabled = b->ft ? v[D_IS_GIL_ENABLED] : -1;
  t->is_next = v[D_IS_NEXT];
  t->is_threads_head = v[D_IS_THREADS_HEAD];
  t->is_id = v[D_IS_ID];
  t->is_modules = v[D_IS_MODULES];
  t->ts_next = v[D_TS_NEXT];
  t->ts_interp = v[D_TS_INTERP];
  t->ts_frame = v[D_TS_FRAME];
  t->ts_thread_id = v[D_TS_TID];
  t->ts_native_id = v[D_TS_NATIVE];
  t->ts_base_frame = b->table >= 15 ? v[D_TS_BASE_FRAME] : -1;
  t->ts_cframe = t->cf_current_frame = -1;
  t->frame_kind = FRAME_INTERP;
  t->f_back = v[D_FR_PREV];
  t->f_code = v[D_FR_EXEC];
  t->f_lasti = v[D_FR_INSTR];
  t->f_owner = v[D_FR_OWNER];
  t->f_tlbc_index = b->ft && b->table >= 14 ? v[D_FR_TLBC] : -1;
  t->owner_skip_min = 3;
  t->owner_max = b->owner_max;
  t->owner_generator = 1;
  t->stackref = b->table >= 14;
  t->lasti_kind = LASTI_INSTR_PTR;
  t->co_firstlineno = v[D_CO_FIRSTLINENO];
  t->co_filename = v[D_CO_FILENAME];
  t->co_name = v[D_CO_NAME];
  t->co_qualname = v[D_CO_QUALNAME];
  t->co_linetable = v[D_CO_LINETABLE];
  t->co_code = v[D_CO_CODE];
  t->co_firsttraceable = b->firsttraceable;
  t->co_tlbc = b->ft && b->table >= 14 ? v[D_CO_TLBC] : -1;
  t->linetable_kind = LT_LOCATIONS311;
  t->ob_type = v[D_OB_TYPE];
  t->string_kind = STR_UNICODE;
  t->str_length = v[D_STR_LENGTH];
  t->str_state = v[D_STR_STATE];
  t->str_ascii_data = v[D_STR_ASCII];
  t->str_compact_data = b->table >= 15 ? v[D_STR_COMPACT] : v[D_STR_ASCII] + 16;
  t->str_state_shift = b->str_shift;
  t->bytes_size = v[D_BYTES_OBSIZE];
  t->bytes_data = v[D_BYTES_SVAL];
  t->tp_name = v[D_TP_NAME];
  t->tp_flags = v[D_TP_FLAGS];
  t->tp_basicsize = b->table >= 15 ? v[D_TP_BASICSIZE] : 32 + grow;
  t->tp_dictoffset = b->table >= 15 ? v[D_TP_DICTOFFSET] : 288 + grow;
  t->ht_cached_keys = b->ht_cached_keys;
  t->dict_kind = DICT_311;
  t->attr_kind = ATTR_INLINE_313;
  t->int_kind = INT_LONG_TAG;
  t->dict_keys = v[D_DICT_KEYS];
  t->dict_values = v[D_DICT_VALUES];
  t->values_header = 8;
  t->managed_dict = b->ft ? -8 : -24; /* MANAGED_DICT_OFFSET: no GC links before a free-threaded object */
  t->long_size = v[D_LONG_TAG];
  t->long_digit = v[D_LONG_DIGIT];
  t->mod_dict = 16 + grow;
}
#endif
