/*
 * The stack walker: interpreters -> threads -> frames of one target, written
 * as one sample record (format in include/gauge.h). Reads only through a
 * memsrc, so tests and the fuzzer can feed it synthetic memory.
 */
#ifndef GAUGE_WALKER_H
#define GAUGE_WALKER_H
#include "../include/gauge.h"
#include "decode.h"
#include "frames.h"
#include "layouts.h"
#include "memsrc.h"
#include "otelctx.h"
#include "stackmemo.h"

#define WALK_MAX_INTERPS 64
#define WALK_MAX_THREADS 4096
#define WALK_DEFAULT_DEPTH 2048
#define WALK_MAX_DEPTH 65536
/* Frames of one sample, all threads: bounds time and memory when many threads share one long chain. */
#define WALK_MAX_TOTAL_FRAMES (1 << 18)
/* Re-reads of a stack torn while read, per thread per sample. Each is another chance for a torn chain to pass as
   whole, so their number rests on the chain-end check: exact on 3.15+ (the thread's base frame) and, on a retry, on
   every version where the thread's last whole walk ended (README, asyncio). */
#define WALK_TORN_RETRIES 10
/* ...and per sample, all threads: a target whose every thread reads torn costs a bounded sample. */
#define WALK_RETRY_BUDGET 64
/* Retries after the first wait this long, at most WALK_RETRY_PAUSES times a sample (2 ms: a fifth of a tick at
   100 Hz). A churning asyncio loop tears in bursts of short task steps longer than a read: retried back to back,
   half the reads tore again; after 200 us, about a third (CPython 3.14, async_churn.py). */
#define WALK_RETRY_PAUSE_NS 200000
#define WALK_RETRY_PAUSES 10
/* Every thread state is read at least this often, even those of threads that provably have not run (walker.c). */
#define WALK_SPEC_REFRESH_NS 1000000000ull
/* Pages of one walk remembered, for a retry of that thread; a retry reads up to twice that in one call. */
#define WALK_TOUCHED 16
/* Threads whose last whole walk's pages are kept (by thread state, direct-mapped) for their retries. */
#define WALK_WHOLE_SLOTS 16
/* The per-sample cache reads the target in blocks: a page (smaller blocks measured slower: more iovecs to pin). */
#define BLOCK_BITS 12
#define BLOCK_SIZE (1 << BLOCK_BITS)
#define PAGE_SLOT_BITS 10
#define PAGE_SLOTS (1 << PAGE_SLOT_BITS) /* 4 MiB: a few pages per thread for a few hundred threads */

typedef struct {
  uint8_t data[BLOCK_SIZE];
} page_slot;

/* Kept apart from the data so probing and resetting stay in a few cache lines. */
typedef struct {
  uint64_t addr; /* page address, 0 = empty, low bit = being loaded */
  uint32_t slot; /* its data slot (pages[]), handed out in claim order: pages claimed in a row sit in a row */
  uint16_t used; /* a frame was read from it this sample */
  uint16_t listed; /* in the walker's claimed[] list (and holding a data slot), emptied at the next sample */
} page_meta;

typedef struct {
  uint64_t code;
  int64_t addr;  /* byte offset of the instruction in the bytecode */
  int owner;
  int32_t tlbc;  /* free-threaded 3.14+: which bytecode copy addr points into (0 = the code object's own) */
  uint32_t didx; /* decode.c: which of the sample's distinct code objects */
} raw_frame;

typedef struct {
  uint64_t tstate, thread_id, native_id;
  uint64_t frame; /* innermost frame (after the cframe hop on 3.11/3.12) */
  uint64_t base;  /* 3.15+: the sentinel frame its whole chain ends at; 0 = not published */
  int64_t interp_id;
  size_t raw_start;
  int depth;
  uint32_t flags;
  uint8_t why; /* GAUGE_WHY_* */
  int64_t memo_at; /* >= 0: not run since the last sample, its stack is the memo's at this offset */
  uint8_t quiet;   /* the quiet hook was asked before its state was read: 1 quiet, 2 not */
} thread_rec;

