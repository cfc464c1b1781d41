/*
 * libFuzzer target: the walker, line-table decoders and string readers over
 * arbitrary bytes. Input: [0] layout index (2.7, 3.6 ... 3.14), [8..15] root
 * offset, [16..23] _PyThreadState_Current offset, then the memory image
 * mapped at a fixed base. Must never crash, hang or allocate without bound.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../include/gauge.h"
#include "../src/frames.h"
#include "../src/linetable.h"
#include "../src/pystring.h"
#include "../src/walker.h"

#define BASE 0x7f0000000000ull

static const int VERSIONS[][2] = {{2, 7}, {3, 6}, {3, 7}, {3, 8}, {3, 9}, {3, 10}, {3, 11}, {3, 12}, {3, 13}, {3, 14}};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 24) return 0;
  const py_layout *l = layout_for(VERSIONS[data[0] % 10][0], VERSIONS[data[0] % 10][1], 99);
  uint64_t root, tcur;
  memcpy(&root, data + 8, 8);
  memcpy(&tcur, data + 16, 8);
  const uint8_t *img = data + 24;
  size_t len = size - 24;

  memsrc m;
  memsrc_init_image(&m, img, len, BASE);
  frame_cache fc;
  walker w;
  if (frames_init(&fc)) return 0;
  if (walker_init(&w, &m, l, &fc, BASE + (root % (len + 1)), tcur ? BASE + (tcur % (len + 1)) : 0)) { frames_free(&fc); return 0; }
  w.max_depth = 512;
  static uint32_t out[1 << 16];
  for (int i = 0; i < 2; i++) { /* twice: the second pass runs through the caches */
    int n = walker_sample(&w, (uint64_t)i, out, 1 << 16);
    if (n > 0 && (uint32_t)n != out[0]) abort();
  }
  walker_free(&w);
  frames_free(&fc);

  /* Decoders straight over the bytes. */
  for (int kind = LT_LNOTAB27; kind <= LT_LOCATIONS311; kind++)
    for (int64_t addr = -2; addr < 64; addr += 6) linetable_line(kind, img, len, (int)(root & 0xffff), addr);
  char s[PYSTR_MAX_CHARS * 4 + 1];
  for (int k = 0; k < 3; k++) pystr_read(&m, k, BASE + (tcur % (len + 1)), s, sizeof s);
  return 0;
}
