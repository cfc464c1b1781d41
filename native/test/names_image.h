/*
 * A synthetic threading world for the thread-name reader: sys.modules ->
 * threading -> _active -> Thread objects, each Thread keeping its name the
 * way its layout does (instance dict, 3.11 values before the object, 3.12
 * tagged values pointer, 3.13+ inline values, or a materialised dict).
 * Written through the test's own layout (see image.h).
 */
#ifndef GAUGE_TEST_NAMES_IMAGE_H
#define GAUGE_TEST_NAMES_IMAGE_H
#include "image.h"

typedef struct {
  image im;
  const py_layout *l;
  uint64_t t_dict, t_str, t_module, t_int, t_thread;
  /* what nworld_build made, for tests that break it */
  uint64_t active, mod, sys_key, interp, threads[3];
  uint64_t attr_keys[3]; /* attribute names, interned: one str object each, shared by every Thread */
} nworld;

static const char *const NW_NAMES[3] = {"MainThread", "worker \xc3\xa9\xe7\xba\xbf\xf0\x9f\x98\x80", "shared"};
static const uint64_t NW_IDS[3] = {0x7f0011223344ull, 140245812938560ull, 7};

/* Object header growth over a GIL build's 16 bytes (free-threaded: 16). */
static inline int64_t nw_grow(const nworld *w) { return w->l->ob_type - 8; }

static inline uint64_t nw_cstr(nworld *w, const char *s) {
  uint64_t a = img_alloc(&w->im, strlen(s) + 1);
  memcpy(img_at(&w->im, a), s, strlen(s) + 1);
  return a;
}

static inline uint64_t nw_type(nworld *w, const char *name, uint64_t flags, int64_t basicsize, int64_t dictoffset) {
  const py_layout *l = w->l;
  uint64_t t = img_alloc(&w->im, LAYOUT_TYPE_MAX);
  img_w64(&w->im, t + l->tp_name, nw_cstr(w, name));
  img_w64(&w->im, t + l->tp_basicsize, (uint64_t)basicsize);
  img_w64(&w->im, t + l->tp_flags, flags);
  img_w64(&w->im, t + l->tp_dictoffset, (uint64_t)dictoffset);
  return t;
}

/* An object of `size` bytes past a GIL build's header, with room for the 3.11+ pre-header. */
static inline uint64_t nw_obj(nworld *w, uint64_t type, size_t size) {
  uint64_t a = img_alloc(&w->im, 32 + size + (size_t)nw_grow(w)) + 32;
  img_w64(&w->im, a + w->l->ob_type, type);
  return a;
}

static inline uint64_t nw_str(nworld *w, const char *s) {
  /* 3.x str holds code points: decode the UTF-8 test literal; 2.7 keeps the bytes. */
  uint32_t cps[256];
  size_t n = 0;
  for (const uint8_t *p = (const uint8_t *)s; *p && n < 256; n++) {
    if (w->l->string_kind == STR_PY2 || *p < 0x80) cps[n] = *p++;
    else if (*p < 0xe0) { cps[n] = (uint32_t)(p[0] & 0x1f) << 6 | (p[1] & 0x3f); p += 2; }
    else if (*p < 0xf0) { cps[n] = (uint32_t)(p[0] & 0x0f) << 12 | (uint32_t)(p[1] & 0x3f) << 6 | (p[2] & 0x3f); p += 3; }
    else { cps[n] = (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3f) << 12 | (uint32_t)(p[2] & 0x3f) << 6 | (p[3] & 0x3f); p += 4; }
  }
  uint64_t a = img_str_cp(&w->im, w->l, cps, n);
  img_w64(&w->im, a + w->l->ob_type, w->t_str);
  return a;
}

static inline uint64_t nw_int(nworld *w, uint64_t v) {
  const py_layout *l = w->l;
  uint64_t a = nw_obj(w, w->t_int, 40);
  if (l->int_kind == INT_PY2) { img_w64(&w->im, a + l->long_digit, v); return a; }
  int n = 0;
  for (uint64_t x = v; x; x >>= 30) img_w32(&w->im, a + l->long_digit + 4 * (uint64_t)n++, (uint32_t)(x & 0x3fffffff));
  img_w64(&w->im, a + l->long_size, l->int_kind == INT_LONG_TAG ? (uint64_t)n << 3 : (uint64_t)n);
  return a;
}

