/* Growable arrays: one doubling rule for every buffer the reader keeps, overflow-checked. */
#ifndef GAUGE_VEC_H
#define GAUGE_VEC_H
#include <stdint.h>
#include <stdlib.h>

/* Make room for `need` elements of `elem` bytes in *arr (capacity *cap, first allocation `first`). 0 or -1. */
static inline int vec_reserve_(void **arr, size_t *cap, size_t need, size_t elem, size_t first) {
  if (need <= *cap) return 0;
  size_t nc = *cap ? *cap : (first ? first : 1);
  while (nc < need) {
    if (nc > SIZE_MAX / 2 / elem) return -1;
    nc *= 2;
  }
  void *p = realloc(*arr, nc * elem);
  if (!p) return -1;
  *arr = p;
  *cap = nc;
  return 0;
}
#define VEC_RESERVE(arr, cap, need, first) vec_reserve_((void **)&(arr), &(cap), (need), sizeof *(arr), (first))
#endif
