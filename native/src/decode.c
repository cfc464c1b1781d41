/* Raw frames -> frame ids, each distinct code object's header read once per sample (decode.h). */
#include "../include/gauge.h"
#include "decode.h"
#include "vec.h"
#include "walker.h"
#include <stdlib.h>
#include <string.h>

#define NO_DISTINCT UINT32_MAX
#define NOT_CODE UINT32_MAX /* ent[]: frames_code refused the header */

int decode_init(decode_state *d) {
  memset(d, 0, sizeof *d);
  d->spec_codes = malloc(DECODE_SPEC_CODES * sizeof *d->spec_codes);
  d->spec_ok = malloc(DECODE_SPEC_CODES);
  if (!d->spec_codes || !d->spec_ok || u64map_init(&d->spec_index, 2 * DECODE_SPEC_CODES)) return -1;
  return u64map_init(&d->prev_index, 64);
}

size_t decode_spec_reqs(decode_state *d, mem_req *reqs, size_t hs) {
  if (!d->spec_hdrs) d->spec_hdrs = malloc(DECODE_SPEC_CODES * LAYOUT_CODE_MAX);
  if (!d->spec_hdrs || hs > LAYOUT_CODE_MAX) return 0;
  for (size_t i = 0; i < d->nspec; i++) reqs[i] = (mem_req){d->spec_codes[i], d->spec_hdrs + i * hs, hs};
  return d->nspec;
}

/* This sample's distinct codes become the ones read ahead next time. */
static void spec_keep(decode_state *d, size_t nd) {
  u64map_clear_keys(&d->spec_index, d->spec_codes, d->nspec);
  d->nspec = 0;
  for (size_t i = 0; i < nd && d->nspec < DECODE_SPEC_CODES; i++)
    if (d->valid[i] && u64map_put(&d->spec_index, d->codes[i], (uint32_t)d->nspec) == 0) d->spec_codes[d->nspec++] = d->codes[i];
}

void decode_free(decode_state *d) {
  free(d->codes);
  free(d->reqs);
  free(d->valid);
  free(d->ent);
  free(d->ent_resets);
  free(d->prev);
  free(d->next);
  free(d->prevt);
  free(d->nextt);
  free(d->spec_codes);
  free(d->spec_hdrs);
  free(d->spec_ok);
  free(d->need);
  u64map_free(&d->spec_index);
  u64map_free(&d->prev_index);
  memset(d, 0, sizeof *d);
}

/* Room for n distinct code objects; every array grows together. */
static int distinct_reserve(decode_state *d, size_t n) {
  if (n <= d->capdistinct) return 0;
  size_t c = d->capdistinct;
  if (VEC_RESERVE(d->codes, c, n, 256)) return -1;
  c = d->capdistinct;
  if (VEC_RESERVE(d->reqs, c, n, 256)) return -1;
  c = d->capdistinct;
  if (VEC_RESERVE(d->valid, c, n, 256)) return -1;
  c = d->capdistinct;
  if (VEC_RESERVE(d->ent, c, n, 256)) return -1;
  c = d->capdistinct;
  if (VEC_RESERVE(d->ent_resets, c, n, 256)) return -1;
  c = d->capdistinct;
  if (VEC_RESERVE(d->need, c, n, 256)) return -1;
  d->capdistinct = c;
  return 0;
}

/* The sample's distinct code objects into d->codes (rf->didx says which), their headers read in one call. */
static size_t read_code_headers(walker *w, thread_rec *threads, int nthreads) {
  decode_state *d = &w->dec;
  size_t hs = (size_t)w->layout.co_read_size, nd = 0;
  u64map_clear_keys(&w->distinct, d->codes, d->ndistinct); /* the last sample's keys, in the order put */
  uint64_t last = 0; /* recursion and loops: a frame's code is often the one of the frame before */
  uint32_t lastidx = NO_DISTINCT;
  for (int t = 0; t < nthreads; t++)
    for (int k = 0; k < threads[t].depth; k++) {
      raw_frame *rf = &w->raw[threads[t].raw_start + (size_t)k];
      uint32_t idx;
      rf->didx = NO_DISTINCT; /* read alone later, as a fallback */
      if (!rf->code) continue;
      if (rf->code == last) { rf->didx = lastidx; continue; }
      if (u64map_get(&w->distinct, rf->code, &idx)) { rf->didx = lastidx = idx; last = rf->code; continue; }
      /* cleared every sample, so sized by use (grown), not for the worst case */
      if (distinct_reserve(d, nd + 1) || u64map_grow_if_full(&w->distinct) ||
          u64map_put(&w->distinct, rf->code, (uint32_t)nd))
        continue;
      d->codes[nd] = last = rf->code;
      rf->didx = lastidx = (uint32_t)nd++;
    }
  d->ndistinct = nd;
  if (nd * hs > w->codehdrcap) {
    uint8_t *n = realloc(w->codehdrs, nd * hs);
    if (!n) return 0; /* every frame then reads its code alone */
    w->codehdrs = n;
    w->codehdrcap = nd * hs;
  }
  /* headers read ahead with the first page batch are taken from there; only the others are read now */
  size_t nneed = 0;
  for (size_t i = 0; i < nd; i++) {
    uint32_t j;
    d->ent[i] = 0;
    d->valid[i] = d->spec_read && u64map_get(&d->spec_index, d->codes[i], &j) && j < d->nspec && d->spec_ok[j];
    if (d->valid[i]) memcpy(w->codehdrs + i * hs, d->spec_hdrs + (size_t)j * hs, hs);
    else {
      d->reqs[nneed] = (mem_req){d->codes[i], w->codehdrs + i * hs, hs};
      d->need[nneed++] = (uint32_t)i;
    }
  }
  d->spec_read = 0;
  size_t done = 0;
  while (done < nneed) {
    int got = w->m->readv(w->m, d->reqs + done, (int)(nneed - done));
    for (int i = 0; i < got; i++) d->valid[d->need[done + (size_t)i]] = 1;
    done += (size_t)got;
    if (done < nneed) done++; /* skip the unreadable one, keep going */
  }
  spec_keep(d, nd);
  return nd;
}

