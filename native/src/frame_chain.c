/*
 * One thread's frame chain: walked frame by frame through the page cache,
 * checked for the tears of a stack read while it runs, and read again when
 * torn.
 */
#include "pagecache.h"
#include "../include/gauge.h"
#include "vec.h"
#include <string.h>
#include <time.h>

static int raw_reserve(walker *w, size_t n) { return VEC_RESERVE(w->raw, w->rawcap, n, 1024); }

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
    if (pc_read(w, frame, buf, (size_t)l->f_read_size, below)) { *why = GAUGE_WHY_FRAME_UNREADABLE; return -1; }
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
    if (w->ntouched < 2 * WALK_TOUCHED && !pc_touched(w, w->whole[wi].pages[i])) w->touched[w->ntouched++] = w->whole[wi].pages[i];
  mem_req reqs[2 * WALK_TOUCHED + 1];
  uint8_t ok[2 * WALK_TOUCHED + 1];
  int n = 1, kept = 0;
  reqs[0] = (mem_req){at, &f, 8};
  for (int i = 0; i < w->ntouched; i++) {
    page_meta *s = pc_find(w, w->touched[i], 0);
    if (!s) s = pc_claim(w, w->touched[i]);
    if (!s) continue; /* probe run busy: its frames are read one by one */
    w->touched[kept++] = w->touched[i];
    reqs[n++] = (mem_req){w->touched[i], pc_slot_data(w, s), PAGE};
  }
  w->ntouched = kept;
  readv_each(w->m, reqs, n, ok);
  pc_settle(w, reqs + 1, n - 1, ok + 1);
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

/*
 * One thread's stack into w->raw[start..]: walked, and a torn chain read
 * again (a few times, into the same raw slots: the frame budget still bounds
 * the sample). Sets th's depth, flags and reason; returns the depth.
 */
int chain_walk_thread(walker *w, thread_rec *th, size_t start, walk_budget *b) {
  int truncated = 0;
  th->raw_start = start;
  uint8_t why = GAUGE_WHY_NONE;
  w->ntouched = 0;
  int depth = th->frame ? walk_frames(w, th->frame, th->base, start, &truncated, &why) : 0;
  for (int tries = 0; depth < 0 && torn_reason(why) && tries < WALK_TORN_RETRIES && b->retries < WALK_RETRY_BUDGET &&
                      w->frames_read < WALK_MAX_TOTAL_FRAMES;
       tries++) {
    w->stack_retries++;
    b->retries++;
    /* a process moves on while the reader waits; an image (tests, the fuzzer) does not */
    if (tries > 0 && b->pauses < WALK_RETRY_PAUSES && w->m->pid > 0) {
      b->pauses++;
      nanosleep(&(struct timespec){0, WALK_RETRY_PAUSE_NS}, 0);
    }
    depth = retry_walk(w, th, start, &truncated, &why);
  }
  if (depth < 0) {
    thread_failed(th, why);
    depth = 0;
  } else if (th->frame) {
    whole_save(w, th->tstate, truncated);
  }
  if (truncated) { th->flags |= GAUGE_TH_TRUNCATED; if (!th->why) th->why = GAUGE_WHY_DEPTH_CAP; }
  th->depth = depth;
  return depth;
}
