#include "walker.h"
#include "../include/gauge.h"
#include "vec.h"
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PAGE ((uint64_t)BLOCK_SIZE) /* cache block (see walker.h), not the MMU page */
#define PAGE_READAHEAD 4 /* pages read below a missed frame: one call usually covers a thread's stack */

int walker_init(walker *w, memsrc *m, const py_layout *l, frame_cache *fc, uint64_t root, uint64_t tstate_current) {
  memset(w, 0, sizeof *w);
  if (layout_check(l, 0, 0)) return -2; /* the one gate: every buffer index below relies on it */
  w->m = m;
  w->layout = *l;
  w->fc = fc;
  w->root = root;
  w->tstate_current = tstate_current;
  w->max_depth = WALK_DEFAULT_DEPTH;
  w->pthread_tid_off = -1;
  /* page-aligned so each block copies into one local page; never read before a load fills it */
  w->pages = aligned_alloc(4096, PAGE_SLOTS * sizeof *w->pages);
  w->meta = calloc(PAGE_SLOTS, sizeof *w->meta);
  w->claimed = calloc(PAGE_SLOTS, sizeof *w->claimed);
  w->slot_meta = calloc(PAGE_SLOTS, sizeof *w->slot_meta);
  w->ws = calloc(PAGE_SLOTS, sizeof *w->ws);
  if (!w->pages || !w->meta || !w->claimed || !w->slot_meta || !w->ws || memo_init(&w->memo) || decode_init(&w->dec) || u64map_init(&w->distinct, 1024) || u64map_init(&w->tlbc_pairs, 8192) ||
      u64map_init(&w->tlbc_cache, 8192))
    return -1;
  return 0;
}

void walker_free(walker *w) {
  free(w->pages);
  free(w->meta);
  free(w->claimed);
  free(w->slot_meta);
  free(w->spec_ts);
  free(w->spec_nid);
  free(w->spec_got);
  free(w->tsbuf);
  free(w->tsnew);
  free(w->reqs);
  free(w->cursors);
  free(w->ok);
  free(w->ws);
  free(w->raw);
  free(w->codehdrs);
  free(w->threads);
  u64map_free(&w->distinct);
  u64map_free(&w->tlbc_pairs);
  u64map_free(&w->tlbc_cache);
  free(w->tlbc_vals);
  memo_free(&w->memo);
  decode_free(&w->dec);
  memset(w, 0, sizeof *w);
}

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