/* The frame's code entry: looked up once per distinct code object per sample (while the cache is not reset). */
static code_entry *entry_of(walker *w, const raw_frame *rf, size_t nd) {
  decode_state *d = &w->dec;
  frame_cache *fc = w->fc;
  size_t hs = (size_t)w->layout.co_read_size;
  if (rf->didx == NO_DISTINCT || rf->didx >= nd) {
    uint8_t lone[LAYOUT_CODE_MAX]; /* layout_check: co_read_size <= this */
    if (!rf->code || mem_read(w->m, rf->code, lone, hs)) return 0;
    return frames_code(fc, w->m, &w->layout, rf->code, lone);
  }
  size_t i = rf->didx;
  if (!d->valid[i]) return 0;
  if (d->ent[i] && d->ent_resets[i] == fc->resets) return d->ent[i] == NOT_CODE ? 0 : &fc->codes[d->ent[i] - 1];
  code_entry *e = frames_code(fc, w->m, &w->layout, rf->code, w->codehdrs + i * hs);
  d->ent[i] = e ? (uint32_t)(e - fc->codes) + 1 : NOT_CODE;
  d->ent_resets[i] = fc->resets;
  return e;
}

/* This thread's decoded frames of the last sample, or NULL. */
static const decoded_thread *prev_thread(const decode_state *d, uint64_t tstate) {
  uint32_t i;
  return u64map_get(&d->prev_index, tstate, &i) && i < d->nprevt ? &d->prevt[i] : 0;
}

/* Keep n decoded frames of a thread for the next sample (nothing kept when out of room). */
static decoded_frame *keep_thread(decode_state *d, uint64_t tstate, size_t n) {
  if (d->nnext + n > WALK_MAX_TOTAL_FRAMES || VEC_RESERVE(d->next, d->capnext, d->nnext + n, 1024) ||
      VEC_RESERVE(d->nextt, d->capnextt, d->nnextt + 1, 64))
    return 0;
  d->nextt[d->nnextt++] = (decoded_thread){tstate, d->nnext, (uint32_t)n};
  decoded_frame *f = d->next + d->nnext;
  d->nnext += n;
  return f;
}

/* The frames decoded now become the ones compared with next time. */
static void rotate(decode_state *d) {
  decoded_frame *f = d->prev;
  size_t c = d->capprev;
  d->prev = d->next;
  d->capprev = d->capnext;
  d->nprev = d->nnext;
  d->next = f;
  d->capnext = c;
  decoded_thread *t = d->prevt;
  c = d->capprevt;
  d->prevt = d->nextt;
  d->capprevt = d->capnextt;
  d->nprevt = d->nnextt;
  d->nextt = t;
  d->capnextt = c;
  d->nnext = d->nnextt = 0;
  /* a burst of deep stacks must not pin its memory for the session */
  if (d->capnext > 65536 && d->capnext > 4 * d->nprev) {
    free(d->next);
    d->next = 0;
    d->capnext = 0;
  }
  u64map_clear(&d->prev_index);
  for (size_t i = 0; i < d->nprevt; i++)
    if (u64map_grow_if_full(&d->prev_index) || u64map_put(&d->prev_index, d->prevt[i].tstate, (uint32_t)i)) break;
}

/* How many outermost frames of the thread read the same as last time (code, instruction, owner, bytecode copy). */
static size_t same_outer(const walker *w, const thread_rec *th, const decoded_thread *pt) {
  size_t n = (size_t)th->depth, k = 0;
  if (!pt) return 0;
  const raw_frame *r = w->raw + th->raw_start + n;
  const decoded_frame *p = w->dec.prev + pt->start + pt->depth;
  while (k < n && k < pt->depth) {
    const raw_frame *a = r - 1 - k;
    const decoded_frame *b = p - 1 - k;
    if (a->code != b->code || a->addr != b->addr || a->owner != b->owner || a->tlbc != b->tlbc) break;
    k++;
  }
  return k;
}

