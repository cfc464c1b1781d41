/*
 * Walker unit tests over synthetic memory images, one per supported layout
 * (2.7, 3.6-3.14). This is the only coverage 3.14 gets on this machine: the
 * images follow its published layout (tagged stack refs, owner codes, 3.12+
 * strings). Prints "N passed, N failed".
 */
#include <stdio.h>
#include "../include/gauge.h"
#include "../src/frames.h"
#include "../src/walker.h"
#include "image.h"

static int passed, failed;
static const char *seed_dir; /* --write-seeds DIR: save each image as a fuzzer seed */

/* Seed format (native/fuzz/fuzz_reader.c): version index, 7 spare bytes, root and
 * _PyThreadState_Current as offsets from the image base, then the image. */
static void write_seed(int vidx, image *im, uint64_t root, uint64_t tcur) {
  if (!seed_dir) return;
  char path[512];
  snprintf(path, sizeof path, "%s/seed-%d", seed_dir, vidx);
  FILE *f = fopen(path, "wb");
  if (!f) return;
  uint8_t hdr[24] = {(uint8_t)vidx};
  uint64_t r = root - im->base, t = tcur ? tcur - im->base : 0;
  memcpy(hdr + 8, &r, 8);
  memcpy(hdr + 16, &t, 8);
  fwrite(hdr, 1, sizeof hdr, f);
  fwrite(im->mem, 1, (im->top + 4095) & ~(size_t)4095, f);
  fclose(f);
}
#define CHECK(cond, ...) do { if (cond) passed++; else { failed++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)

static const uint64_t CODE_TYPE = 0x7f00dead0000ull;

/* A line table in the layout's format: [0,20) -> first, [20,36) -> first+2, 3.11+: [36,44) -> first+5, [44,46) none, [46,50) first+5. */
static uint64_t make_linetable(image *im, const py_layout *l) {
  uint8_t t[32];
  size_t n = 0;
  switch (l->linetable_kind) {
  case LT_LNOTAB27: case LT_LNOTAB36:
    t[n++] = 20; t[n++] = 2; break;
  case LT_LINETABLE310:
    t[n++] = 20; t[n++] = 0; t[n++] = 16; t[n++] = 2; break;
  default:
    t[n++] = 0x80 | (10 << 3) | 7; t[n++] = 1; t[n++] = 5;  /* one-line form, delta 0: [0,16) */
    t[n++] = 0x80 | (0 << 3) | 1; t[n++] = 3;                /* short form: [16,20) */
    t[n++] = 0x80 | (13 << 3) | 7; t[n++] = 4;               /* no columns, svarint +2: [20,36) */
    t[n++] = 0x80 | (14 << 3) | 3; t[n++] = 6; t[n++] = 0; t[n++] = 1; t[n++] = 5; /* long form +3: [36,44) */
    t[n++] = 0x80 | (15 << 3) | 0;                           /* no location: [44,46) */
    t[n++] = 0x80 | (0 << 3) | 1; t[n++] = 3;                /* short form: [46,50) */
    break;
  }
  return img_bytes(im, l, t, n);
}

typedef struct { uint64_t code; int64_t addr; int owner; } fspec;

/* Lay out a thread's frames (outermost first) and return the innermost frame's address. */
static uint64_t make_frames(image *im, const py_layout *l, const fspec *f, int n) {
  uint64_t prev = 0;
  if (l->frame_kind == FRAME_OBJECT) {
    for (int i = 0; i < n; i++) {
      uint64_t fr = img_alloc(im, 512);
      img_w64(im, fr + l->f_back, prev);
      img_w64(im, fr + l->f_code, f[i].code);
      int32_t lasti = (int32_t)(l->lasti_kind == LASTI_BYTES ? f[i].addr : f[i].addr / 2);
      img_w32(im, fr + l->f_lasti, (uint32_t)lasti);
      prev = fr;
    }
    return prev;
  }
  uint64_t stack = img_alloc(im, (size_t)n * 160 + 64); /* contiguous, like a data-stack chunk */
  for (int i = 0; i < n; i++) {
    uint64_t fr = stack + (uint64_t)i * 160;
    img_w64(im, fr + l->f_back, prev);
    uint64_t c = f[i].code;
    img_w64(im, fr + l->f_code, l->stackref && c ? (c | 1) : c); /* 3.14: a deferred (tagged) reference */
    img_w64(im, fr + l->f_lasti, c + (uint64_t)l->co_code + (uint64_t)f[i].addr);
    img_w8(im, fr + l->f_owner, (uint8_t)f[i].owner);
    prev = fr;
  }
  return prev;
}

static void describe(frame_cache *fc, uint32_t id, char *name, char *file, int *line) {
  char buf[1024];
  int32_t lines[2];
  name[0] = file[0] = 0;
  *line = -1;
  if (frames_describe(fc, id, buf, sizeof buf, lines) < 0) return;
  strcpy(name, buf);
  strcpy(file, buf + strlen(buf) + 1);
  *line = lines[0];
}