typedef struct walker {
  memsrc *m;
  py_layout layout;
  frame_cache *fc;
  uint64_t root;              /* &_PyRuntime, or &interp_head for 2.7/3.6 */
  uint64_t tstate_current;    /* &_PyThreadState_Current for 2.7/3.6, else 0 */
  int max_depth;
  int pthread_tid_off;        /* <=3.10: offset of the kernel tid in glibc's struct pthread; -1 unknown */
  int pid;
  /* per-sample scratch, reused */
  page_slot *pages;
  page_meta *meta;
  uint32_t *claimed; /* slots taken this sample: only they are emptied at the next */
  int nclaimed;
  uint32_t *slot_meta; /* data slot -> its page_meta index */
  raw_frame *raw;
  size_t rawcap;
  uint8_t *codehdrs;
  size_t codehdrcap;
  u64map distinct;
  decode_state dec;
  u64map tlbc_pairs; /* (code, bytecode copy) pairs of this sample */
  /* (code, copy) -> {co_tlbc array, copy's start} kept across samples while tlbc_generation holds */
  u64map tlbc_cache;
  uint64_t *tlbc_vals;
  size_t ntlbc, captlbc;
  uint64_t tlbc_gen;
  thread_rec *threads;
  int capthreads;
  /* the last sample's thread-state chain (first interpreter): read in one call next time */
  uint64_t *spec_ts;
  uint64_t *spec_nid;  /* each one's kernel tid: the quiet hook is asked before its state is read */
  uint8_t *spec_got;   /* this sample: SPEC_* flags of each (walker.c) */
  int nspec, capspec;
  uint8_t *tsbuf;      /* their bytes as last read, kept while their threads do not run */
  int captsbuf;
  uint8_t *tsnew;      /* this sample's, when the chain's order changed */
  int captsnew;
  uint64_t spec_full_ns; /* the last sample that read every state of the chain */
  /* batched-read scratch */
  mem_req *reqs;
  size_t capreqs;
  uint64_t *cursors;
  uint8_t *ok;
  /* pages the last sample used: loaded in the first batch of the next one */
  uint64_t *ws;
  int nws;
  /* the last sample's Python thread ids, for calibrating pthread_tid_off */
  uint64_t last_pthreads[64];
  int nlast_pthreads;
  uint64_t thread_errors;     /* counted per sample for the sampler */
  uint64_t stack_retries;     /* torn chains read again (at most WALK_TORN_RETRIES times per thread per sample) */
  /* the pages one thread's walk read, refreshed in one call when it is read again (a retry: up to twice as many) */
  uint64_t touched[2 * WALK_TOUCHED];
  int ntouched;
  /* the pages of each recent thread's last whole walk: where its outer frames are when a retry starts */
  struct { uint64_t tstate, end; int n; uint64_t pages[WALK_TOUCHED]; } whole[WALK_WHOLE_SLOTS];
  uint64_t walk_end; /* the outermost frame the last chain walk read (frame_chain.c) (end: 0 when the depth cap cut it) */
  uint64_t retry_reads; /* frames retries read one by one, outside their batch */
  int fresh; /* during a retry: pages not just refreshed are read from the target, not the cache */
  size_t frames_read; /* this sample, every attempt: retries stop at WALK_MAX_TOTAL_FRAMES */
  /* each thread's OpenTelemetry span (otelctx.c), when asked for: gauge_set_trace_context */
  int otel_on;
  otel_cache otel;
  /*
   * Optional: 1 when the OS thread (kernel tid) provably has not run since
   * the previous sample, so its stack is copied from the memo, not walked.
   * Called once per thread with a tid each sample, before any frame is read;
   * vouched: the GIL says it ran no Python since the memo's sample (below).
   */
  int (*quiet)(void *ctx, uint64_t native_id, int vouched);
  /*
   * Optional, same ctx: 1 when no thread ran since the previous sample but
   * those whose counters were read (threadstat.c, the process clock). A
   * thread leaving the chain runs (its exit) and rewrites the link of the
   * one before it, which may itself not have run: without this, every
   * thread state is read.
   */
  int (*settled)(void *ctx);
  void *quiet_ctx;
  stack_memo memo;
  /*
   * GIL builds: each interpreter's GIL (last holder, switch count) read this
   * sample, and as read in the sample the memo holds (n -1: none). The count
   * moves whenever a thread other than the last holder takes the GIL, so when
   * both are unchanged no other thread ran Python in between: the walker
   * tells the quiet hook so (`vouched`) for every thread but the holders.
   */
  uint64_t gil_now[2 * WALK_MAX_INTERPS], gil_memo[2 * WALK_MAX_INTERPS];
  int ngil_now, ngil_memo;
} walker;

/* 0 ok; -1 out of memory; -2 the layout fails layout_check (never walked). */
int walker_init(walker *w, memsrc *m, const py_layout *l, frame_cache *fc, uint64_t root, uint64_t tstate_current);
void walker_free(walker *w);

/* Write one record for the current state. Returns words written, or -GAUGE_* error. */
int walker_sample(walker *w, uint64_t time_ns, uint32_t *out, int cap);

/* Mark a thread's stack failed: its frames are dropped, the reason kept. */
static inline void thread_failed(thread_rec *th, uint8_t why) {
  th->flags |= GAUGE_TH_ERROR;
  if (!th->why || th->why == GAUGE_WHY_DEPTH_CAP) th->why = why;
}

/* Key of a (code object, bytecode copy) pair: user-space addresses fit in 48 bits. */
static inline uint64_t tlbc_key(uint64_t code, int32_t idx) { return code | ((uint64_t)(uint32_t)idx << 48); }

/* Internal to the walker (decode.c): raw frames -> frame ids in place; threads whose code is unreadable fail. */
int walker_resolve(walker *w, thread_rec *threads, int nthreads);
/* Free-threaded 3.14+: the bytecode start of each (code, copy) pair of the sample, keyed in w->tlbc_pairs. */
uint64_t *walker_tlbc_bases(walker *w, thread_rec *threads, int nthreads, const uint8_t *hdrs, const uint8_t *valid,
                            size_t ndistinct);

/* Find where glibc's struct pthread keeps the tid, given the target's task ids. */
int walker_calibrate_tid(walker *w, const int *tids, int ntids);
#endif