/*
 * Decode one frame: its id, DECODE_SKIP (not shown yet), or -1 with the
 * thread failed. bases: tlbc_bases' per-pair bytecode starts.
 */
static int64_t decode_frame(walker *w, thread_rec *th, const raw_frame *rf, code_entry *e, const uint64_t *bases) {
  const py_layout *l = &w->layout;
  int64_t addr = rf->addr;
  if (l->frame_kind == FRAME_INTERP) {
    uint64_t base = rf->code + (uint64_t)l->co_code;
    if (rf->tlbc < 0 || rf->tlbc > 0xffff) { thread_failed(th, GAUGE_WHY_BYTECODE_COPY); return -1; }
    if (rf->tlbc != 0) {
      uint32_t pi;
      base = bases && u64map_get(&w->tlbc_pairs, tlbc_key(rf->code, rf->tlbc), &pi) ? bases[pi] : 0;
      if (!base) { thread_failed(th, GAUGE_WHY_BYTECODE_COPY); return -1; }
    }
    addr = (int64_t)((uint64_t)rf->addr - base);
    if (addr < -2 || addr > (1ll << 30)) { thread_failed(th, GAUGE_WHY_BAD_INSTRUCTION); return -1; }
    /* Frames still setting up (before RESUME) are not shown by CPython either. */
    if (rf->owner != l->owner_generator && addr < (int64_t)e->firsttraceable * 2) return DECODE_SKIP;
  }
  return frames_id(w->fc, l, e, addr);
}

/* One thread's raw frames -> ids in place (raw[].code holds the id after); its decoded frames kept for next time. */
static void decode_thread_frames(walker *w, thread_rec *th, size_t nd, const uint64_t *bases) {
  decode_state *d = &w->dec;
  const decoded_thread *pt = prev_thread(d, th->tstate);
  size_t n = (size_t)th->depth, same = same_outer(w, th, pt), end = pt ? pt->start + pt->depth : 0;
  size_t mark = d->nnext, markt = d->nnextt;
  decoded_frame *keep = keep_thread(d, th->tstate, n);
  int out = 0;
  for (size_t k = 0; k < n; k++) {
    raw_frame *rf = &w->raw[th->raw_start + k];
    code_entry *e = entry_of(w, rf, nd);
    if (!e) { thread_failed(th, GAUGE_WHY_CODE_UNREADABLE); break; }
    /* raw k pairs with the last sample's frame as far from the outermost one, while k >= n - same */
    const decoded_frame *was = k >= n - same ? &d->prev[end - (n - k)] : 0;
    /* a bytecode copy's start may have moved (tlbc_bases): its offset is worked out again */
    int reuse = was && was->gen == e->gen && rf->tlbc == 0;
    int64_t id = reuse ? (int64_t)was->id : decode_frame(w, th, rf, e, bases);
    d->decoded++;
    d->reused += (uint64_t)reuse;
    if (id < 0) break;
    if (keep) keep[k] = (decoded_frame){rf->code, rf->addr, rf->owner, rf->tlbc, e->gen, (uint32_t)id};
    /* raw[].code holds the id from here: each raw frame is consumed once */
    if (id != DECODE_SKIP) w->raw[th->raw_start + (size_t)out++].code = (uint32_t)id;
  }
  if (th->flags & GAUGE_TH_ERROR) {
    out = 0;
    d->nnext = mark; /* a failed stack is not compared with */
    d->nnextt = markt;
  }
  th->depth = out;
}

int walker_resolve(walker *w, thread_rec *threads, int nthreads) {
  decode_state *d = &w->dec;
  size_t total = 0;
  for (int t = 0; t < nthreads; t++) total += (size_t)threads[t].depth;
  size_t nd = total ? read_code_headers(w, threads, nthreads) : 0;
  uint64_t *bases = total ? walker_tlbc_bases(w, threads, nthreads, w->codehdrs, d->valid, nd) : 0;
  for (int t = 0; t < nthreads; t++) {
    thread_rec *th = &threads[t];
    if (th->depth > 0) { decode_thread_frames(w, th, nd, bases); continue; }
    /* not walked (copied from the stack memo): its frames stay as they were for when it runs again */
    const decoded_thread *pt = th->memo_at >= 0 ? prev_thread(d, th->tstate) : 0;
    decoded_frame *keep = pt ? keep_thread(d, th->tstate, pt->depth) : 0;
    if (keep) memcpy(keep, d->prev + pt->start, pt->depth * sizeof *keep);
  }
  free(bases);
  rotate(d);
  return 0;
}
