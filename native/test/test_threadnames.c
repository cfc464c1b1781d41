/*
 * Unit tests of threadnames.c over synthetic memory images (names_image.h):
 * every way a Thread keeps its attributes in the built-in rows (2.7/3.6-3.10
 * instance dicts, 3.11 values before the object, 3.12 tagged values, 3.13+
 * inline values, materialised dicts), plus garbage that must fail cleanly.
 * Built with sanitizers by test/threadnames_native.test.ts; test_walker.c
 * runs the same world through layouts decoded from _Py_DebugOffsets.
 */
#include <stdio.h>
#include "names_image.h"
#include "../src/threadnames.h"
#include "../src/layouts.h"

static int passed, failed;
static int (*image_readv)(memsrc *, mem_req *, int);
static int readv_calls; /* calls into the memory source: what a process source pays one system call each for */
static int counting_readv(memsrc *m, mem_req *reqs, int n) {
  readv_calls++;
  return image_readv(m, reqs, n);
}
static const char *seed_dir; /* --write-seeds DIR: save each world as a fuzz seed */
#define CHECK(c, ...) do { if (c) passed++; else { failed++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)

/* Where the builder put a dict-kept Thread's dict pointer, and the name's value slot in that dict (names_image.h). */
static uint64_t dict_ptr_at(nworld *w, uint64_t t) {
  return w->l->attr_kind == ATTR_DICTOFFSET ? t + 16 : t + (uint64_t)w->l->managed_dict;
}
static uint64_t name_slot(nworld *w, uint64_t t) {
  const py_layout *l = w->l;
  uint64_t d;
  memcpy(&d, img_at(&w->im, dict_ptr_at(w, t)), 8);
  if (l->dict_kind == DICT_27) {
    uint64_t table;
    memcpy(&table, img_at(&w->im, d + 40), 8);
    return table + 24 * 3 + 16; /* entry 1 in slot 1 * 3 % 8 */
  }
  uint64_t keys;
  memcpy(&keys, img_at(&w->im, d + (uint64_t)l->dict_keys), 8);
  return l->dict_kind == DICT_311 ? keys + 40 + 16 + 8 : keys + 48 + 24 + 16;
}

static const char *name_of(const tn_entry *e, int n, uint64_t ident) {
  for (int j = 0; j < n; j++)
    if (e[j].ident == ident) return e[j].name;
  return 0;
}

/* Names kept between refreshes: unchanged ones cost one batch, a rename, a new dict or a thread gone are seen. */
static void run_memo(const char *tag, const py_layout *l) {
  nworld w;
  nworld_init(&w, l);
  uint64_t interp = nworld_build(&w);
  memsrc m;
  memsrc_init_image(&m, w.im.mem, w.im.len, w.im.base);
  image_readv = m.readv;
  m.readv = counting_readv;
  tn_cache c = {0};
  CHECK(threadnames_memo_on(&c) == 0, "%s: memo", tag);
  tn_entry *e = calloc(8, sizeof *e);
  int calls[3];
  for (int round = 0; round < 3; round++) {
    readv_calls = 0;
    int n = threadnames_read(&m, l, &c, interp, e, 8);
    calls[round] = readv_calls;
    CHECK(n == 3 && c.memo->n == 3, "%s memo round %d: %d names, %d kept", tag, round, n, c.memo->n);
    for (int i = 0; i < 3; i++) {
      const char *got = name_of(e, n, NW_IDS[i]);
      CHECK(got && !strcmp(got, NW_NAMES[i]), "%s memo round %d: name %d is '%s'", tag, round, i, got ? got : "(none)");
    }
  }
  /* From the memo: _active's table (4 reads), its type (3), one batch for every thread's path; a full read takes
     about 10 a thread. */
  CHECK(calls[1] <= 8 && calls[2] == calls[1] && calls[0] >= calls[1] + 3 * 5, "%s: reads %d, then %d, %d", tag,
        calls[0], calls[1], calls[2]);

  /* Renamed in place: the name's slot holds another str. */
  img_w64(&w.im, name_slot(&w, w.threads[1]), nw_str(&w, "renamed"));
  int n = threadnames_read(&m, l, &c, interp, e, 8);
  const char *got = name_of(e, n, NW_IDS[1]);
  CHECK(got && !strcmp(got, "renamed"), "%s: rename seen: '%s'", tag, got ? got : "(none)");
  got = name_of(e, n, NW_IDS[0]);
  CHECK(got && !strcmp(got, NW_NAMES[0]), "%s: the others stay", tag);

  /* A new dict (resized, replaced) whose name is elsewhere. */
  const uint64_t *k = w.attr_keys;
  uint64_t v[3] = {nw_str(&w, "x"), nw_str(&w, "in a new dict"), nw_str(&w, "y")};
  img_w64(&w.im, dict_ptr_at(&w, w.threads[0]), nw_dict(&w, 3, k, v, 1));
  n = threadnames_read(&m, l, &c, interp, e, 8);
  got = name_of(e, n, NW_IDS[0]);
  CHECK(got && !strcmp(got, "in a new dict"), "%s: new dict seen: '%s'", tag, got ? got : "(none)");

  /* A thread gone from _active: gone from the names and the memo. */
  uint64_t ids[2] = {nw_int(&w, NW_IDS[0]), nw_int(&w, NW_IDS[2])}, objs[2] = {w.threads[0], w.threads[2]};
  uint64_t smaller = nw_dict(&w, 2, ids, objs, 0);
  uint64_t keys_at = l->dict_kind == DICT_27 ? w.active + 40 : w.active + (uint64_t)l->dict_keys;
  memcpy(img_at(&w.im, keys_at), img_at(&w.im, l->dict_kind == DICT_27 ? smaller + 40 : smaller + (uint64_t)l->dict_keys), 8);
  n = threadnames_read(&m, l, &c, interp, e, 8);
  CHECK(n == 2 && c.memo->n == 2 && !name_of(e, n, NW_IDS[1]), "%s: exited thread dropped (%d names, %d kept)", tag, n,
        c.memo->n);
  got = name_of(e, n, NW_IDS[2]);
  CHECK(got && !strcmp(got, NW_NAMES[2]), "%s: shared-key name after the exit", tag);

  /* Random bytes with the memo in use: never a crash, never a name longer than its buffer. */
  srand((unsigned)l->minor + 100);
  for (int i = 0; i < 300; i++) {
    uint64_t at = w.im.base + 4096 + (uint64_t)(rand() % (int)(w.im.top - 4096));
    img_w8(&w.im, at, (uint8_t)rand());
    int r = threadnames_read(&m, l, &c, interp, e, 8);
    for (int j = 0; j < r; j++) CHECK(memchr(e[j].name, 0, sizeof e[j].name), "%s: name terminated", tag);
  }
  threadnames_free(&c);
  CHECK(c.memo == 0, "%s: memo freed", tag);
  free(e);
  free(w.im.mem);
}