static void pages_reset(walker *w) {
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
static page_meta *page_find(walker *w, uint64_t page, int pending) {
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
static page_meta *page_claim(walker *w, uint64_t page) {
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

static uint8_t *slot_data(walker *w, page_meta *m) {
  return w->pages[m->slot].data;
}

/* The slot whose data page holds `data`. */
static page_meta *slot_of(walker *w, void *data) {
  return &w->meta[w->slot_meta[(size_t)((uint8_t *)data - w->pages[0].data) / BLOCK_SIZE]];
}

/* Settle a batch's slots, page by page (a request may span several): loaded or dead. */
static void pages_settle(walker *w, mem_req *reqs, int n, const uint8_t *ok) {
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
    if (i > 0 && page_find(w, p, 1)) break; /* already have it and everything below probably */
    page_meta *s = page_claim(w, p);
    if (!s) break;
    reqs[n++] = (mem_req){p, slot_data(w, s), PAGE};
  }
  /* Descending order: the call stops at the first unmapped page, keeping those above it. */
  int got = n ? w->m->readv(w->m, reqs, n) : 0;
  for (int i = 0; i < got; i++) ok[i] = 1;
  pages_settle(w, reqs, n, ok);
  return got > 0 ? 0 : -1;
}

/* Copy len bytes at addr from cached pages; marks them used. */
static int cached_peek(walker *w, uint64_t addr, void *buf, size_t len) {
  if (!addr || len > PAGE || addr + len < addr) return -1;
  uint64_t p0 = addr & ~(PAGE - 1), p1 = (addr + len - 1) & ~(PAGE - 1);
  page_meta *s0 = page_find(w, p0, 0), *s1 = p0 == p1 ? s0 : page_find(w, p1, 0);
  if (!s0 || !s1) return -1;
  s0->used = s1->used = 1;
  if (p0 == p1) { memcpy(buf, slot_data(w, s0) + (addr - p0), len); return 0; }
  size_t first = (size_t)(p1 - addr);
  memcpy(buf, slot_data(w, s0) + (addr - p0), first);
  memcpy((uint8_t *)buf + first, slot_data(w, s1), len - first);
  return 0;
}

static int touched(walker *w, uint64_t p) {
  for (int i = 0; i < w->ntouched; i++)
    if (w->touched[i] == p) return 1;
  return 0;
}

static void touch(walker *w, uint64_t p) {
  if (w->ntouched < WALK_TOUCHED && !touched(w, p)) w->touched[w->ntouched++] = p;
}

/* Read len bytes at addr through the sample's page cache, loading what is missing. */
static int cached_read(walker *w, uint64_t addr, void *buf, size_t len, int below) {
  if (!addr || len > PAGE || addr + len < addr) return -1;
  uint64_t p0 = addr & ~(PAGE - 1), p1 = (addr + len - 1) & ~(PAGE - 1);
  if (w->fresh) {
    /* a retry: other cached pages still hold what was read before the thread moved on */
    if (!touched(w, p0) || !touched(w, p1)) return mem_read(w->m, addr, buf, len);
  } else {
    touch(w, p0);
    touch(w, p1);
  }
  if (!page_find(w, p1, 0) && pages_load(w, p1, below)) return -1;
  if (p0 != p1 && !page_find(w, p0, 0) && pages_load(w, p0, below)) return -1;
  if (cached_peek(w, addr, buf, len) == 0) return 0;
  return mem_read(w->m, addr, buf, len); /* more pages than the cache holds: read around it */
}

static int raw_reserve(walker *w, size_t n) { return VEC_RESERVE(w->raw, w->rawcap, n, 1024); }


/* Scratch for batched reads of up to n requests (plus per-request flags and cursors). */
static int scratch_reserve(walker *w, size_t n) {
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
  if (page_find(w, p, 1)) return;
  page_meta *s = page_claim(w, p);
  if (!s) return; /* probe run busy: walk_frames loads it if needed */
  uint8_t *d = slot_data(w, s);
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
 * Only warms the page cache; walk_frames then reads (and checks) the frames.
 */
static void prefetch_frames(walker *w, thread_rec *threads, int n) {
  const py_layout *l = &w->layout;
  size_t fsz = (size_t)l->f_read_size;
  w->dec.spec_read = 0;
  if (n <= 0 || fsz > PAGE || scratch_reserve(w, (size_t)n * 3 + PAGE_SLOTS + DECODE_SPEC_CODES)) return;
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
      int missing = !page_find(w, p0, 1);
      page_want(w, p1, &k);
      if (p0 != p1) page_want(w, p0, &k);
      /* 3.11+: older frames sit just below; a miss while descending means the next page is needed too */
      if (missing && l->frame_kind == FRAME_INTERP && p0 >= 2 * PAGE) page_want(w, p0 - PAGE, &k);
    }
    /* and, after the pages, the headers of the last sample's code objects (decode.c): no call of their own */
    size_t spec = step == 0 ? decode_spec_reqs(&w->dec, w->reqs + k, (size_t)l->co_read_size) : 0;
    if (k + (int)spec) {
      readv_each(w->m, w->reqs, k + (int)spec, w->ok);
      pages_settle(w, w->reqs, k, w->ok);
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

/*
 * The thread states of the last sample's chain (first interpreter) in one
 * call, into tsbuf; spec_got says which. A state whose thread provably has
 * not run since it was read (the quiet hook, asked here) is not read again:
 * only its thread writes its fields, but for the link to the next state,
 * which the exit of that next thread rewrites. So only while the settled
 * hook says no thread ran unseen: an exiting thread ran, and either was not
 * read (the process clock shows its CPU) or was and cannot be read any more.
 * A thread deleting another's state (finalization) is not seen so: every
 * state is read again at least every WALK_SPEC_REFRESH_NS.
 * gil_same: one interpreter, whose GIL is as it was in the memo's sample.
 */
enum { SPEC_READ = 1, SPEC_ASKED = 2, SPEC_QUIET = 4 }; /* spec_got: tsbuf holds it now; the hook was asked; said quiet */

static void spec_tstates(walker *w, uint64_t time_ns, int gil_same) {
  const py_layout *l = &w->layout;
  size_t tsz = (size_t)l->ts_read_size;
  int n = w->nspec;
  memset(w->spec_got, 0, (size_t)n);
  if (scratch_reserve(w, (size_t)n)) return;
  /* Free-threaded builds and those without the kernel tid in the thread state (<=3.10) read every state. */
  int skip = w->quiet && w->settled && l->ts_native_id >= 0 && l->gil_enabled < 0 && time_ns >= w->spec_full_ns &&
             time_ns - w->spec_full_ns < WALK_SPEC_REFRESH_NS && w->settled(w->quiet_ctx);
  uint64_t holder_nid = 0;
  for (int j = 0; skip && gil_same && j < n; j++)
    if (w->spec_ts[j] == w->gil_now[0]) holder_nid = w->spec_nid[j];
  int k = 0;
  for (int j = 0; j < n; j++) {
    uint64_t nid = w->spec_nid[j];
    /* the GIL vouches for every thread but its holder's OS thread (gil_holders) */
    int vouched = gil_same && w->spec_ts[j] != w->gil_now[0] && (!holder_nid || nid != holder_nid);
    if (skip && nid) {
      w->spec_got[j] = SPEC_ASKED;
      if (w->quiet(w->quiet_ctx, nid, vouched)) { w->spec_got[j] |= SPEC_READ | SPEC_QUIET; continue; }
    }
    w->cursors[k] = (uint64_t)j;
    w->reqs[k++] = (mem_req){w->spec_ts[j], w->tsbuf + (size_t)j * tsz, tsz};
  }
  if (k == n) w->spec_full_ns = time_ns;
  if (!k) return;
  readv_each(w->m, w->reqs, k, w->ok);
  for (int i = 0; i < k; i++) w->spec_got[w->cursors[i]] |= w->ok[i] ? SPEC_READ : 0;
}

/* Keep this sample's bytes of chain position t for the next: in place in tsbuf while the order holds. */
static int spec_keep(walker *w, int t, const uint8_t *ts, int *moved) {
  size_t tsz = (size_t)w->layout.ts_read_size;
  if (!*moved && t < w->nspec && ts == w->tsbuf + (size_t)t * tsz) return 0;
  if (t >= w->captsnew) {
    int nc = w->captsnew ? w->captsnew * 2 : 64;
    while (nc <= t) nc *= 2;
    uint8_t *b = realloc(w->tsnew, (size_t)nc * tsz);
    if (!b) return -1;
    w->tsnew = b;
    w->captsnew = nc;
  }
  if (!*moved && t > 0) memcpy(w->tsnew, w->tsbuf, (size_t)t * tsz); /* positions before t were in place */
  *moved = 1;
  memcpy(w->tsnew + (size_t)t * tsz, ts, tsz);
  return 0;
}

/* The chain of threads[0..n) and their bytes (tsnew when moved, else already in tsbuf) for the next sample. */
static void spec_save(walker *w, const thread_rec *threads, int n, int moved) {
  if (n > w->capspec) {
    uint64_t *s = realloc(w->spec_ts, (size_t)n * sizeof *s);
    if (s) w->spec_ts = s;
    uint64_t *d = s ? realloc(w->spec_nid, (size_t)n * sizeof *d) : 0;
    if (d) w->spec_nid = d;
    uint8_t *g = d ? realloc(w->spec_got, (size_t)n) : 0;
    if (g) w->spec_got = g;
    if (!g) { w->nspec = 0; return; }
    w->capspec = n;
  }
  if (moved) {
    uint8_t *b = w->tsbuf;
    int c = w->captsbuf;
    w->tsbuf = w->tsnew;
    w->captsbuf = w->captsnew;
    w->tsnew = b;
    w->captsnew = c;
  }
  if (n > w->captsbuf) {
    /* never happens after a full chain (moved covers it); a chain cut short keeps what it has */
    n = w->captsbuf;
  }
  for (int i = 0; i < n; i++) {
    w->spec_ts[i] = threads[i].tstate;
    w->spec_nid[i] = threads[i].native_id;
  }
  w->nspec = n;
}

/*
 * Walk one thread's frames into w->raw[start..]. Returns the count, or -1 on
 * a torn / invalid chain with the reason in *why. *truncated is set when the
 * depth cap cut it. end: the frame the whole chain ends at, when known (0:
 * only that it ends on an entry shim, where the version has them).
 */
static int walk_frames(walker *w, uint64_t frame, uint64_t end, size_t start, int *truncated, uint8_t *why) {
  const py_layout *l = &w->layout;
  uint8_t buf[LAYOUT_FRAME_MAX]; /* layout_check: every frame field ends within f_read_size <= this */
  int depth = 0, steps = 0, last_owner = -1;
  uint64_t last = 0; /* the outermost frame read */
  uint64_t mark = 0; /* Brent's cycle check: a frame seen again means garbage or a torn read */
  *truncated = 0;
  while (frame) {
    if (depth >= w->max_depth || start + (size_t)depth >= WALK_MAX_TOTAL_FRAMES ||
        (w->fresh && w->frames_read >= WALK_MAX_TOTAL_FRAMES)) { *truncated = 1; break; }
    w->frames_read++;
    if (steps > 0 && (steps & (steps - 1)) == 0) mark = frame;
    else if (frame == mark) { *why = GAUGE_WHY_FRAME_LOOP; return -1; }
    steps++;
    if (raw_reserve(w, start + (size_t)depth + 1)) { *why = GAUGE_WHY_NO_MEMORY; return -1; }
    int below = l->frame_kind == FRAME_INTERP ? PAGE_READAHEAD : 0;
    if (cached_read(w, frame, buf, (size_t)l->f_read_size, below)) { *why = GAUGE_WHY_FRAME_UNREADABLE; return -1; }
    uint64_t next = ld_u64(buf + l->f_back);
    last = frame;
    raw_frame *rf = &w->raw[start + (size_t)depth];
    if (l->frame_kind == FRAME_OBJECT) {
      rf->code = ld_u64(buf + l->f_code);
      int32_t lasti = ld_i32(buf + l->f_lasti);
      rf->addr = lasti < 0 ? -1 : (l->lasti_kind == LASTI_BYTES ? lasti : (int64_t)lasti * 2);
      rf->owner = 0;
      rf->tlbc = 0;
      depth++;
    } else {
      int owner = buf[l->f_owner];
      if (owner > l->owner_max) { *why = GAUGE_WHY_UNKNOWN_OWNER; return -1; }
      last_owner = owner;
      uint64_t code = ld_u64(buf + l->f_code);
      if (l->stackref) code = ((code & 3) == 3 || code == 1) ? 0 : code & ~(uint64_t)3;
      if (owner < l->owner_skip_min && code) { /* C-stack shims and sentinels carry no Python code */
        rf->code = code;
        rf->owner = owner;
        /* the instruction pointer; turned into an offset once the code header is known */
        rf->addr = (int64_t)ld_u64(buf + l->f_lasti);
        rf->tlbc = l->f_tlbc_index >= 0 ? ld_i32(buf + l->f_tlbc_index) : 0;
        depth++;
      }
    }
    frame = next;
  }
  /*
   * A back link read as NULL from a frame popped or reused under the reader
   * ends the chain early: its outer frames are missing. 3.15+ publish where a
   * whole chain ends (the thread's base frame): nothing else passes. 3.12-3.14
   * only say it ends at a C-stack shim (the outermost entry frame, whose
   * address no thread-state field holds): a cut chain ending on an ordinary
   * frame fails, one ending on a stale mid-stack shim cannot be told unless
   * the caller knows the end from the thread's last whole walk (retries).
   */
  int cut = end ? last != end : last_owner >= 0 && l->owner_skip_min <= l->owner_max && last_owner < l->owner_skip_min;
  w->walk_end = last;
  if (!*truncated && last && cut) {
    *why = GAUGE_WHY_FRAME_UNREADABLE;
    return -1;
  }
  return depth;
}

static int read_fields(memsrc *m, uint64_t base, const int64_t *offs, uint64_t *vals, int n) {
  mem_req reqs[8];
  int k = 0;
  for (int i = 0; i < n; i++) {
    vals[i] = 0;
    if (offs[i] < 0) continue;
    reqs[k].addr = base + (uint64_t)offs[i];
    reqs[k].buf = &vals[i];
    reqs[k].len = 8;
    k++;
  }
  return m->readv(m, reqs, k) == k ? 0 : -1;
}

/*
 * Free-threaded 3.14+: where each (code, copy) pair's bytecode starts. A
 * thread running its own specialised copy has instr_ptr inside that copy,
 * found at co_tlbc->entries[idx]; size and entry come in one batched call.
 * bases[i] is 0 where the copy could not be read or the index is out of range.
 */
uint64_t *walker_tlbc_bases(walker *w, thread_rec *threads, int nthreads, const uint8_t *hdrs, const uint8_t *valid,
                            size_t ndistinct) {
  const py_layout *l = &w->layout;
  u64map_clear(&w->tlbc_pairs);
  if (l->co_tlbc < 0) return 0;
  size_t n = 0, cap = 0;
  uint64_t *pairs = 0; /* [code, idx, array] */
  for (int t = 0; t < nthreads; t++)
    for (int d = 0; d < threads[t].depth; d++) {
      raw_frame *rf = &w->raw[threads[t].raw_start + d];
      uint32_t di = rf->didx, have;
      if (rf->tlbc <= 0 || rf->tlbc > 0xffff || di >= ndistinct || !valid[di]) continue;
      uint64_t key = tlbc_key(rf->code, rf->tlbc);
      if (u64map_get(&w->tlbc_pairs, key, &have)) continue;
      if (n == cap) {
        cap = cap ? cap * 2 : 64;
        uint64_t *np = realloc(pairs, cap * 3 * sizeof *np);
        if (!np) { free(pairs); u64map_clear(&w->tlbc_pairs); return 0; }
        pairs = np;
      }
      if (u64map_put(&w->tlbc_pairs, key, (uint32_t)n)) continue;
      pairs[3 * n] = rf->code;
      pairs[3 * n + 1] = (uint64_t)rf->tlbc;
      pairs[3 * n + 2] = ld_u64(hdrs + (size_t)di * (size_t)l->co_read_size + l->co_tlbc);
      n++;
    }
  if (!n) { free(pairs); return 0; }
  uint64_t *got = calloc(2 * n, sizeof *got); /* [size, entry] per pair */
  uint64_t *bases = calloc(n, sizeof *bases);
  if (!got || !bases || scratch_reserve(w, 2 * n)) { free(pairs); free(got); free(bases); u64map_clear(&w->tlbc_pairs); return 0; }
  /* Known copies cost nothing: the same array as last time, and no index handed out or freed since. */
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t ci;
    uint64_t arr = pairs[3 * i + 2];
    if (u64map_get(&w->tlbc_cache, tlbc_key(pairs[3 * i], (int32_t)pairs[3 * i + 1]), &ci) && w->tlbc_vals[2 * ci] == arr) {
      bases[i] = w->tlbc_vals[2 * ci + 1];
      continue;
    }
    w->cursors[k / 2] = i;
    w->reqs[k++] = (mem_req){arr, &got[2 * i], 8};
    w->reqs[k++] = (mem_req){arr + 8 + 8 * pairs[3 * i + 1], &got[2 * i + 1], 8};
  }
  if (k) readv_each(w->m, w->reqs, (int)k, w->ok);
  for (size_t j = 0; j < k / 2; j++) {
    size_t i = (size_t)w->cursors[j];
    if (!w->ok[2 * j] || !w->ok[2 * j + 1] || pairs[3 * i + 1] >= got[2 * i] || got[2 * i] > 0xffff) continue;
    bases[i] = got[2 * i + 1];
    if (!bases[i]) continue;
    uint64_t key = tlbc_key(pairs[3 * i], (int32_t)pairs[3 * i + 1]);
    uint32_t ci;
    if (!u64map_get(&w->tlbc_cache, key, &ci)) {
      if (VEC_RESERVE(w->tlbc_vals, w->captlbc, 2 * (w->ntlbc + 1), 256) || u64map_put(&w->tlbc_cache, key, (uint32_t)w->ntlbc)) {
        u64map_clear(&w->tlbc_cache); /* bounded: a cache, start over */
        w->ntlbc = 0;
        continue;
      }
      ci = (uint32_t)w->ntlbc++;
    }
    w->tlbc_vals[2 * ci] = pairs[3 * i + 2];
    w->tlbc_vals[2 * ci + 1] = bases[i];
  }
  free(pairs);
  free(got);
  return bases;
}

/*
 * Reasons a chain read while its thread runs shows when it changed under the
 * reader (a frame popped and its memory reused: owner byte, back link or the
 * chain's end overwritten), and a fresh read of the same thread usually does
 * not. Structural failures (thread or interpreter lists, cframe, memory) are
 * not retried. Code and instruction checks come later, in walker_resolve (decode.c).
 */
static int torn_reason(uint8_t why) {
  return why == GAUGE_WHY_FRAME_UNREADABLE || why == GAUGE_WHY_FRAME_LOOP || why == GAUGE_WHY_UNKNOWN_OWNER;
}

/* Where a thread's last whole walk is kept: direct-mapped by thread state. */
static size_t whole_slot(uint64_t tstate) {
  return (size_t)((tstate * 0x9E3779B97F4A7C15ull) >> 60) & (WALK_WHOLE_SLOTS - 1);
}

static void whole_save(walker *w, uint64_t tstate, int truncated) {
  size_t i = whole_slot(tstate);
  int n = w->ntouched < WALK_TOUCHED ? w->ntouched : WALK_TOUCHED;
  w->whole[i].tstate = tstate;
  w->whole[i].end = truncated ? 0 : w->walk_end;
  w->whole[i].n = n;
  memcpy(w->whole[i].pages, w->touched, (size_t)n * sizeof *w->touched);
}

/*
 * Walk a torn thread again, its chain as nearly a snapshot as one call
 * allows: its current-frame word (through the cframe on 3.11/3.12) first,
 * then the pages its last attempt read and those of its last whole walk
 * (where the outer frames stay while the inner ones churn). Word first: a
 * data-stack page read after it still holds the frame it names (frames pop
 * and push above it); one read before it misses frames pushed since
 * (measured on a churning asyncio loop: unknown owners fell ~4x). Frames on
 * other pages are read one by one (counted in retry_reads). Returns as
 * walk_frames; -1 with *why untouched when the thread state cannot be read.
 */
static int retry_walk(walker *w, const thread_rec *th, size_t start, int *truncated, uint8_t *why) {
  const py_layout *l = &w->layout;
  uint64_t at = th->tstate + (uint64_t)l->ts_frame, f = 0;
  if (l->ts_cframe >= 0) {
    uint64_t cf;
    if (mem_read_u64(w->m, at, &cf)) return -1;
    if (!cf) return 0;
    at = cf + (uint64_t)l->cf_current_frame;
  }
  size_t wi = whole_slot(th->tstate);
  for (int i = 0; w->whole[wi].tstate == th->tstate && i < w->whole[wi].n; i++)
    if (w->ntouched < 2 * WALK_TOUCHED && !touched(w, w->whole[wi].pages[i])) w->touched[w->ntouched++] = w->whole[wi].pages[i];
  mem_req reqs[2 * WALK_TOUCHED + 1];
  uint8_t ok[2 * WALK_TOUCHED + 1];
  int n = 1, kept = 0;
  reqs[0] = (mem_req){at, &f, 8};
  for (int i = 0; i < w->ntouched; i++) {
    page_meta *s = page_find(w, w->touched[i], 0);
    if (!s) s = page_claim(w, w->touched[i]);
    if (!s) continue; /* probe run busy: its frames are read one by one */
    w->touched[kept++] = w->touched[i];
    reqs[n++] = (mem_req){w->touched[i], slot_data(w, s), PAGE};
  }
  w->ntouched = kept;
  readv_each(w->m, reqs, n, ok);
  pages_settle(w, reqs + 1, n - 1, ok + 1);
  if (!ok[0]) return -1;
  uint64_t calls = w->m->syscalls;
  /* A retry is another chance for a torn chain to pass as whole: where the thread's last whole walk ended, it must end. */
  uint64_t end = th->base ? th->base : w->whole[wi].tstate == th->tstate ? w->whole[wi].end : 0;
  w->fresh = 1;
  int depth = f ? walk_frames(w, f, end, start, truncated, why) : 0;
  w->fresh = 0;
  w->retry_reads += w->m->syscalls - calls;
  return depth;
}

/* Kernel tids of <=3.10 threads: one batched read of each struct pthread's tid field. */
static void fill_native_ids(walker *w, thread_rec *threads, int n) {
  if (w->layout.ts_native_id >= 0 || w->pthread_tid_off < 0 || n == 0) return;
  mem_req *reqs = malloc((size_t)n * sizeof *reqs);
  int32_t *tids = calloc((size_t)n, sizeof *tids);
  if (reqs && tids) {
    for (int i = 0; i < n; i++) reqs[i] = (mem_req){threads[i].thread_id + (uint64_t)w->pthread_tid_off, &tids[i], 4};
    int got = w->m->readv(w->m, reqs, n);
    for (int i = 0; i < got; i++) threads[i].native_id = tids[i] > 0 ? (uint64_t)tids[i] : 0;
  }
  free(reqs);
  free(tids);
}

/*
 * Marks the GILs' last holders (GAUGE_TH_GIL is only the current one) and
 * every thread state on the same OS thread as one: PyThreadState_Swap moves
 * the holder's OS thread between states without a switch, so the switch count
 * vouches for none of them. held[t] is set for those.
 */
static void gil_holders(const walker *w, const thread_rec *threads, int n, uint8_t *held) {
  uint64_t tids[WALK_MAX_INTERPS];
  int ntids = 0;
  for (int t = 0; t < n; t++) {
    held[t] = 0;
    for (int g = 0; g < w->ngil_now; g++)
      if (threads[t].tstate == w->gil_now[2 * g]) {
        held[t] = 1;
        if (ntids < WALK_MAX_INTERPS) tids[ntids++] = threads[t].native_id;
      }
  }
  for (int t = 0; t < n; t++)
    for (int g = 0; g < ntids && !held[t]; g++) held[t] = threads[t].native_id == tids[g];
}

static int put(uint32_t *out, int cap, int *pos, uint32_t v) {
  if (*pos >= cap) return -1;
  out[(*pos)++] = v;
  return 0;
}

int walker_sample(walker *w, uint64_t time_ns, uint32_t *out, int cap) {
  const py_layout *l = &w->layout;
  if (cap < GAUGE_REC_HEADER) return -GAUGE_ENOMEM;
  pages_reset(w);
  uint32_t rflags = 0;
  uint8_t rwhy = GAUGE_WHY_NONE;
  thread_rec *threads = w->threads;
  int nthreads = 0, capthreads = w->capthreads;

  uint64_t interp = 0;
  if (l->root_is_interp_head) {
    if (mem_read_u64(w->m, w->root, &interp)) goto fail;
  } else if (mem_read_u64(w->m, w->root + (uint64_t)l->rt_interp_head, &interp)) {
    goto fail;
  }
  /* OpenTelemetry's ContextVar and span key: looked for now and then until found, then rechecked on use. */
  if (w->otel_on && interp && !w->otel.cvar && time_ns >= w->otel.next_try_ns &&
      otel_discover(w->m, l, &w->otel, interp) != 0)
    w->otel.next_try_ns = time_ns + OTEL_RETRY_NS;
  uint64_t holder = 0;
  if (l->gil_kind == GIL_TSTATE_CURRENT_SYM && w->tstate_current) mem_read_u64(w->m, w->tstate_current, &holder);
  else if (l->gil_kind == GIL_RUNTIME) mem_read_u64(w->m, w->root + (uint64_t)l->rt_tstate_current, &holder);

  /* Only GIL builds with a known switch count can vouch (walker.h); free-threaded ones run Python without it. */
  w->ngil_now = l->gil_kind == GIL_INTERP_PTR && l->gil_switches >= 0 && l->gil_enabled < 0 ? 0 : -1;
  uint64_t seen_interp[WALK_MAX_INTERPS];
  size_t rawpos = 0;
  int n_first = 0; /* threads of the first interpreter: the chain speculated on next time */
  int spec_moved = 0, spec_bad = 0; /* its bytes: not in chain order in tsbuf (spec_keep); not all kept */
  for (int ni = 0; interp && ni < WALK_MAX_INTERPS; ni++) {
    for (int k = 0; k < ni; k++)
      if (seen_interp[k] == interp) { rflags |= GAUGE_REC_ERROR; rwhy = GAUGE_WHY_INTERP_LIST; goto done; }
    seen_interp[ni] = interp;
    int64_t offs[5] = {l->is_next, l->is_threads_head, l->is_id, l->gil_kind == GIL_INTERP_PTR ? l->is_gil_ptr : -1,
                       ni == 0 ? l->is_tlbc_gen : -1};
    uint64_t v[5];
    if (read_fields(w->m, interp, offs, v, 5)) { rflags |= GAUGE_REC_ERROR; rwhy = GAUGE_WHY_INTERP_LIST; goto done; }
    if (ni == 0 && l->is_tlbc_gen >= 0 && (uint32_t)v[4] != w->tlbc_gen) {
      /* A bytecode-copy index was handed out or freed: copies may have moved. */
      u64map_clear(&w->tlbc_cache);
      w->ntlbc = 0;
      w->tlbc_gen = (uint32_t)v[4];
    }
    uint64_t next_interp = v[0], tstate = v[1];
    int64_t interp_id = l->is_id >= 0 ? (int64_t)v[2] : 0;
    if (l->gil_kind == GIL_INTERP_PTR) {
      holder = 0;
      uint64_t gv[4];
      int64_t goffs[4] = {l->gil_holder, l->gil_locked, l->gil_enabled, l->gil_switches};
      if (v[3] && read_fields(w->m, v[3], goffs, gv, 4) == 0) {
        /* Free-threaded builds run without a GIL unless something turned it on (PYTHON_GIL=1, an old extension). */
        if (l->gil_enabled >= 0 && (uint32_t)gv[2] == 0) rflags |= GAUGE_REC_NO_GIL;
        else if ((uint32_t)gv[1] != 0) holder = gv[0];
        if (w->ngil_now >= 0) { w->gil_now[2 * ni] = gv[0]; w->gil_now[2 * ni + 1] = gv[3]; w->ngil_now = ni + 1; }
      } else {
        w->ngil_now = -1;
      }
    }
    uint64_t mark = 0;
    int nspec = ni == 0 ? w->nspec : 0, spec_at = 0;
    if (nspec) {
      int gil_same = !next_interp && w->ngil_now == 1 && w->ngil_memo == 1 && w->gil_now[0] == w->gil_memo[0] &&
                     w->gil_now[1] == w->gil_memo[1];
      spec_tstates(w, time_ns, gil_same);
    }
    for (int nt = 0; tstate; nt++) {
      if (nthreads >= WALK_MAX_THREADS) { rflags |= GAUGE_REC_ERROR; rwhy = GAUGE_WHY_THREAD_LIST; break; }
      if (nt > 0 && (nt & (nt - 1)) == 0) mark = tstate;
      else if (nt > 0 && tstate == mark) { rflags |= GAUGE_REC_ERROR; rwhy = GAUGE_WHY_THREAD_LIST; break; }
      uint8_t tsl[LAYOUT_TS_MAX]; /* layout_check: ts_read_size <= this */
      const uint8_t *ts = 0;
      uint8_t quiet = 0;
      /* The chain rarely changes between samples: use the batch read when this is the next known state. */
      for (int j = spec_at; j < nspec && j < spec_at + 4; j++)
        if (w->spec_ts[j] == tstate) {
          if (w->spec_got[j] & SPEC_READ) ts = w->tsbuf + (size_t)j * (size_t)l->ts_read_size;
          quiet = w->spec_got[j] & SPEC_ASKED ? (w->spec_got[j] & SPEC_QUIET ? 1 : 2) : 0;
          spec_at = j + 1;
          break;
        }
      if (!ts) {
        if ((size_t)l->ts_read_size > sizeof tsl || mem_read(w->m, tstate, tsl, (size_t)l->ts_read_size)) {
          rflags |= GAUGE_REC_ERROR;
          rwhy = GAUGE_WHY_THREAD_LIST;
          break;
        }
        ts = tsl;
      }
      if (nthreads == capthreads) {
        int nc = capthreads ? capthreads * 2 : 64;
        thread_rec *nt2 = realloc(threads, (size_t)nc * sizeof *nt2);
        if (!nt2) { rflags |= GAUGE_REC_ERROR; rwhy = GAUGE_WHY_NO_MEMORY; break; }
        w->threads = threads = nt2;
        w->capthreads = capthreads = nc;
      }
      thread_rec *th = &threads[nthreads++];
      memset(th, 0, sizeof *th);
      th->tstate = tstate;
      th->thread_id = ld_u64(ts + l->ts_thread_id);
      th->native_id = l->ts_native_id >= 0 ? ld_u64(ts + l->ts_native_id) : 0;
      th->interp_id = interp_id;
      if (holder && holder == tstate) th->flags |= GAUGE_TH_GIL;
      th->frame = ld_u64(ts + l->ts_frame);
      th->base = l->ts_base_frame >= 0 ? ld_u64(ts + l->ts_base_frame) : 0;
      th->quiet = quiet;
      if (ni == 0 && spec_keep(w, nthreads - 1, ts, &spec_moved)) spec_bad = 1;
      tstate = ld_u64(ts + l->ts_next);
    }
    if (ni == 0) n_first = nthreads;
    interp = next_interp;
  }
done:
  spec_save(w, threads, spec_bad ? 0 : n_first, spec_moved);
  fill_native_ids(w, threads, nthreads);
  int gil_same = w->quiet && w->ngil_now > 0 && w->ngil_now == w->ngil_memo &&
                 memcmp(w->gil_now, w->gil_memo, (size_t)w->ngil_now * 2 * sizeof *w->gil_now) == 0;
  if (gil_same && scratch_reserve(w, (size_t)nthreads)) gil_same = 0;
  if (gil_same) gil_holders(w, threads, nthreads, w->ok); /* the batched-read flags are free until the cframe reads */
  for (int t = 0; t < nthreads; t++) {
    thread_rec *th = &threads[t];
    th->memo_at = -1;
    /* asked before its state was read (spec_tstates): the answer stands */
    if (!w->quiet || !th->native_id || th->quiet == 2) continue;
    if (!th->quiet && !w->quiet(w->quiet_ctx, th->native_id, gil_same && !w->ok[t])) continue;
    th->memo_at = memo_find(&w->memo, (size_t)t, th->tstate, th->thread_id, th->native_id, w->max_depth);
    if (th->memo_at >= 0) th->frame = 0; /* nothing to read for it below */
  }
  /* 3.11/3.12: every thread's cframe -> current_frame in one call */
  if (l->ts_cframe >= 0 && nthreads > 0 && scratch_reserve(w, (size_t)nthreads) == 0) {
    int k = 0;
    for (int t = 0; t < nthreads; t++)
      if (threads[t].frame) {
        w->cursors[k] = (uint64_t)t;
        w->reqs[k] = (mem_req){threads[t].frame + (uint64_t)l->cf_current_frame, &threads[t].frame, 8};
        k++;
      }
    if (k) {
      readv_each(w->m, w->reqs, k, w->ok);
      for (int j = 0; j < k; j++)
        if (!w->ok[j]) { threads[w->cursors[j]].frame = 0; thread_failed(&threads[w->cursors[j]], GAUGE_WHY_CFRAME); }
    }
  } else if (l->ts_cframe >= 0) {
    for (int t = 0; t < nthreads; t++) threads[t].frame = 0;
  }
  prefetch_frames(w, threads, nthreads);
  w->frames_read = 0;
  int pauses = 0, retries = 0; /* this sample */
  for (int t = 0; t < nthreads; t++) {
    thread_rec *th = &threads[t];
    int truncated = 0;
    th->raw_start = rawpos;
    uint8_t why = GAUGE_WHY_NONE;
    w->ntouched = 0;
    int depth = th->frame ? walk_frames(w, th->frame, th->base, rawpos, &truncated, &why) : 0;
    /* A few times per thread per sample, into the same raw slots: the frame budget still bounds the sample. */
    for (int tries = 0; depth < 0 && torn_reason(why) && tries < WALK_TORN_RETRIES && retries < WALK_RETRY_BUDGET &&
                        w->frames_read < WALK_MAX_TOTAL_FRAMES;
         tries++) {
      w->stack_retries++;
      retries++;
      /* a process moves on while the reader waits; an image (tests, the fuzzer) does not */
      if (tries > 0 && pauses < WALK_RETRY_PAUSES && w->m->pid > 0) {
        pauses++;
        nanosleep(&(struct timespec){0, WALK_RETRY_PAUSE_NS}, 0);
      }
      depth = retry_walk(w, th, rawpos, &truncated, &why);
    }
    if (depth < 0) {
      thread_failed(th, why);
      depth = 0;
    } else if (th->frame) {
      whole_save(w, th->tstate, truncated);
    }
    if (truncated) { th->flags |= GAUGE_TH_TRUNCATED; if (!th->why) th->why = GAUGE_WHY_DEPTH_CAP; }
    th->depth = depth;
    rawpos += (size_t)depth;
  }
  if (walker_resolve(w, threads, nthreads)) {
    /* Raw frames still hold code addresses, not ids: drop them all rather than name the wrong functions. */
    rflags |= GAUGE_REC_ERROR;
    rwhy = GAUGE_WHY_NO_MEMORY;
    for (int t = 0; t < nthreads; t++) { thread_failed(&threads[t], GAUGE_WHY_NO_MEMORY); threads[t].depth = 0; }
  }
  /* A burst of deep stacks must not pin its memory for the session. */
  if (w->rawcap > 65536 && w->rawcap > 4 * rawpos) {
    size_t keep = rawpos * 2 > 1024 ? rawpos * 2 : 1024;
    raw_frame *r = realloc(w->raw, keep * sizeof *r);
    if (r) { w->raw = r; w->rawcap = keep; }
  }
  w->nlast_pthreads = 0;
  for (int i = 0; i < nthreads && i < 64; i++) w->last_pthreads[w->nlast_pthreads++] = threads[i].thread_id;

  int pos = GAUGE_REC_HEADER;
  for (int t = 0; t < nthreads; t++) {
    thread_rec *th = &threads[t];
    if (th->flags & GAUGE_TH_ERROR) w->thread_errors++;
    otel_ids ids;
    int traced = w->otel_on && w->otel.cvar && otel_thread(w->m, l, &w->otel, th->tstate, &ids) == 0;
    if (traced) th->flags |= GAUGE_TH_TRACE;
    /* A thread failed this sample (its ids could not be resolved) keeps no frames, copied ones neither. */
    const uint32_t *mh = th->memo_at >= 0 && !(th->flags & GAUGE_TH_ERROR) ? memo_header(&w->memo, th->memo_at) : 0;
    if (mh) {
      th->flags |= mh[3] & GAUGE_TH_TRUNCATED;
      th->why = (uint8_t)(mh[3] >> 16);
      th->depth = (int)mh[7];
    }
    uint32_t hdr[GAUGE_THREAD_HEADER] = {(uint32_t)th->thread_id, (uint32_t)(th->thread_id >> 32),
                                         (uint32_t)th->native_id, th->flags | ((uint32_t)th->why << 16),
                                         0xffffffffu, 0xffffffffu,
                                         (uint32_t)th->interp_id, (uint32_t)th->depth};
    for (int k = 0; k < GAUGE_THREAD_HEADER; k++)
      if (put(out, cap, &pos, hdr[k])) goto nomem;
    for (int d = 0; d < th->depth; d++)
      if (put(out, cap, &pos, mh ? mh[GAUGE_THREAD_HEADER + d] : (uint32_t)w->raw[th->raw_start + d].code)) goto nomem;
    if (traced) {
      uint32_t tw[GAUGE_TRACE_WORDS] = {(uint32_t)(ids.trace_hi >> 32), (uint32_t)ids.trace_hi,
                                        (uint32_t)(ids.trace_lo >> 32), (uint32_t)ids.trace_lo,
                                        (uint32_t)(ids.span >> 32),     (uint32_t)ids.span};
      for (int k = 0; k < GAUGE_TRACE_WORDS; k++)
        if (put(out, cap, &pos, tw[k])) goto nomem;
    }
  }
  out[0] = (uint32_t)pos;
  out[1] = (uint32_t)w->pid;
  out[2] = (uint32_t)time_ns;
  out[3] = (uint32_t)(time_ns >> 32);
  out[4] = (uint32_t)nthreads;
  out[5] = rflags | ((uint32_t)rwhy << 8);
  if (w->quiet) {
    memo_save(&w->memo, out, (size_t)pos, nthreads ? &threads[0].tstate : 0, sizeof *threads, w->max_depth);
    memcpy(w->gil_memo, w->gil_now, sizeof w->gil_memo);
    w->ngil_memo = w->ngil_now;
  }
  return pos;
nomem:
  return -GAUGE_ENOMEM;
fail:
  if (w->m->gone) return -GAUGE_EEXITED;
  out[0] = GAUGE_REC_HEADER;
  out[1] = (uint32_t)w->pid;
  out[2] = (uint32_t)time_ns;
  out[3] = (uint32_t)(time_ns >> 32);
  out[4] = 0;
  out[5] = GAUGE_REC_ERROR | ((uint32_t)GAUGE_WHY_INTERP_LIST << 8);
  return GAUGE_REC_HEADER;
}

int walker_calibrate_tid(walker *w, const int *tids, int ntids) {
  int n = w->nlast_pthreads;
  if (w->layout.ts_native_id >= 0 || n == 0 || ntids == 0) return -1;
  enum { SPAN = 2048 };
  static const int preferred = 0x2d0; /* glibc x86_64; checked, not assumed */
  uint8_t *blocks = malloc((size_t)n * SPAN);
  if (!blocks) return -1;
  int ok = 0;
  for (int i = 0; i < n; i++)
    if (mem_read(w->m, w->last_pthreads[i], blocks + (size_t)i * SPAN, SPAN) == 0) ok |= 1; else { free(blocks); return -1; }
  int best = -1;
  for (int off = 0; off + 4 <= SPAN; off += 4) {
    int good = 1;
    for (int i = 0; i < n && good; i++) {
      int32_t v = ld_i32(blocks + (size_t)i * SPAN + off);
      int found = 0;
      for (int k = 0; k < ntids; k++) if (tids[k] == v) { found = 1; break; }
      /* every thread's value must be a task id, and distinct from the others' */
      for (int j = 0; j < i && found; j++) if (ld_i32(blocks + (size_t)j * SPAN + off) == v) found = 0;
      good = found;
    }
    if (good && (best < 0 || off == preferred)) best = off;
    if (best == preferred) break;
  }
  free(blocks);
  (void)ok;
  if (best >= 0) w->pthread_tid_off = best;
  return best;
}
