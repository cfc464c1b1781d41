/* Open-addressing map from non-zero uint64 keys to uint32 values; bounded. */
#ifndef GAUGE_HASHMAP_H
#define GAUGE_HASHMAP_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint64_t *keys; /* 0 = empty */
  uint32_t *vals;
  size_t cap;     /* power of two */
  size_t count;
  size_t max_count; /* callers clear or stop inserting past this */
} u64map;

int u64map_init(u64map *m, size_t cap);
void u64map_free(u64map *m);
void u64map_clear(u64map *m);
/* The same, for a map whose keys are keys[0..n) in the order they were put: those slots alone are emptied. */
void u64map_clear_keys(u64map *m, const uint64_t *keys, size_t n);
/* 1 and *val when found. */
int u64map_get(const u64map *m, uint64_t key, uint32_t *val);
/* 0 on success; -1 when full (past max_count). */
int u64map_put(u64map *m, uint64_t key, uint32_t val);
/* Double the table when full (for maps that must never drop a key); -1 when that fails. */
int u64map_grow_if_full(u64map *m);

static inline uint64_t hash_mix(uint64_t x) {
  x ^= x >> 33; x *= 0xff51afd7ed558ccdULL; x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ULL; x ^= x >> 33;
  return x;
}
uint64_t hash_bytes(const void *p, size_t n);
#endif
