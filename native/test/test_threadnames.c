/*
 * Unit tests of threadnames.c over synthetic memory images: sys.modules ->
 * threading -> _active -> Thread objects, with every way a Thread keeps its
 * attributes (2.7/3.6-3.10 instance dicts, 3.11 values before the object,
 * 3.12 tagged values, 3.13 inline values, materialised dicts), plus garbage
 * that must fail cleanly. Built with sanitizers by test/threadnames_native.test.ts.
 */
#include <stdio.h>
#include "image.h"
#include "../src/threadnames.h"
#include "../src/layouts.h"

static int passed, failed;
#define CHECK(c, ...) do { if (c) passed++; else { failed++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)

typedef struct {
  image im;
  const py_layout *l;
  tn_layout tl;
  uint64_t t_dict, t_str, t_module, t_int, t_thread;
} world;

static uint64_t cstr(world *w, const char *s) {
  uint64_t a = img_alloc(&w->im, strlen(s) + 1);
  memcpy(img_at(&w->im, a), s, strlen(s) + 1);
  return a;
}

static uint64_t mktype(world *w, const char *name, uint64_t flags, int64_t basicsize, int64_t dictoffset) {
  uint64_t t = img_alloc(&w->im, 1024);
  img_w64(&w->im, t + 24, cstr(w, name));
  img_w64(&w->im, t + 32, (uint64_t)basicsize);
  img_w64(&w->im, t + 168, flags);
  img_w64(&w->im, t + 288, (uint64_t)dictoffset);
  return t;
}

static uint64_t obj(world *w, uint64_t type, size_t size) {
  uint64_t a = img_alloc(&w->im, 32 + size) + 32; /* room for the 3.11+ pre-header */
  img_w64(&w->im, a + 8, type);
  return a;
}

static uint64_t str(world *w, const char *s) {
  /* 3.x str holds code points: decode the UTF-8 test literal; 2.7 keeps the bytes. */
  uint32_t cps[256];
  size_t n = 0;
  for (const uint8_t *p = (const uint8_t *)s; *p && n < 256; n++) {
    if (w->l->major == 2 || *p < 0x80) cps[n] = *p++;
    else if (*p < 0xe0) { cps[n] = (uint32_t)(p[0] & 0x1f) << 6 | (p[1] & 0x3f); p += 2; }
    else if (*p < 0xf0) { cps[n] = (uint32_t)(p[0] & 0x0f) << 12 | (uint32_t)(p[1] & 0x3f) << 6 | (p[2] & 0x3f); p += 3; }
    else { cps[n] = (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3f) << 12 | (uint32_t)(p[2] & 0x3f) << 6 | (p[3] & 0x3f); p += 4; }
  }
  uint64_t a = img_str_cp(&w->im, w->l, cps, n);
  img_w64(&w->im, a + 8, w->t_str);
  return a;
}

static uint64_t pyint(world *w, uint64_t v) {
  uint64_t a = obj(w, w->t_int, 40);
  if (w->l->major == 2) { img_w64(&w->im, a + 16, v); return a; }
  int n = 0;
  for (uint64_t x = v; x; x >>= 30) img_w32(&w->im, a + 24 + 4 * (uint64_t)n++, (uint32_t)(x & 0x3fffffff));
  img_w64(&w->im, a + 16, w->l->minor >= 12 ? (uint64_t)n << 3 : (uint64_t)n);
  return a;
}