/* A dict-keys table (3.6+) of n entries; kind 0 general, 1 unicode, 2 split (no values stored). */
static inline uint64_t nw_keys(nworld *w, int kind, int n, const uint64_t *k, const uint64_t *v) {
  uint64_t a = img_alloc(&w->im, 48 + 8 + 24 * 8);
  if (w->l->dict_kind == DICT_311) {
    img_w8(&w->im, a + 8, 3);
    img_w8(&w->im, a + 9, 3);
    img_w8(&w->im, a + 10, (uint8_t)kind);
    img_w64(&w->im, a + 24, (uint64_t)n);
    int es = kind ? 16 : 24;
    for (int i = 0; i < n; i++) {
      uint64_t e = a + 40 + (uint64_t)(i * es);
      img_w64(&w->im, e + (kind ? 0 : 8), k[i]);
      if (kind != 2) img_w64(&w->im, e + (kind ? 8 : 16), v[i]);
    }
  } else {
    img_w64(&w->im, a + 8, 8);
    img_w64(&w->im, a + 32, (uint64_t)n);
    for (int i = 0; i < n; i++) {
      img_w64(&w->im, a + 48 + (uint64_t)(24 * i) + 8, k[i]);
      if (kind != 2) img_w64(&w->im, a + 48 + (uint64_t)(24 * i) + 16, v[i]);
    }
  }
  return a;
}

static inline uint64_t nw_dict(nworld *w, int n, const uint64_t *k, const uint64_t *v, int unicode) {
  uint64_t d = nw_obj(w, w->t_dict, 48);
  if (w->l->dict_kind == DICT_27) { /* ma_mask at 32, ma_table at 40 */
    uint64_t table = img_alloc(&w->im, 8 * 24);
    for (int i = 0; i < n; i++) {
      img_w64(&w->im, table + (uint64_t)(24 * (i * 3 % 8)) + 8, k[i]); /* scattered slots */
      img_w64(&w->im, table + (uint64_t)(24 * (i * 3 % 8)) + 16, v[i]);
    }
    img_w64(&w->im, d + 32, 7);
    img_w64(&w->im, d + 40, table);
    return d;
  }
  img_w64(&w->im, d + w->l->dict_keys, nw_keys(w, unicode && w->l->dict_kind == DICT_311 ? 1 : 0, n, k, v));
  return d;
}

static inline uint64_t nw_values(nworld *w, int n, const uint64_t *v, int hdr) {
  uint64_t a = img_alloc(&w->im, (size_t)(hdr + 8 * n + 8));
  if (hdr) { img_w8(&w->im, a, (uint8_t)n); img_w8(&w->im, a + 1, (uint8_t)n); img_w8(&w->im, a + 2, 1); img_w8(&w->im, a + 3, 1); }
  for (int i = 0; i < n; i++) img_w64(&w->im, a + (uint64_t)hdr + 8 * (uint64_t)i, v[i]);
  return a;
}

/* A Thread whose name is kept in a dict (shared = 0) or in shared-key values (shared = 1, 3.11+). */
static inline uint64_t nw_thread(nworld *w, const char *name, int shared) {
  const py_layout *l = w->l;
  const char *attr = l->string_kind == STR_PY2 ? "_Thread__name" : "_name";
  if (!w->attr_keys[0]) {
    w->attr_keys[0] = nw_str(w, "_target");
    w->attr_keys[1] = nw_str(w, attr);
    w->attr_keys[2] = nw_str(w, "_ident");
  }
  const uint64_t *k = w->attr_keys;
  uint64_t v[3] = {nw_str(w, "x"), nw_str(w, name), nw_str(w, "y")};
  uint64_t t = nw_obj(w, w->t_thread, 64);
  if (l->attr_kind == ATTR_DICTOFFSET || !shared) {
    uint64_t d = nw_dict(w, 3, k, v, 1);
    if (l->attr_kind == ATTR_DICTOFFSET) img_w64(&w->im, t + 16, d);
    else img_w64(&w->im, t + (uint64_t)l->managed_dict, d); /* materialised dict (3.13+: inline values left invalid) */
    return t;
  }
  uint64_t keys = nw_keys(w, 2, 3, k, 0);
  img_w64(&w->im, w->t_thread + (uint64_t)l->ht_cached_keys, keys);
  if (l->attr_kind == ATTR_MANAGED_311) img_w64(&w->im, t + (uint64_t)l->managed_dict - 8, nw_values(w, 3, v, 0));
  else if (l->attr_kind == ATTR_MANAGED_312) img_w64(&w->im, t + (uint64_t)l->managed_dict, nw_values(w, 3, v, 0) - 1);
  else { /* inline values right after the object: capacity, ..., valid; then the values */
    uint64_t vals = t + 16 + (uint64_t)nw_grow(w);
    img_w8(&w->im, vals, 3);
    img_w8(&w->im, vals + 3, 1);
    for (int i = 0; i < 3; i++) img_w64(&w->im, vals + (uint64_t)l->values_header + 8 * (uint64_t)i, v[i]);
  }
  return t;
}

