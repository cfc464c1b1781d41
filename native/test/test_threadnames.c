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
static const char *seed_dir; /* --write-seeds DIR: save each world as a fuzz seed */
#define CHECK(c, ...) do { if (c) passed++; else { failed++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)

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
}

int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "--write-seeds")) seed_dir = argv[2];
  /* in the fuzz target's mode order: 2.7, 3.6 ... 3.14 */
  int v[][2] = {{2, 7}, {3, 6}, {3, 7}, {3, 8}, {3, 9}, {3, 10}, {3, 11}, {3, 12}, {3, 13}, {3, 14}};
  for (unsigned i = 0; i < sizeof v / sizeof v[0]; i++) run((int)i, v[i][0], v[i][1]);
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
