/*
 * A page cache over a memsrc for one pass of many small reads (the asyncio
 * task walk: thousands of tasks, coroutines and futures packed in a few
 * heap pages). Readers take &cache->src as their memsrc. Pages are read
 * whole on first use and kept only for the pass (memcache_free), so nothing
 * stale outlives it; a page that fails to load is remembered as failed.
 */
#ifndef GAUGE_MEMCACHE_H
#define GAUGE_MEMCACHE_H
#include "hashmap.h"
#include "memsrc.h"

#define MEMCACHE_PAGE 4096u

typedef struct memcache {
  memsrc src; /* first: a memcache is a memsrc */
  memsrc *under;
  u64map index; /* page address -> slot, MEMCACHE_FAILED for a page that could not be read */
  uint8_t *pages;
  uint32_t nslots, capslots, used;
} memcache;

/* 0 ok; -1 out of memory. nslots pages at most (then the cache starts over). */
int memcache_init(memcache *c, memsrc *under, uint32_t nslots);
/* Forget every cached page (the next reads see the target as it is now). */
void memcache_reset(memcache *c);
void memcache_free(memcache *c);
#endif
