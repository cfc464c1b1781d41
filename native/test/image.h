/*
 * Synthetic CPython memory images for tests and the fuzzer's seeds: a byte
 * arena at a fake base address, filled through a layout's offsets, read back
 * by the real walker through memsrc's image source. The layout given here is
 * the test's own idea of the build (for 3.13+ written from real builds'
 * values, see builds.h), never the one the reader decoded.
 */
#ifndef GAUGE_TEST_IMAGE_H
#define GAUGE_TEST_IMAGE_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../src/layouts.h"

typedef struct {
  uint8_t *mem;
  size_t len, top;
  uint64_t base;
} image;

static inline void img_init(image *im, size_t len) {
  im->len = len;
  im->mem = calloc(1, len);
  im->base = 0x7f0000000000ull;
  im->top = 4096; /* leave page 0 unused so NULL-ish addresses fail */
}
static inline uint64_t img_alloc(image *im, size_t n) {
  im->top = (im->top + 15) & ~(size_t)15;
  uint64_t a = im->base + im->top;
  im->top += n;
  if (im->top > im->len) abort();
  return a;
}
static inline uint8_t *img_at(image *im, uint64_t a) { return im->mem + (a - im->base); }
static inline void img_w64(image *im, uint64_t a, uint64_t v) { memcpy(img_at(im, a), &v, 8); }
static inline void img_w32(image *im, uint64_t a, uint32_t v) { memcpy(img_at(im, a), &v, 4); }
static inline void img_w8(image *im, uint64_t a, uint8_t v) { *img_at(im, a) = v; }

/* A str object holding code points cps (kind chosen from the largest), laid out per l's string fields. */
static inline uint64_t img_str_cp(image *im, const py_layout *l, const uint32_t *cps, size_t n) {
  if (l->string_kind == STR_PY2) { /* PyStringObject: bytes inline */
    uint64_t a = img_alloc(im, (size_t)l->str_ascii_data + n + 1);
    img_w64(im, a + l->str_length, n);
    for (size_t i = 0; i < n; i++) img_w8(im, a + l->str_ascii_data + i, (uint8_t)cps[i]);
    return a;
  }
  uint32_t maxc = 0;
  for (size_t i = 0; i < n; i++) if (cps[i] > maxc) maxc = cps[i];
  int kind = maxc < 256 ? 1 : maxc < 65536 ? 2 : 4;
  int ascii = maxc < 128;
  size_t hdr = (size_t)(ascii ? l->str_ascii_data : l->str_compact_data);
  uint64_t a = img_alloc(im, hdr + (n + 1) * (size_t)kind);
  img_w64(im, a + l->str_length, n);
  /* kind, compact, ascii (and <=3.11 ready); free-threaded 3.14+ moves them up past a whole-byte `interned` */
  uint32_t state = (uint32_t)((kind << 2) | (1 << 5) | (ascii << 6) | (1 << 7)) << l->str_state_shift;
  img_w32(im, a + l->str_state, state);
  for (size_t i = 0; i < n; i++) {
    if (kind == 1) img_w8(im, a + hdr + i, (uint8_t)cps[i]);
    else if (kind == 2) { img_w8(im, a + hdr + 2 * i, cps[i] & 0xff); img_w8(im, a + hdr + 2 * i + 1, (cps[i] >> 8) & 0xff); }
    else img_w32(im, a + hdr + 4 * i, cps[i]);
  }
  return a;
}
static inline uint64_t img_str(image *im, const py_layout *l, const char *s) {
  uint32_t cps[256];
  size_t n = 0;
  for (; s[n] && n < 256; n++) cps[n] = (uint8_t)s[n];
  return img_str_cp(im, l, cps, n);
}
static inline uint64_t img_bytes(image *im, const py_layout *l, const uint8_t *d, size_t n) {
  uint64_t a = img_alloc(im, (size_t)l->bytes_data + n + 1);
  img_w64(im, a + l->bytes_size, n);
  memcpy(img_at(im, a + l->bytes_data), d, n);
  return a;
}
static inline uint64_t img_code(image *im, const py_layout *l, uint64_t code_type, uint64_t name, uint64_t qualname,
                                uint64_t file, int firstline, uint64_t linetable, int firsttraceable) {
  uint64_t a = img_alloc(im, (size_t)l->co_code + 256);
  img_w64(im, a + l->ob_type, code_type);
  img_w64(im, a + l->co_name, name);
  if (l->co_qualname >= 0) img_w64(im, a + l->co_qualname, qualname ? qualname : name);
  img_w64(im, a + l->co_filename, file);
  img_w32(im, a + l->co_firstlineno, (uint32_t)firstline);
  img_w64(im, a + l->co_linetable, linetable);
  if (l->co_firsttraceable >= 0) img_w32(im, a + l->co_firsttraceable, (uint32_t)firsttraceable);
  return a;
}

/* Fuzz input header (native/fuzz/fuzz_reader.c): mode, micro, 6 spare bytes, root and
 * _PyThreadState_Current (or an object address) as offsets from the image base. */
#define FUZZ_MODE_DEBUG_OFFSETS 10 /* modes 0-9: built-in rows 2.7, 3.6 ... 3.14 */
static inline void img_write_seed(const char *dir, const char *name, int mode, image *im, uint64_t root, uint64_t aux) {
  if (!dir) return;
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f) return;
  uint8_t hdr[24] = {(uint8_t)mode, 99};
  uint64_t r = root - im->base, t = aux ? aux - im->base : 0;
  memcpy(hdr + 8, &r, 8);
  memcpy(hdr + 16, &t, 8);
  fwrite(hdr, 1, sizeof hdr, f);
  fwrite(im->mem, 1, (im->top + 4095) & ~(size_t)4095, f);
  fclose(f);
}
#endif
