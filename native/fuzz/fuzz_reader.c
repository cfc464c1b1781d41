/*
 * libFuzzer target: every parser of target memory over arbitrary bytes — the
 * _Py_DebugOffsets decoder, the walker, code objects and line tables, str and
 * bytes objects, the thread-name dict/attribute/int readers, and the asyncio
 * task reader (registries, tasks, await chains, its debug-offsets decoder).
 *
 * Input: [0] mode: 0-9 a built-in row (2.7, 3.6 ... 3.14), 10 the target's
 * own _Py_DebugOffsets read from the image at root (as attach does);
 * [1] micro (3.7.0-3.7.3 have their own row); [2..7] spare; [8..15] root
 * offset; [16..23] _PyThreadState_Current offset, also where the lone object
 * readers start; then the memory image mapped at a fixed base. Seeds:
 * test_walker --write-seeds. Must never crash, hang or allocate without bound.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../include/gauge.h"
#include "../src/asyncio_tasks.h"
#include "../src/debug_offsets.h"
#include "../src/frames.h"
#include "../src/linetable.h"
#include "../src/pystring.h"
#include "../src/threadnames.h"
#include "../src/otelctx.h"
#include "../src/walker.h"

#define BASE 0x7f0000000000ull
#define MODES 11
#define MODE_DEBUG_OFFSETS 10

static const int ROWS[][2] = {{2, 7}, {3, 6}, {3, 7}, {3, 8}, {3, 9}, {3, 10}, {3, 11}, {3, 12}, {3, 13}, {3, 14}};

/* The block as attach reads it: up to DEBUG_OFFSETS_READ bytes at root, in a buffer of exactly that size. */
static int decode(const uint8_t *img, size_t len, uint64_t rootoff, py_layout *l) {
  if (rootoff > len) return -1;
  size_t n = len - rootoff < DEBUG_OFFSETS_READ ? len - rootoff : DEBUG_OFFSETS_READ;
  uint8_t *blk = malloc(n ? n : 1);
  if (!blk) return -1;
  memcpy(blk, img + rootoff, n);
  debug_offsets_info info;
  char why[200];
  (void)debug_offsets_version(blk, n);
  int rc = debug_offsets_layout(blk, n, l, &info, why, sizeof why);
  free(blk);
  if (rc == 0 && layout_check(l, 0, 0)) abort(); /* an accepted block must pass the gate every row passes */
  if (rc && !why[0]) abort();                    /* a refusal always says why */
  return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 24) return 0;
  uint64_t rootoff, tcur;
  memcpy(&rootoff, data + 8, 8);
  memcpy(&tcur, data + 16, 8);
  const uint8_t *img = data + 24;
  size_t len = size - 24;
  rootoff %= len + 1;
  uint64_t root = BASE + rootoff, obj = BASE + (tcur % (len + 1));

  py_layout lay;
  int mode = data[0] % MODES;
  if (mode == MODE_DEBUG_OFFSETS) {
    if (decode(img, len, rootoff, &lay)) return 0;
  } else {
    const py_layout *row = layout_for(ROWS[mode][0], ROWS[mode][1], data[1]);
    if (!row) abort();
    lay = *row;
  }
  const py_layout *l = &lay;

  memsrc m;
  memsrc_init_image(&m, img, len, BASE);
  frame_cache fc;
  walker w;
  if (frames_init(&fc)) return 0;
  int wi = walker_init(&w, &m, l, &fc, root, tcur ? obj : 0);
  if (wi == -2) abort(); /* built-in rows and accepted blocks pass layout_check */
  if (wi) { frames_free(&fc); return 0; }
  w.max_depth = 512;
  static uint32_t out[1 << 16];
  for (int i = 0; i < 2; i++) { /* twice: the second pass runs through the caches */
    int n = walker_sample(&w, (uint64_t)i, out, 1 << 16);
    if (n > 0 && (uint32_t)n != out[0]) abort();
  }
  walker_free(&w);
  frames_free(&fc);

  /* Thread names from the interpreter the root leads to, as gauge_thread_names finds it. */
  uint64_t interp = 0;
  int bad = l->root_is_interp_head ? mem_read_u64(&m, root, &interp)
                                   : mem_read_u64(&m, root + (uint64_t)l->rt_interp_head, &interp);
  static tn_entry names[8];
  if (!bad && interp && l->is_modules >= 0) {
    tn_cache c = {0};
    for (int i = 0; i < 2; i++) threadnames_read(&m, l, &c, interp, names, 8); /* the second from the cache */
  }

  /* The application's OpenTelemetry span: discovery through sys.modules, then the per-thread HAMT walk. */
  if (!bad && interp && l->ts_context >= 0) {
    otel_cache oc = {0};
    otel_ids ids;
    otel_discover(&m, l, &oc, interp);
    if (!oc.cvar) {
      /* Reach the HAMT walk even where discovery found nothing: a ContextVar and span key the input points at. */
      oc.cvar = obj;
      oc.span_key = BASE + (rootoff * 7) % (len + 1);
      if (mem_read_u64(&m, obj + (uint64_t)l->ob_type, &oc.cvar_type)) oc.cvar_type = 0;
      oc.cvar_hash = (uint32_t)tcur;
    }
    uint64_t ts = 0;
    if (mem_read_u64(&m, interp + (uint64_t)l->is_threads_head, &ts) == 0)
      for (int i = 0; i < 4 && ts; i++) {
        otel_thread(&m, l, &oc, ts, &ids);
        if (mem_read_u64(&m, ts + (uint64_t)l->ts_next, &ts)) break;
      }
    otel_thread(&m, l, &oc, obj, &ids);
    uint64_t hi, lo;
    otel_int128(&m, l, obj, &hi, &lo);
  }

  /* asyncio tasks: discovery through sys.modules, then again from a registry and task type the input points at. */
  const aio_layout *arow = l->major == 3 ? asyncio_layout_for(l->minor, l->free_threaded) : 0;
  if (!bad && interp && arow && frames_init(&fc) == 0) {
    aio_layout al = *arow;
    char why[160];
    if (asyncio_check(&al, why, sizeof why)) abort(); /* built-in rows pass their own gate */
    if ((data[2] & 1) && len >= 104) { /* the input's bytes as a .AsyncioDebug block */
      aio_layout t = al;
      if (asyncio_apply_debug_offsets(&t, img, len, why, sizeof why) == 0) al = t;
      else if (!why[0]) abort(); /* a refusal always says why */
    }
    aio_cache ac;
    aio_result res;
    memset(&ac, 0, sizeof ac);
    memset(&res, 0, sizeof res);
    asyncio_read_tasks(&m, l, &al, &ac, &fc, interp, 64, &res);
    memset(&ac, 0, sizeof ac);
    ac.all_tasks = obj;
    ac.eager_tasks = (data[2] & 2) ? root : 0;
    ac.ctask_type = BASE + (rootoff * 13) % (len + 1);
    asyncio_read_tasks(&m, l, &al, &ac, &fc, interp, 64, &res);
    if (res.ntasks > 64) abort(); /* the cap holds */
    asyncio_result_free(&res);
    frames_free(&fc);
  }

  /* The lone object readers at an address of the input's choosing. */
  uint64_t keyobj = 0, val, v;
  tn_dict_get(&m, l, obj, "_active", &keyobj, &val);
  keyobj = 0;
  tn_attr_get(&m, l, obj, "_name", &keyobj, &val);
  tn_int_read(&m, l, obj, &v);
  char s[PYSTR_MAX_CHARS * 4 + 1];
  pystr_read(&m, l, obj, s, sizeof s);
  pystr_read(&m, l, obj, s, 8); /* a short buffer: UTF-8 must stop whole */
  uint8_t *b;
  size_t blen;
  if (pybytes_read(&m, l, obj, &b, &blen, 1 << 20) == 0) free(b);

  /* Line-table decoders straight over the bytes. */
  for (int kind = LT_LNOTAB27; kind <= LT_LOCATIONS311; kind++)
    for (int64_t addr = -2; addr < 64; addr += 6) linetable_line(kind, img, len, (int)(rootoff & 0xffff), addr);
  return 0;
}
