/*
 * The sample's page cache: the target's memory read in page-sized blocks,
 * so the frames of one stack (and of every thread, breadth first) come in a
 * few calls, each page once a sample. Used by the frame-chain walk.
 */
#include "pagecache.h"
#include "../include/gauge.h"
#include <stdlib.h>
#include <string.h>

/*
 * The sample's page cache: open addressing over PAGE_SLOTS slots, a short
 * probe run per page. Slot addr: 0 empty, SLOT_DEAD a failed load (keeps
 * probe runs intact), page|1 being loaded in the current batch, else the page.
 * Emptied at the start of every sample, so nothing read is ever stale.
 */
#define PROBES 8
#define SLOT_DEAD 2ull

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

void pc_reset(walker *w) {
  w->nws = 0;
  /* only the slots taken last sample: sweeping all PAGE_SLOTS would touch them all, every sample */
  for (int i = 0; i < w->nclaimed; i++) {
    page_meta *s = &w->meta[w->claimed[i]];
    if (s->addr > SLOT_DEAD && !(s->addr & 1) && s->used) w->ws[w->nws++] = s->addr;
    *s = (page_meta){0};
  }
  w->nclaimed = 0;
  /* ascending: a stack's adjacent pages are claimed in a row and read as one range (page_want) */
  qsort(w->ws, (size_t)w->nws, sizeof *w->ws, cmp_u64);
}

static size_t page_hash(uint64_t page) {
  /* thread stacks and data-stack chunks sit at strides a plain modulo maps to few slots */
  return (size_t)(((page / PAGE) * 0x9E3779B97F4A7C15ull) >> (64 - PAGE_SLOT_BITS));
}

/* The slot holding `page` (loaded, or pending when pending is set), or NULL. */
page_meta *pc_find(walker *w, uint64_t page, int pending) {
  if (page < PAGE) return 0; /* never mapped, and addr 0 marks an empty slot: it would "find" one */
  size_t h = page_hash(page);
  for (int i = 0; i < PROBES; i++) {
    page_meta *s = &w->meta[(h + (size_t)i) & (PAGE_SLOTS - 1)];
    if (s->addr == page || (pending && s->addr == (page | 1))) return s;
    if (s->addr == 0) return 0;
  }
  return 0;
}

/* A slot to load `page` into, marked pending; NULL when its probe run is full of pending loads. */
page_meta *pc_claim(walker *w, uint64_t page) {
  size_t h = page_hash(page);
  page_meta *victim = 0;
  for (int i = 0; i < PROBES; i++) {
    page_meta *s = &w->meta[(h + (size_t)i) & (PAGE_SLOTS - 1)];
    if (s->addr == 0 || s->addr == SLOT_DEAD || s->addr == page) { victim = s; break; }
    if (!victim && !(s->addr & 1) && !s->used) victim = s;
  }
  /* every slot of the run in use: evict one anyway (a cache; frames already walked keep their copies) */
  for (int i = 0; !victim && i < PROBES; i++) {
    page_meta *s = &w->meta[(h + (size_t)i) & (PAGE_SLOTS - 1)];
    if (!(s->addr & 1)) victim = s;
  }
  if (!victim) return 0;
  if (!victim->listed) {
    /* at most PAGE_SLOTS of each: a slot is listed, and given its data slot, once a sample */
    victim->listed = 1;
    w->claimed[w->nclaimed] = (uint32_t)(victim - w->meta);
    victim->slot = (uint32_t)w->nclaimed++;
    w->slot_meta[victim->slot] = (uint32_t)(victim - w->meta);
  }
  victim->addr = page | 1;
  victim->used = 0;
  return victim;
}

uint8_t *pc_slot_data(walker *w, page_meta *m) {
  return w->pages[m->slot].data;
}

/* The slot whose data page holds `data`. */
static page_meta *slot_of(walker *w, void *data) {
  return &w->meta[w->slot_meta[(size_t)((uint8_t *)data - w->pages[0].data) / BLOCK_SIZE]];
}

