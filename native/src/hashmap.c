#include "hashmap.h"
#include <stdlib.h>
#include <string.h>

int u64map_init(u64map *m, size_t cap) {
  size_t c = 16;
  while (c < cap) c <<= 1;
  m->keys = calloc(c, sizeof *m->keys);
  m->vals = calloc(c, sizeof *m->vals);
  m->cap = c;
  m->count = 0;
  m->max_count = c / 2; /* keep probes short */
  return m->keys && m->vals ? 0 : -1;
}

void u64map_free(u64map *m) {
  free(m->keys);
  free(m->vals);
  memset(m, 0, sizeof *m);
}

void u64map_clear(u64map *m) {
  if (m->count == 0) return; /* maps cleared every sample are often empty: skip the memset */
  memset(m->keys, 0, m->cap * sizeof *m->keys);
  m->count = 0;
}

void u64map_clear_keys(u64map *m, const uint64_t *keys, size_t n) {
  if (m->count == 0) return;
  if (n * 8 > m->cap) { u64map_clear(m); return; } /* as cheap to sweep it all */
  size_t mask = m->cap - 1;
  /* Latest first: a key's probe run holds only keys put before it, all still there when it is looked for. */
  for (size_t k = n; k-- > 0 && m->count > 0;)
    for (size_t i = hash_mix(keys[k]) & mask; m->keys[i]; i = (i + 1) & mask)
      if (m->keys[i] == keys[k]) { m->keys[i] = 0; m->count--; break; }
  if (m->count) u64map_clear(m); /* a key not found (the table was rebuilt, or the list was not the keys): all of it */
}

int u64map_get(const u64map *m, uint64_t key, uint32_t *val) {
  if (key == 0) return 0; /* 0 marks empty slots, never a key */
  size_t mask = m->cap - 1;
  for (size_t i = hash_mix(key) & mask;; i = (i + 1) & mask) {
    if (m->keys[i] == key) { *val = m->vals[i]; return 1; }
    if (m->keys[i] == 0) return 0;
  }
}

int u64map_put(u64map *m, uint64_t key, uint32_t val) {
  if (key == 0) return -1;
  size_t mask = m->cap - 1;
  for (size_t i = hash_mix(key) & mask;; i = (i + 1) & mask) {
    if (m->keys[i] == key) { m->vals[i] = val; return 0; }
    if (m->keys[i] == 0) {
      if (m->count >= m->max_count) return -1;
      m->keys[i] = key;
      m->vals[i] = val;
      m->count++;
      return 0;
    }
  }
}

int u64map_grow_if_full(u64map *m) {
  if (m->count < m->max_count) return 0;
  u64map bigger;
  if (u64map_init(&bigger, m->cap * 2)) { u64map_free(&bigger); return -1; }
  for (size_t i = 0; i < m->cap; i++)
    if (m->keys[i]) u64map_put(&bigger, m->keys[i], m->vals[i]);
  u64map_free(m);
  *m = bigger;
  return 0;
}

uint64_t hash_bytes(const void *p, size_t n) {
  const uint8_t *b = p;
  uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a, then mixed */
  for (size_t i = 0; i < n; i++) { h ^= b[i]; h *= 0x100000001b3ULL; }
  return hash_mix(h) | 1; /* never 0: 0 marks empty slots */
}