/* A dict-keys table (3.6+) of n entries; kind 0 general, 1 unicode, 2 split (no values stored). */
static uint64_t mkkeys(world *w, int kind, int n, const uint64_t *k, const uint64_t *v) {
  uint64_t a = img_alloc(&w->im, 48 + 8 + 24 * 8);
  if (w->l->minor >= 11) {
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

static uint64_t mkdict(world *w, int n, const uint64_t *k, const uint64_t *v, int unicode) {
  uint64_t d = obj(w, w->t_dict, 48);
  if (w->l->major == 2) {
    uint64_t table = img_alloc(&w->im, 8 * 24);
    for (int i = 0; i < n; i++) {
      img_w64(&w->im, table + (uint64_t)(24 * (i * 3 % 8)) + 8, k[i]); /* scattered slots */
      img_w64(&w->im, table + (uint64_t)(24 * (i * 3 % 8)) + 16, v[i]);
    }
    img_w64(&w->im, d + 32, 7);
    img_w64(&w->im, d + 40, table);
    return d;
  }
  img_w64(&w->im, d + 32, mkkeys(w, unicode && w->l->minor >= 11 ? 1 : 0, n, k, v));
  return d;
}

static uint64_t values_arr(world *w, int n, const uint64_t *v, int hdr) {
  uint64_t a = img_alloc(&w->im, (size_t)(hdr + 8 * n + 8));
  if (hdr) { img_w8(&w->im, a, (uint8_t)n); img_w8(&w->im, a + 1, (uint8_t)n); img_w8(&w->im, a + 2, 1); img_w8(&w->im, a + 3, 1); }
  for (int i = 0; i < n; i++) img_w64(&w->im, a + (uint64_t)hdr + 8 * (uint64_t)i, v[i]);
  return a;
}

/* A Thread whose name is kept the way `mode` says (0 = dict, 1 = shared values). */
static uint64_t thread(world *w, const char *name, int mode) {
  const char *attr = w->l->major == 2 ? "_Thread__name" : "_name";
  uint64_t k[3] = {str(w, "_target"), str(w, attr), str(w, "_ident")};
  uint64_t v[3] = {str(w, "x"), str(w, name), str(w, "y")};
  uint64_t t = obj(w, w->t_thread, 64);
  if (w->l->major == 2 || w->l->minor <= 10 || mode == 0) {
    uint64_t d = mkdict(w, 3, k, v, 1);
    if (w->l->major == 2 || w->l->minor <= 10) img_w64(&w->im, t + 16, d);
    else img_w64(&w->im, t - 24, d); /* materialised dict (3.13: with invalid inline values, zeroed) */
    return t;
  }
  uint64_t keys = mkkeys(w, 2, 3, k, 0);
  img_w64(&w->im, w->t_thread + (uint64_t)w->tl.ht_cached_keys, keys);
  if (w->l->minor == 11) img_w64(&w->im, t - 32, values_arr(w, 3, v, 0));
  else if (w->l->minor == 12) img_w64(&w->im, t - 24, values_arr(w, 3, v, 0) - 1);
  else { /* 3.13 inline values right after the 16-byte object */
    img_w8(&w->im, t + 16, 3); img_w8(&w->im, t + 19, 1);
    for (int i = 0; i < 3; i++) img_w64(&w->im, t + 24 + 8 * (uint64_t)i, v[i]);
  }
  return t;
}

static void run(int major, int minor) {
  world w = {0};
  img_init(&w.im, 1 << 20);
  w.l = layout_for(major, minor, 0);
  char tag[16];
  snprintf(tag, sizeof tag, "%d.%d", major, minor);
  CHECK(w.l && tn_layout_for(major, minor, &w.tl) == 0, "%s: layouts", tag);
  if (!w.l) return;
  w.t_dict = mktype(&w, "dict", 0, 48, 0);
  w.t_str = mktype(&w, "str", 0, 0, 0);
  w.t_module = mktype(&w, "module", 0, 0, 0);
  w.t_int = mktype(&w, major == 2 ? "int" : "int", 0, 0, 0);
  uint64_t flags = minor >= 13 ? (1u << 2) | (1u << 4) : minor >= 11 ? (1u << 4) : 0;
  w.t_thread = mktype(&w, "Thread", flags, minor >= 11 ? 16 : 32, minor >= 11 && major == 3 ? -1 : 16);

  const char *names[3] = {"MainThread", "worker \xc3\xa9\xe7\xba\xbf\xf0\x9f\x98\x80", "shared"};
  uint64_t ids[3] = {0x7f0011223344ull, 140245812938560ull, 7};
  uint64_t keys[3], vals[3];
  for (int i = 0; i < 3; i++) { keys[i] = pyint(&w, ids[i]); vals[i] = thread(&w, names[i], i == 2); }
  uint64_t active = mkdict(&w, 3, keys, vals, 0);
  uint64_t mk[2] = {str(&w, "_limbo"), str(&w, "_active")}, mv[2] = {mkdict(&w, 0, 0, 0, 1), active};
  uint64_t mod = obj(&w, w.t_module, 32);
  img_w64(&w.im, mod + 16, mkdict(&w, 2, mk, mv, 1));
  uint64_t sk[3] = {str(&w, "sys"), str(&w, "threadinx"), str(&w, "threading")};
  uint64_t sv[3] = {mod, mod + 1, mod};
  uint64_t interp = img_alloc(&w.im, 8192);
  img_w64(&w.im, interp + (uint64_t)w.tl.interp_modules, mkdict(&w, 3, sk, sv, 1));

  memsrc m;
  memsrc_init_image(&m, w.im.mem, w.im.len, w.im.base);
  tn_cache c = {0};
  tn_entry *e = calloc(8, sizeof *e);
  for (int round = 0; round < 2; round++) { /* the second round runs from the cache */
    int n = threadnames_read(&m, w.l, &w.tl, &c, interp, e, 8);
    CHECK(n == 3, "%s round %d: %d names", tag, round, n);
    for (int i = 0; i < 3; i++) {
      int found = 0;
      for (int j = 0; j < n; j++)
        if (e[j].ident == ids[i]) { found = 1; CHECK(strcmp(e[j].name, names[i]) == 0, "%s: name %d is '%s'", tag, i, e[j].name); }
      CHECK(found, "%s: ident %d found", tag, i);
    }
  }
  CHECK(c.active == active, "%s: _active cached", tag);

  /* Garbage: a torn keys pointer in _active and a modules pointer into nowhere fail cleanly. */
  uint64_t saved;
  memcpy(&saved, img_at(&w.im, active + 32), 8);
  img_w64(&w.im, active + 32, 0x10);
  CHECK(threadnames_read(&m, w.l, &w.tl, &c, interp, e, 8) == -1, "%s: torn _active fails", tag);
  img_w64(&w.im, active + 32, saved);
  tn_cache fresh = {0};
  img_w64(&w.im, interp + (uint64_t)w.tl.interp_modules, 0xdeadbeef000ull);
  CHECK(threadnames_read(&m, w.l, &w.tl, &fresh, interp, e, 8) == -1, "%s: bad modules fails", tag);
  /* No threading module: no names, not an error. */
  uint64_t only_sys[1] = {sk[0]}, only_mod[1] = {mod};
  img_w64(&w.im, interp + (uint64_t)w.tl.interp_modules, mkdict(&w, 1, only_sys, only_mod, 1));
  CHECK(threadnames_read(&m, w.l, &w.tl, &fresh, interp, e, 8) == 0, "%s: no threading, no names", tag);
  /* Random bytes everywhere: never a crash. */
  srand(minor);
  for (int i = 0; i < 200; i++) {
    uint64_t at = w.im.base + 4096 + (uint64_t)(rand() % (int)(w.im.top - 4096));
    img_w8(&w.im, at, (uint8_t)rand());
    tn_cache cc = {0};
    threadnames_read(&m, w.l, &w.tl, &cc, interp, e, 8);
  }
  free(e);
  free(w.im.mem);
}

int main(void) {
  int v[][2] = {{2, 7}, {3, 6}, {3, 7}, {3, 8}, {3, 9}, {3, 10}, {3, 11}, {3, 12}, {3, 13}};
  for (unsigned i = 0; i < sizeof v / sizeof v[0]; i++) run(v[i][0], v[i][1]);
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