/* Settle a batch's slots, page by page (a request may span several): loaded or dead. */
void pc_settle(walker *w, mem_req *reqs, int n, const uint8_t *ok) {
  for (int i = 0; i < n; i++)
    for (size_t off = 0; off < reqs[i].len; off += PAGE)
      slot_of(w, (uint8_t *)reqs[i].buf + off)->addr = ok[i] ? reqs[i].addr + off : SLOT_DEAD;
}

/* Load `page` (and up to `below` pages under it, which hold older frames) in one call. */
static int pages_load(walker *w, uint64_t page, int below) {
  mem_req reqs[PAGE_READAHEAD + 1];
  uint8_t ok[PAGE_READAHEAD + 1] = {0};
  int n = 0;
  for (int i = 0; i <= below && page >= (uint64_t)i * PAGE + PAGE; i++) {
    uint64_t p = page - (uint64_t)i * PAGE;
    if (i > 0 && pc_find(w, p, 1)) break; /* already have it and everything below probably */
    page_meta *s = pc_claim(w, p);
    if (!s) break;
    reqs[n++] = (mem_req){p, pc_slot_data(w, s), PAGE};
  }
  /* Descending order: the call stops at the first unmapped page, keeping those above it. */
  int got = n ? w->m->readv(w->m, reqs, n) : 0;
  for (int i = 0; i < got; i++) ok[i] = 1;
  pc_settle(w, reqs, n, ok);
  return got > 0 ? 0 : -1;
}

/* Copy len bytes at addr from cached pages; marks them used. */
static int cached_peek(walker *w, uint64_t addr, void *buf, size_t len) {
  if (!addr || len > PAGE || addr + len < addr) return -1;
  uint64_t p0 = addr & ~(PAGE - 1), p1 = (addr + len - 1) & ~(PAGE - 1);
  page_meta *s0 = pc_find(w, p0, 0), *s1 = p0 == p1 ? s0 : pc_find(w, p1, 0);
  if (!s0 || !s1) return -1;
  s0->used = s1->used = 1;
  if (p0 == p1) { memcpy(buf, pc_slot_data(w, s0) + (addr - p0), len); return 0; }
  size_t first = (size_t)(p1 - addr);
  memcpy(buf, pc_slot_data(w, s0) + (addr - p0), first);
  memcpy((uint8_t *)buf + first, pc_slot_data(w, s1), len - first);
  return 0;
}

int pc_touched(walker *w, uint64_t p) {
  for (int i = 0; i < w->ntouched; i++)
    if (w->touched[i] == p) return 1;
  return 0;
}

static void touch(walker *w, uint64_t p) {
  if (w->ntouched < WALK_TOUCHED && !pc_touched(w, p)) w->touched[w->ntouched++] = p;
}

/* Read len bytes at addr through the sample's page cache, loading what is missing. */
int pc_read(walker *w, uint64_t addr, void *buf, size_t len, int below) {
  if (!addr || len > PAGE || addr + len < addr) return -1;
  uint64_t p0 = addr & ~(PAGE - 1), p1 = (addr + len - 1) & ~(PAGE - 1);
  if (w->fresh) {
    /* a retry: other cached pages still hold what was read before the thread moved on */
    if (!pc_touched(w, p0) || !pc_touched(w, p1)) return mem_read(w->m, addr, buf, len);
  } else {
    touch(w, p0);
    touch(w, p1);
  }
  if (!pc_find(w, p1, 0) && pages_load(w, p1, below)) return -1;
  if (p0 != p1 && !pc_find(w, p0, 0) && pages_load(w, p0, below)) return -1;
  if (cached_peek(w, addr, buf, len) == 0) return 0;
  return mem_read(w->m, addr, buf, len); /* more pages than the cache holds: read around it */
}

