/*
 * Unit tests of otelctx.c's per-thread read over synthetic memory images
 * (names_image.h): thread state -> Context -> HAMT -> OpenTelemetry Context
 * dict -> span -> SpanContext tuple -> ids, for every built-in row that reads
 * trace context (3.7-3.14 GIL builds). The HAMT shapes: the entry in a bitmap
 * root, under an array node, and in a collision node (two keys sharing the
 * ContextVar's 32-bit hash), plus collision nodes that must not match or must
 * fail cleanly. Built with sanitizers by test/otelctx_native.test.ts.
 */
#include <stdio.h>
#include "names_image.h"
#include "../src/otelctx.h"
#include "../src/layouts.h"

static int passed, failed;
#define CHECK(c, ...) do { if (c) passed++; else { failed++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)

#define TRACE_ID 0x1234567890abcdefull
#define SPAN_ID 0x0fedcba987654321ull
#define HASH 0x2a5u /* the ContextVar's folded hash: slot 5 at level 0, 21 at level 1 */

typedef struct {
  nworld w;
  uint64_t t_tuple, cvar, other, otel_ctx, tstate, hamt;
  otel_cache c;
} oworld;

static uint64_t var_obj(oworld *o, uint64_t type, size_t n, const uint64_t *items) {
  uint64_t a = nw_obj(&o->w, type, 16 + 8 * n);
  img_w64(&o->w.im, a + o->w.l->var_size, n);
  for (size_t i = 0; i < n; i++) img_w64(&o->w.im, a + (uint64_t)o->w.l->hamt_entries + 8 * i, items[i]);
  return a;
}

/* A HAMT bitmap node holding one pair in the slot `idx`. */
static uint64_t bitmap_node(oworld *o, uint32_t idx, uint64_t key, uint64_t val) {
  uint64_t kv[2] = {key, val}, t = nw_type(&o->w, "hamt_bitmap_node", 0, 0, 0);
  uint64_t n = var_obj(o, t, 2, kv);
  img_w32(&o->w.im, n + (uint64_t)o->w.l->hamt_bitmap, 1u << idx);
  return n;
}

/* A collision node of n keys/values sharing `hash`. */
static uint64_t collision_node(oworld *o, uint32_t hash, size_t n, const uint64_t *kv) {
  uint64_t node = var_obj(o, nw_type(&o->w, "hamt_collision_node", 0, 0, 0), 2 * n, kv);
  img_w32(&o->w.im, node + (uint64_t)o->w.l->hamt_bitmap, hash);
  return node;
}

static void set_root(oworld *o, uint64_t root) { img_w64(&o->w.im, o->hamt + (uint64_t)o->w.l->hamt_root, root); }

static void build(oworld *o, const py_layout *l) {
  memset(o, 0, sizeof *o);
  nworld_init(&o->w, l);
  nworld_build(&o->w); /* str, int, dict and attribute-keeping types of this layout */
  nworld *w = &o->w;
  img_w64(&w->im, w->t_int + (uint64_t)l->tp_flags, 1ull << 24); /* Py_TPFLAGS_LONG_SUBCLASS: ids are ints */
  uint64_t t_cvar = nw_type(w, "ContextVar", 0, 0, 0);
  o->cvar = nw_obj(w, t_cvar, 64);
  o->other = nw_obj(w, t_cvar, 64);
  /* span._context: a SpanContext, a tuple subclass (trace_id, span_id, ...) */
  o->t_tuple = nw_type(w, "SpanContext", 1ull << 26, 0, 0);
  uint64_t sc = nw_obj(w, o->t_tuple, 64);
  img_w64(&w->im, sc + (uint64_t)l->var_size, 2);
  img_w64(&w->im, sc + (uint64_t)l->tuple_item, nw_int(w, TRACE_ID));
  img_w64(&w->im, sc + (uint64_t)l->tuple_item + 8, nw_int(w, SPAN_ID));
  /* the span: a Thread-shaped object (its type keeps attributes as this layout does), "_context" in its dict */
  uint64_t k = nw_str(w, "_context"), span = nw_obj(w, w->t_thread, 64), d = nw_dict(w, 1, &k, &sc, 1);
  img_w64(&w->im, span + (l->attr_kind == ATTR_DICTOFFSET ? 16 : (uint64_t)l->managed_dict), d);
  /* OpenTelemetry's Context: a dict subclass keyed by the _SPAN_KEY str */
  uint64_t span_key = nw_str(w, "current-span-0a1b");
  o->otel_ctx = nw_dict(w, 1, &span_key, &span, 1);
  img_w64(&w->im, o->otel_ctx + (uint64_t)l->ob_type, nw_type(w, "Context", 1ull << 29, 0, 0));
  /* contextvars: thread state -> Context -> HAMT */
  o->hamt = nw_obj(w, nw_type(w, "hamt", 0, 0, 0), 32);
  uint64_t pyctx = nw_obj(w, nw_type(w, "Context", 0, 0, 0), 32);
  img_w64(&w->im, pyctx + (uint64_t)l->ctx_vars, o->hamt);
  o->tstate = img_alloc(&w->im, (size_t)l->ts_context + 8);
  img_w64(&w->im, o->tstate + (uint64_t)l->ts_context, pyctx);
  o->c.cvar = o->cvar;
  o->c.cvar_type = t_cvar;
  o->c.cvar_hash = HASH;
  o->c.span_key = span_key;
}

