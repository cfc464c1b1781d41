/*
 * Inside the walker: its per-sample page cache (pagecache.c), one thread's
 * frame chain (frame_chain.c) and free-threaded bytecode copies (tlbc.c),
 * which walker_sample (walker.c) puts together.
 */
#ifndef GAUGE_PAGECACHE_H
#define GAUGE_PAGECACHE_H
#include "walker.h"

#define PAGE ((uint64_t)BLOCK_SIZE) /* cache block (see walker.h), not the MMU page */
#define PAGE_READAHEAD 4 /* pages read below a missed frame: one call usually covers a thread's stack */

/* Empties the cache for a new sample, keeping the list of pages the last one used. */
void pc_reset(walker *w);
/* The slot holding `page` (loaded, or pending when pending is set), or NULL. */
page_meta *pc_find(walker *w, uint64_t page, int pending);
/* A slot to load `page` into, marked pending; NULL when its probe run is full of pending loads. */
page_meta *pc_claim(walker *w, uint64_t page);
uint8_t *pc_slot_data(walker *w, page_meta *m);
/* Settle a batch's slots, page by page (a request may span several): loaded or dead. */
void pc_settle(walker *w, mem_req *reqs, int n, const uint8_t *ok);
/* Whether this thread's walk has read page p (w->touched). */
int pc_touched(walker *w, uint64_t p);
/* Read len bytes at addr through the cache, loading what is missing (and `below` pages under it). */
int pc_read(walker *w, uint64_t addr, void *buf, size_t len, int below);
/* Warm the cache with every thread's frame pages, breadth first. */
void pc_prefetch_frames(walker *w, thread_rec *threads, int n);
/* Scratch for batched reads of up to n requests (plus per-request flags and cursors). */
int walker_scratch_reserve(walker *w, size_t n);

/* Retries and pauses spent so far in one sample, across its threads. */
typedef struct {
  int retries, pauses;
} walk_budget;
/* One thread's stack into w->raw[start..], read again while torn; sets th's depth and flags, returns the depth. */
int chain_walk_thread(walker *w, thread_rec *th, size_t start, walk_budget *b);
#endif