/* Scratch for batched reads of up to n requests (plus per-request flags and cursors). */
int walker_scratch_reserve(walker *w, size_t n) {
  if (n <= w->capreqs) return 0;
  size_t nc = w->capreqs ? w->capreqs : 256;
  while (nc < n) nc *= 2;
  mem_req *r = realloc(w->reqs, nc * sizeof *r);
  if (!r) return -1;
  w->reqs = r;
  uint64_t *c = realloc(w->cursors, nc * sizeof *c);
  if (!c) return -1;
  w->cursors = c;
  uint8_t *o = realloc(w->ok, nc);
  if (!o) return -1;
  w->ok = o;
  w->capreqs = nc;
  return 0;
}

/* Queue page p for loading unless cached or already queued. */
static void page_want(walker *w, uint64_t p, int *k) {
  if (pc_find(w, p, 1)) return;
  page_meta *s = pc_claim(w, p);
  if (!s) return; /* probe run busy: the frame walk loads it if needed */
  uint8_t *d = pc_slot_data(w, s);
  mem_req *last = *k ? &w->reqs[*k - 1] : 0;
  /* the page after the last request's, into the slot after its: one range for the kernel to pin, not two */
  if (last && last->addr + last->len == p && (uint8_t *)last->buf + last->len == d) {
    last->len += PAGE;
    return;
  }
  w->reqs[*k] = (mem_req){p, d, PAGE};
  (*k)++;
}

/*
 * Load the pages of every thread's frames breadth first: one batched call per
 * stack level across all threads instead of one per frame per thread, and on
 * 3.11+ (frames packed in the data stack) usually one or two calls in all.
 * Only warms the page cache; the frame walk (frame_chain.c) then reads and checks the frames.
 */
void pc_prefetch_frames(walker *w, thread_rec *threads, int n) {
  const py_layout *l = &w->layout;
  size_t fsz = (size_t)l->f_read_size;
  w->dec.spec_read = 0;
  if (n <= 0 || fsz > PAGE || walker_scratch_reserve(w, (size_t)n * 3 + PAGE_SLOTS + DECODE_SPEC_CODES)) return;
  uint64_t *cur = w->cursors;
  int active = 0;
  for (int i = 0; i < n; i++) {
    cur[i] = threads[i].frame;
    if (cur[i]) active++;
  }
  uint8_t buf[LAYOUT_FRAME_MAX];
  if (fsz > sizeof buf) return;
  size_t budget = WALK_MAX_TOTAL_FRAMES;
  for (int step = 0; active > 0 && step < w->max_depth && budget > 0; step++) {
    int k = 0;
    /* Stacks mostly stay where they were: the last sample's pages come in the first call. */
    if (step == 0)
      for (int j = 0; j < w->nws; j++) page_want(w, w->ws[j], &k);
    for (int i = 0; i < n; i++) {
      uint64_t a = cur[i];
      if (!a) continue;
      if (a + fsz < a) { cur[i] = 0; active--; continue; }
      uint64_t p0 = a & ~(PAGE - 1), p1 = (a + fsz - 1) & ~(PAGE - 1);
      int missing = !pc_find(w, p0, 1);
      page_want(w, p1, &k);
      if (p0 != p1) page_want(w, p0, &k);
      /* 3.11+: older frames sit just below; a miss while descending means the next page is needed too */
      if (missing && l->frame_kind == FRAME_INTERP && p0 >= 2 * PAGE) page_want(w, p0 - PAGE, &k);
    }
    /* and, after the pages, the headers of the last sample's code objects (decode.c): no call of their own */
    size_t spec = step == 0 ? decode_spec_reqs(&w->dec, w->reqs + k, (size_t)l->co_read_size) : 0;
    if (k + (int)spec) {
      readv_each(w->m, w->reqs, k + (int)spec, w->ok);
      pc_settle(w, w->reqs, k, w->ok);
      if (spec) memcpy(w->dec.spec_ok, w->ok + k, spec);
      w->dec.spec_read = spec > 0;
      if (w->m->gone) return;
    }
    for (int i = 0; i < n; i++) {
      if (!cur[i]) continue;
      uint64_t next = 0;
      if (budget > 0 && cached_peek(w, cur[i], buf, fsz) == 0) next = ld_u64(buf + l->f_back);
      if (budget > 0) budget--;
      cur[i] = next;
      if (!next) active--;
    }
  }
}