static void test_version(int vidx, int major, int minor) {
  const py_layout *l = layout_for(major, minor, 99);
  char tag[16];
  snprintf(tag, sizeof tag, "%d.%d", major, minor);
  image im;
  img_init(&im, 1 << 16);
  int interp_frames = l->frame_kind == FRAME_INTERP;
  uint64_t file = img_str(&im, l, "/srv/app.py");
  uint64_t lt = make_linetable(&im, l);
  uint64_t c_outer = img_code(&im, l, CODE_TYPE, img_str(&im, l, "main"), 0, file, 10, lt, 1);
  uint64_t c_mid = img_code(&im, l, CODE_TYPE, img_str(&im, l, "handle"), img_str(&im, l, "Server.handle"), file, 20, lt, 1);
  uint64_t c_leaf = img_code(&im, l, CODE_TYPE, img_str(&im, l, "parse"), 0, file, 30, lt, 1);
  uint32_t cps[] = {'g', 'r', 0xf6, 0xdf, 'e', '_', 0x3b1, '_', 0x1f600};
  uint64_t c_uni = img_code(&im, l, CODE_TYPE, img_str_cp(&im, l, major == 2 ? cps : cps, major == 2 ? 2 : 9), 0, file, 40, lt, 1);

  int skip = l->owner_skip_min < 256 ? l->owner_skip_min : -1;
  fspec a[] = {{c_outer, 4, 0}, {c_mid, 24, 0}, {c_leaf, interp_frames && l->linetable_kind == LT_LOCATIONS311 ? 40 : 24, 0}};
  fspec b[8];
  int nb = 0;
  b[nb++] = (fspec){c_outer, 4, 0};
  if (skip > 0) b[nb++] = (fspec){c_outer, 0, skip}; /* a C-stack shim: skipped */
  b[nb++] = (fspec){c_uni, 24, 1};
  if (l->co_firsttraceable >= 0) b[nb++] = (fspec){c_leaf, 0, 0}; /* still before RESUME: hidden like CPython does */
  uint64_t fa = make_frames(&im, l, a, 3), fb = make_frames(&im, l, b, nb);

  uint64_t ts_a = img_alloc(&im, 512), ts_b = img_alloc(&im, 512), interp = img_alloc(&im, (size_t)(l->is_threads_head > l->is_next ? l->is_threads_head : l->is_next) + 64);
  img_w64(&im, interp + l->is_threads_head, ts_b); /* newest first */
  img_w64(&im, ts_b + l->ts_next, ts_a);
  uint64_t tss[2] = {ts_a, ts_b}, frs[2] = {fa, fb};
  for (int i = 0; i < 2; i++) {
    img_w64(&im, tss[i] + l->ts_interp, interp);
    img_w64(&im, tss[i] + l->ts_thread_id, 0x7000 + (uint64_t)i);
    if (l->ts_native_id >= 0) img_w64(&im, tss[i] + l->ts_native_id, 100 + (uint64_t)i);
    if (l->ts_cframe >= 0) {
      uint64_t cf = img_alloc(&im, 64);
      img_w64(&im, cf + l->cf_current_frame, frs[i]);
      img_w64(&im, tss[i] + l->ts_cframe, cf);
    } else {
      img_w64(&im, tss[i] + l->ts_frame, frs[i]);
    }
  }
  uint64_t root, tcur = 0;
  if (l->root_is_interp_head) {
    root = img_alloc(&im, 8);
    img_w64(&im, root, interp);
    tcur = img_alloc(&im, 8);
    img_w64(&im, tcur, ts_a);
  } else {
    root = img_alloc(&im, 2048);
    img_w64(&im, root + l->rt_interp_head, interp);
    if (l->gil_kind == GIL_RUNTIME) img_w64(&im, root + l->rt_tstate_current, ts_a);
  }
  if (l->gil_kind == GIL_INTERP_PTR) {
    uint64_t gil = img_alloc(&im, 64);
    img_w64(&im, gil + l->gil_holder, ts_a);
    img_w32(&im, gil + l->gil_locked, 1);
    img_w64(&im, interp + l->is_gil_ptr, gil);
  }

  write_seed(vidx, &im, root, tcur);
  memsrc m;
  memsrc_init_image(&m, im.mem, im.len, im.base);
  frame_cache fc;
  walker w;
  frames_init(&fc);
  fc.code_type = CODE_TYPE;
  walker_init(&w, &m, l, &fc, root, tcur);
  uint32_t out[4096];
  int n = walker_sample(&w, 1, out, 4096);
  CHECK(n > GAUGE_REC_HEADER, "%s: sample failed (%d)", tag, n);
  CHECK(out[4] == 2, "%s: %u threads, want 2", tag, out[4]);
  CHECK(out[5] == 0, "%s: record flags %u", tag, out[5]);
  uint32_t *th = out + GAUGE_REC_HEADER;
  /* first listed = newest = thread B */
  CHECK(th[0] == 0x7001, "%s: first thread id %#x", tag, th[0]);
  CHECK(!(th[3] & GAUGE_TH_GIL), "%s: thread B must not hold the GIL", tag);
  CHECK(th[7] == 2, "%s: thread B depth %u, want 2 (shim and incomplete frame skipped)", tag, th[7]);
  char name[256], fname[256];
  int line;
  describe(&fc, th[8], name, fname, &line);
  if (major == 2) CHECK(!strcmp(name, "gr"), "%s: B leaf name '%s'", tag, name);
  else CHECK(!strcmp(name, "gr\xc3\xb6\xc3\x9f" "e_\xce\xb1_\xf0\x9f\x98\x80"), "%s: B leaf non-ASCII name '%s'", tag, name);
  CHECK(line == 42, "%s: B leaf line %d, want 42", tag, line);
  describe(&fc, th[9], name, fname, &line);
  CHECK(!strcmp(name, "main") && line == 10, "%s: B root %s:%d", tag, name, line);

  uint32_t *ta = th + GAUGE_THREAD_HEADER + th[7];
  CHECK(ta[0] == 0x7000, "%s: second thread id %#x", tag, ta[0]);
  CHECK(ta[3] & GAUGE_TH_GIL, "%s: thread A holds the GIL", tag);
  CHECK(ta[7] == 3, "%s: thread A depth %u", tag, ta[7]);
  if (l->ts_native_id >= 0) CHECK(ta[2] == 100, "%s: native id %u", tag, ta[2]);
  describe(&fc, ta[8], name, fname, &line);
  int want_leaf = interp_frames && l->linetable_kind == LT_LOCATIONS311 ? 35 : 32;
  CHECK(!strcmp(name, "parse") && line == want_leaf && !strcmp(fname, "/srv/app.py"), "%s: A leaf %s %s:%d want %d", tag, name, fname, line, want_leaf);
  describe(&fc, ta[9], name, fname, &line);
  const char *want_mid = l->co_qualname >= 0 ? "Server.handle" : "handle";
  CHECK(!strcmp(name, want_mid) && line == 22, "%s: A mid %s:%d", tag, name, line);

  /* Same sample again: every frame comes from the caches, same ids. */
  uint32_t again[4096];
  uint64_t resolves = fc.resolves;
  int n2 = walker_sample(&w, 2, again, 4096);
  CHECK(n2 == n && memcmp(again + 4, out + 4, (size_t)(n - 4) * 4) == 0, "%s: second sample differs", tag);
  CHECK(fc.resolves == resolves, "%s: warm sample re-resolved code objects", tag);

  /* A freed-and-reused code address: new name at the same address must not come back stale. */
  img_w64(&im, c_leaf + l->co_name, img_str(&im, l, "render"));
  if (l->co_qualname >= 0) img_w64(&im, c_leaf + l->co_qualname, img_str(&im, l, "render"));
  n2 = walker_sample(&w, 3, again, 4096);
  uint32_t *ta2 = again + GAUGE_REC_HEADER + GAUGE_THREAD_HEADER + again[GAUGE_REC_HEADER + 7];
  describe(&fc, ta2[8], name, fname, &line);
  CHECK(!strcmp(name, "render"), "%s: reused code address gave '%s'", tag, name);

  /* A cycle in the frame chain is cut and flagged, never followed forever. */
  uint64_t leaf_frame = fa;
  uint64_t root_frame = interp_frames ? fa - 2 * 160 : 0;
  if (!interp_frames) { uint64_t f = fa; for (int i = 0; i < 2; i++) memcpy(&f, img_at(&im, f + l->f_back), 8); root_frame = f; }
  img_w64(&im, root_frame + l->f_back, leaf_frame);
  n2 = walker_sample(&w, 4, again, 4096);
  ta2 = again + GAUGE_REC_HEADER + GAUGE_THREAD_HEADER + again[GAUGE_REC_HEADER + 7];
  CHECK(n2 > 0 && (ta2[3] & (GAUGE_TH_ERROR | GAUGE_TH_TRUNCATED)), "%s: frame cycle not flagged", tag);

  walker_free(&w);
  frames_free(&fc);
  free(im.mem);
}

int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "--write-seeds")) seed_dir = argv[2];
  int versions[][2] = {{2, 7}, {3, 6}, {3, 7}, {3, 8}, {3, 9}, {3, 10}, {3, 11}, {3, 12}, {3, 13}, {3, 14}};
  for (unsigned i = 0; i < sizeof versions / sizeof versions[0]; i++) test_version((int)i, versions[i][0], versions[i][1]);
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
