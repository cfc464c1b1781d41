/*
 * Synthetic CPython memory images for tests and the fuzzer's seeds: a byte
 * arena at a fake base address, filled through a layout's offsets, read back
 * by the real walker through memsrc's image source.
 */
#ifndef GAUGE_TEST_IMAGE_H
#define GAUGE_TEST_IMAGE_H
#include <stdint.h>
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

/* A str object holding code points cps (kind chosen from the largest), laid out per l->string_kind. */
static inline uint64_t img_str_cp(image *im, const py_layout *l, const uint32_t *cps, size_t n) {
  if (l->string_kind == 0) { /* 2.7 PyStringObject */
    uint64_t a = img_alloc(im, 40 + n);
    img_w64(im, a + 16, n);
    for (size_t i = 0; i < n; i++) img_w8(im, a + 36 + i, (uint8_t)cps[i]);
    return a;
  }
  uint32_t maxc = 0;
  for (size_t i = 0; i < n; i++) if (cps[i] > maxc) maxc = cps[i];
  int kind = maxc < 256 ? 1 : maxc < 65536 ? 2 : 4;
  int ascii = maxc < 128;
  int wstr = l->string_kind == 1;
  size_t hdr = ascii ? (wstr ? 48 : 40) : (wstr ? 72 : 56);
  uint64_t a = img_alloc(im, hdr + (n + 1) * (size_t)kind);
  img_w64(im, a + 16, n);
  img_w32(im, a + 32, (uint32_t)((kind << 2) | (1 << 5) | (ascii << 6) | (1 << 7)));
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
  size_t off = l->string_kind == 0 ? 36 : 32;
  uint64_t a = img_alloc(im, off + n + 1);
  img_w64(im, a + 16, n);
  memcpy(img_at(im, a + off), d, n);
  return a;
}
static inline uint64_t img_code(image *im, const py_layout *l, uint64_t code_type, uint64_t name, uint64_t qualname,
                                uint64_t file, int firstline, uint64_t linetable, int firsttraceable) {
  uint64_t a = img_alloc(im, (size_t)l->co_code + 256);
  img_w64(im, a + 8, code_type);
  img_w64(im, a + l->co_name, name);
  if (l->co_qualname >= 0) img_w64(im, a + l->co_qualname, qualname ? qualname : name);
  img_w64(im, a + l->co_filename, file);
  img_w32(im, a + l->co_firstlineno, (uint32_t)firstline);
  img_w64(im, a + l->co_linetable, linetable);
  if (l->co_firsttraceable >= 0) img_w32(im, a + l->co_firsttraceable, (uint32_t)firsttraceable);
  return a;
}
#endif
