#include "memcache.h"
#include <stdlib.h>
#include <string.h>

#define MEMCACHE_FAILED 0xffffffffu
#define DIRECT_MIN (4 * MEMCACHE_PAGE) /* larger reads bypass the cache */

/* The cached copy of page p, loading it on a miss; NULL when it cannot be read. */
static const uint8_t *page_of(memcache *c, uint64_t p) {
  uint32_t slot;
  if (u64map_get(&c->index, p, &slot)) return slot == MEMCACHE_FAILED ? 0 : c->pages + (size_t)slot * MEMCACHE_PAGE;
  if (c->used >= c->nslots || c->index.count >= c->index.max_count) memcache_reset(c); /* full: start over */
  if (c->used >= c->capslots) { /* grown as used: most reads touch a few pages */
    uint32_t nc = c->capslots ? c->capslots * 2 : 16;
    if (nc > c->nslots) nc = c->nslots;
    uint8_t *np = realloc(c->pages, (size_t)nc * MEMCACHE_PAGE);
    if (!np) return 0;
    c->pages = np;
    c->capslots = nc;
  }
  uint8_t *dst = c->pages + (size_t)c->used * MEMCACHE_PAGE;
  mem_req r = {p, dst, MEMCACHE_PAGE};
  int ok = c->under->readv(c->under, &r, 1) == 1;
  c->src.syscalls = c->under->syscalls;
  c->src.gone = c->under->gone;
  u64map_put(&c->index, p, ok ? c->used : MEMCACHE_FAILED);
  if (!ok) return 0;
  return c->pages + (size_t)c->used++ * MEMCACHE_PAGE;
}

static int cached_readv(memsrc *m, mem_req *reqs, int n) {
  memcache *c = (memcache *)m;
  for (int i = 0; i < n; i++) {
    uint64_t a = reqs[i].addr;
    size_t len = reqs[i].len, done = 0;
    if (len >= DIRECT_MIN || a + len < a) {
      int ok = c->under->readv(c->under, &reqs[i], 1) == 1;
      m->syscalls = c->under->syscalls;
      m->gone = c->under->gone;
      if (!ok) return i;
      continue;
    }
    while (done < len) {
      uint64_t at = a + done, p = at & ~(uint64_t)(MEMCACHE_PAGE - 1);
      const uint8_t *pg = page_of(c, p);
      if (!pg) return i;
      size_t k = (size_t)(p + MEMCACHE_PAGE - at);
      if (k > len - done) k = len - done;
      memcpy((uint8_t *)reqs[i].buf + done, pg + (at - p), k);
      done += k;
    }
  }
  return n;
}

int memcache_init(memcache *c, memsrc *under, uint32_t nslots) {
  memset(c, 0, sizeof *c);
  c->src = *under;
  c->src.readv = cached_readv;
  c->under = under;
  c->nslots = nslots;
  if (u64map_init(&c->index, (size_t)nslots * 2)) { memcache_free(c); return -1; }
  return 0;
}

void memcache_reset(memcache *c) {
  u64map_clear(&c->index);
  c->used = 0;
}

void memcache_free(memcache *c) {
  free(c->pages);
  u64map_free(&c->index);
  c->pages = 0;
}