static void run(int mode, int major, int minor) {
  char tag[16];
  snprintf(tag, sizeof tag, "%d.%d", major, minor);
  const py_layout *l = layout_for(major, minor, 0);
  CHECK(l && layout_check(l, 0, 0) == 0 && l->is_modules >= 0, "%s: layout", tag);
  if (!l) return;
  nworld w;
  nworld_init(&w, l);
  uint64_t interp = nworld_build(&w);
  uint64_t active = w.active;

  memsrc m;
  memsrc_init_image(&m, w.im.mem, w.im.len, w.im.base);
  tn_cache c = {0};
  tn_entry *e = calloc(8, sizeof *e);
  for (int round = 0; round < 2; round++) { /* the second round runs from the cache */
    int n = threadnames_read(&m, l, &c, interp, e, 8);
    CHECK(n == 3, "%s round %d: %d names", tag, round, n);
    for (int i = 0; i < 3; i++) {
      int found = 0;
      for (int j = 0; j < n; j++)
        if (e[j].ident == NW_IDS[i]) { found = 1; CHECK(strcmp(e[j].name, NW_NAMES[i]) == 0, "%s: name %d is '%s'", tag, i, e[j].name); }
      CHECK(found, "%s: ident %d found", tag, i);
    }
  }
  CHECK(c.active == active, "%s: _active cached", tag);
  char seed[32];
  snprintf(seed, sizeof seed, "names-%s", tag);
  nworld_seed(&w, seed_dir, seed, mode, 0, 0);

  /* The low-level readers on their own. */
  uint64_t val = 0, keyobj = 0;
  CHECK(tn_dict_get(&m, l, active, "nope", &keyobj, &val) == 1, "%s: absent key found", tag);
  uint64_t one = nw_int(&w, 1ull << 40), got = 0;
  CHECK(tn_int_read(&m, l, one, &got) == 0 && got == 1ull << 40, "%s: int 2**40 read as %llu", tag, (unsigned long long)got);
  CHECK(tn_attr_get(&m, l, w.mod, "_name", &keyobj, &val) != 0, "%s: a module has no _name here", tag);

  /* Garbage: a torn keys pointer in _active and a modules pointer into nowhere fail cleanly. */
  uint64_t keys_at = l->dict_kind == DICT_27 ? active + 40 : active + (uint64_t)l->dict_keys;
  uint64_t saved;
  memcpy(&saved, img_at(&w.im, keys_at), 8);
  img_w64(&w.im, keys_at, 0x10);
  CHECK(threadnames_read(&m, l, &c, interp, e, 8) == -1, "%s: torn _active fails", tag);
  img_w64(&w.im, keys_at, saved);
  tn_cache fresh = {0};
  img_w64(&w.im, interp + (uint64_t)l->is_modules, 0xdeadbeef000ull);
  CHECK(threadnames_read(&m, l, &fresh, interp, e, 8) == -1, "%s: bad modules fails", tag);
  /* No threading module: no names, not an error. */
  uint64_t only_sys[1] = {w.sys_key}, only_mod[1] = {w.mod};
  img_w64(&w.im, interp + (uint64_t)l->is_modules, nw_dict(&w, 1, only_sys, only_mod, 1));
  CHECK(threadnames_read(&m, l, &fresh, interp, e, 8) == 0, "%s: no threading, no names", tag);
  /* Random bytes everywhere: never a crash. */
  srand((unsigned)minor);
  for (int i = 0; i < 200; i++) {
    uint64_t at = w.im.base + 4096 + (uint64_t)(rand() % (int)(w.im.top - 4096));
    img_w8(&w.im, at, (uint8_t)rand());
    tn_cache cc = {0};
    threadnames_read(&m, l, &cc, interp, e, 8);
  }
  free(e);
  free(w.im.mem);
  run_memo(tag, l);
}

int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "--write-seeds")) seed_dir = argv[2];
  /* in the fuzz target's mode order: 2.7, 3.6 ... 3.14 */
  int v[][2] = {{2, 7}, {3, 6}, {3, 7}, {3, 8}, {3, 9}, {3, 10}, {3, 11}, {3, 12}, {3, 13}, {3, 14}};
  for (unsigned i = 0; i < sizeof v / sizeof v[0]; i++) run((int)i, v[i][0], v[i][1]);
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