static int read_ids(oworld *o, otel_ids *ids) {
  memsrc m;
  memsrc_init_image(&m, o->w.im.mem, o->w.im.len, o->w.im.base);
  memset(ids, 0, sizeof *ids);
  return otel_thread(&m, o->w.l, &o->c, o->tstate, ids);
}

static void expect_span(oworld *o, const char *tag, const char *what) {
  otel_ids ids;
  int rc = read_ids(o, &ids);
  CHECK(rc == 0 && ids.trace_hi == 0 && ids.trace_lo == TRACE_ID && ids.span == SPAN_ID, "%s %s: rc %d span %llx", tag,
        what, rc, (unsigned long long)ids.span);
}

static void expect_rc(oworld *o, int want, const char *tag, const char *what) {
  otel_ids ids;
  int rc = read_ids(o, &ids);
  CHECK(rc == want, "%s %s: rc %d, want %d", tag, what, rc, want);
}

static void run(int minor) {
  char tag[16];
  snprintf(tag, sizeof tag, "3.%d", minor);
  const py_layout *l = layout_for(3, minor, 0);
  CHECK(l && l->ts_context >= 0, "%s: a row that reads trace context", tag);
  if (!l || l->ts_context < 0) return;
  oworld o;
  build(&o, l);
  uint32_t slot0 = HASH & 0x1f, slot1 = (HASH >> 5) & 0x1f;

  set_root(&o, bitmap_node(&o, slot0, o.cvar, o.otel_ctx));
  expect_span(&o, tag, "entry in the bitmap root");
  set_root(&o, bitmap_node(&o, slot0, 0, bitmap_node(&o, slot1, o.cvar, o.otel_ctx)));
  expect_span(&o, tag, "entry one level down");
  uint64_t arr = nw_obj(&o.w, nw_type(&o.w, "hamt_array_node", 0, 0, 0), 8 * 33);
  img_w64(&o.w.im, arr + (uint64_t)l->hamt_nodes + 8 * slot0, bitmap_node(&o, slot1, o.cvar, o.otel_ctx));
  set_root(&o, arr);
  expect_span(&o, tag, "entry under an array node");

  /* Another ContextVar with the same 32-bit hash: both in a collision node under the root, either order. */
  uint64_t kv[6] = {o.other, o.other, o.cvar, o.otel_ctx, 0, 0};
  set_root(&o, bitmap_node(&o, slot0, 0, collision_node(&o, HASH, 2, kv)));
  expect_span(&o, tag, "collision node, second pair");
  uint64_t kv2[4] = {o.cvar, o.otel_ctx, o.other, o.other};
  set_root(&o, bitmap_node(&o, slot0, 0, collision_node(&o, HASH, 2, kv2)));
  expect_span(&o, tag, "collision node, first pair");
  set_root(&o, collision_node(&o, HASH, 2, kv2));
  expect_span(&o, tag, "collision node as the root");
  /* Not ours: another hash, or our hash without our key. */
  set_root(&o, bitmap_node(&o, slot0, 0, collision_node(&o, HASH ^ 0x400, 2, kv)));
  expect_rc(&o, 1, tag, "collision node of another hash");
  uint64_t kv3[4] = {o.other, o.other, o.other + 64, o.other};
  set_root(&o, bitmap_node(&o, slot0, 0, collision_node(&o, HASH, 2, kv3)));
  expect_rc(&o, 1, tag, "collision node without the key");
  /* Sizes from the target: odd, too small, too large, negative all fail without reading past the node. */
  int64_t bad[] = {5, 2, 2 * OTEL_MAX_COLLISION + 2, -4, 1ll << 40};
  for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    uint64_t node = collision_node(&o, HASH, 2, kv);
    img_w64(&o.w.im, node + (uint64_t)l->var_size, (uint64_t)bad[i]);
    set_root(&o, bitmap_node(&o, slot0, 0, node));
    expect_rc(&o, -1, tag, "collision node of a bad size");
  }
  /* A NULL value for our key is torn, not an empty span. */
  uint64_t kv4[4] = {o.other, o.other, o.cvar, 0};
  set_root(&o, bitmap_node(&o, slot0, 0, collision_node(&o, HASH, 2, kv4)));
  expect_rc(&o, -1, tag, "collision node with a NULL value");
  /* The largest collision node searched in full; the pair at its end found. */
  uint64_t big[2 * OTEL_MAX_COLLISION];
  for (int i = 0; i < 2 * OTEL_MAX_COLLISION; i++) big[i] = o.other;
  big[2 * OTEL_MAX_COLLISION - 2] = o.cvar;
  big[2 * OTEL_MAX_COLLISION - 1] = o.otel_ctx;
  set_root(&o, bitmap_node(&o, slot0, 0, collision_node(&o, HASH, OTEL_MAX_COLLISION, big)));
  expect_span(&o, tag, "the last pair of the largest collision node");
  free(o.w.im.mem);
}

int main(void) {
  for (int minor = 7; minor <= 14; minor++) run(minor);
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
