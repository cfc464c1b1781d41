/*
 * The last sample's stacks, kept so a thread that provably has not run since
 * cannot cost a walk: its frame ids are copied from the previous record.
 * "Has not run" is the caller's judgement (threadstat.c, from the kernel's
 * per-thread run counters); the memo only matches threads and copies words.
 */
#ifndef GAUGE_STACKMEMO_H
#define GAUGE_STACKMEMO_H
#include <stddef.h>
#include <stdint.h>
#include "hashmap.h"

typedef struct {
  uint64_t tstate, thread_id, native_id;
  uint32_t at; /* word offset of the thread's header in words[] */
} memo_thread;

typedef struct {
  uint32_t *words; /* the previous record (gauge.h format) */
  size_t nwords, capwords;
  memo_thread *th;
  size_t nth, capth;
  u64map index; /* tstate -> th[] index, built when a lookup first needs it */
  int indexed;
  int max_depth; /* the depth cap the memo was taken under: a change voids it */
} stack_memo;

int memo_init(stack_memo *m);
void memo_free(stack_memo *m);
/*
 * The previous record's header offset for this thread when it is there with
 * the same ids and a clean stack (no error), else -1. hint: where it probably
 * is (its place in this sample's chain).
 */
int64_t memo_find(stack_memo *m, size_t hint, uint64_t tstate, uint64_t thread_id, uint64_t native_id, int max_depth);
/* The remembered thread header at `at` and its frame ids. */
static inline const uint32_t *memo_header(const stack_memo *m, int64_t at) { return m->words + at; }
/*
 * Keep record `rec` (len words) as the memo; tstates[i] is the thread state
 * of the record's i-th thread. On allocation failure the memo is emptied.
 */
void memo_save(stack_memo *m, const uint32_t *rec, size_t len, const uint64_t *tstates, size_t stride, int max_depth);
#endif