static inline void nworld_init(nworld *w, const py_layout *l) {
  memset(w, 0, sizeof *w);
  img_init(&w->im, 1 << 20);
  w->l = l;
}

/* Three named threads in threading._active; returns the interpreter. */
static inline uint64_t nworld_build(nworld *w) {
  const py_layout *l = w->l;
  int64_t hdr = 16 + nw_grow(w);
  w->t_dict = nw_type(w, "dict", 0, 48, 0);
  w->t_str = nw_type(w, "str", 0, 0, 0);
  w->t_module = nw_type(w, "module", 0, 0, 0);
  w->t_int = nw_type(w, "int", 0, 0, 0);
  uint64_t flags = l->attr_kind == ATTR_INLINE_313 ? (1u << 2) | (1u << 4) : l->attr_kind != ATTR_DICTOFFSET ? (1u << 4) : 0;
  w->t_thread = nw_type(w, "Thread", flags, l->attr_kind != ATTR_DICTOFFSET ? hdr : 32,
                        l->attr_kind != ATTR_DICTOFFSET ? -1 : 16);
  uint64_t keys[3], vals[3];
  for (int i = 0; i < 3; i++) {
    keys[i] = nw_int(w, NW_IDS[i]);
    w->threads[i] = vals[i] = nw_thread(w, NW_NAMES[i], i == 2);
  }
  w->active = nw_dict(w, 3, keys, vals, 0);
  uint64_t mk[2] = {nw_str(w, "_limbo"), nw_str(w, "_active")}, mv[2] = {nw_dict(w, 0, 0, 0, 1), w->active};
  w->mod = nw_obj(w, w->t_module, 32);
  img_w64(&w->im, w->mod + l->mod_dict, nw_dict(w, 2, mk, mv, 1));
  uint64_t sk[3] = {nw_str(w, "sys"), nw_str(w, "threadinx"), nw_str(w, "threading")};
  uint64_t sv[3] = {w->mod, w->mod + 1, w->mod};
  w->sys_key = sk[0];
  w->interp = img_alloc(&w->im, (size_t)(l->is_modules > 8192 ? l->is_modules : 8192) + 64);
  img_w64(&w->im, w->interp + (uint64_t)l->is_modules, nw_dict(w, 3, sk, sv, 1));
  return w->interp;
}

/* Save the world as a fuzz seed (image.h): a root leading to the interpreter (after `block`, the target's
 * _Py_DebugOffsets, when given), the Thread with shared-key values as the lone object. */
static inline void nworld_seed(nworld *w, const char *dir, const char *name, int mode, const uint8_t *block, size_t blen) {
  if (!dir) return;
  const py_layout *l = w->l;
  uint64_t root;
  if (l->root_is_interp_head) {
    root = img_alloc(&w->im, 8);
    img_w64(&w->im, root, w->interp);
  } else {
    root = img_alloc(&w->im, 2048);
    if (block) memcpy(img_at(&w->im, root), block, blen);
    img_w64(&w->im, root + (uint64_t)l->rt_interp_head, w->interp);
  }
  img_write_seed(dir, name, mode, &w->im, root, w->threads[2]);
}
#endif
