#include "pagecache.h"
#include "../include/gauge.h"
#include <stddef.h>
#include <stdlib.h>
#include <string.h>


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
  if (walker_scratch_reserve(w, (size_t)n)) return;
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
  pc_reset(w);
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
  if (gil_same && walker_scratch_reserve(w, (size_t)nthreads)) gil_same = 0;
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
  if (l->ts_cframe >= 0 && nthreads > 0 && walker_scratch_reserve(w, (size_t)nthreads) == 0) {
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
  pc_prefetch_frames(w, threads, nthreads);
  w->frames_read = 0;
  walk_budget budget = {0, 0};
  for (int t = 0; t < nthreads; t++) rawpos += (size_t)chain_walk_thread(w, &threads[t], rawpos, &budget);
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
