/* Per-thread OS state and CPU time from /proc/PID/task/TID/{schedstat,stat}, with files kept open. */
#ifndef GAUGE_THREADSTAT_H
#define GAUGE_THREADSTAT_H
#include <stdint.h>
#include <time.h>
#include "hashmap.h"

/* A thread is left to the process clock (dormant) once it has been seen quiet for this long (see dormant_ns). */
#define TSTAT_DORMANT_NS 50000000ull

typedef struct {
  int tid;
  int fd_sched, fd_stat; /* -1 when not kept open */
  uint64_t last_cpu, last_runs; /* schedstat: ns on CPU, times switched in */
  uint64_t last_ns; /* CLOCK_MONOTONIC of the previous read, to relate CPU used to the interval */
  int have_last;
  char last_state;  /* letter last read from stat while the thread was not running, 0 = none */
  uint8_t reused;   /* samples that reused it without reading stat */
  uint8_t off_cpu;  /* known off the CPU at some instant since the last schedstat read */
  uint64_t cur_cpu, cur_runs; /* this sample's schedstat, read before the walk */
  uint32_t cur_epoch;          /* the sample cur_* belong to; any other: not read before the walk */
  uint32_t epoch;
  uint8_t dormant;  /* quiet at its last look: not read at a sample's start, left to the process clock */
  uint64_t stat_ns; /* CLOCK_MONOTONIC of its last stat read */
  uint64_t quiet_since; /* CLOCK_MONOTONIC of the first of its latest unbroken quiet looks, 0 = not quiet */
  uint64_t dormant_ns;  /* quiet this long before it is dormant; 0 = the default (threadstat.c, wake_backoff) */
} tstat_entry;

typedef struct {
  int pid;
  tstat_entry *e;
  size_t n, cap;
  u64map idx;
  size_t hint; /* where entry_for looks first */
  uint32_t epoch;
  uint64_t now; /* CLOCK_MONOTONIC of this sample's reads */
  uint64_t prev_now; /* that of the last sample that completed (threadstats_fill) */
  clockid_t clock;     /* the target's process CPU clock */
  int have_clock;
  uint64_t last_before; /* that clock before the previous sample's reads */
  int have_prev;        /* the previous sample completed (threadstats_fill): last_before holds for it */
  int closed;          /* this sample: the clock proves no dormant thread ran since its last look */
  int rechecks;        /* stat re-reads of unread sleeping threads this sample */
  uint64_t closed_samples, open_samples; /* how often the clock's account closed */
} threadstats;

int threadstats_init(threadstats *ts, int pid);
void threadstats_free(threadstats *ts);
/*
 * Start a sample: reads of threadstats_quiet and threadstats_fill until the
 * next call belong to it. Reads the run counters of the threads that were
 * not dormant, between two readings of the process CPU clock (see
 * threadstat.c for why that can stand for reading the others).
 */
void threadstats_begin(threadstats *ts);
/*
 * 1 when thread tid provably has not run since the previous sample, so its
 * stack is what it was then. `vouched`: the interpreter says this thread
 * cannot have run Python since the previous sample (walker.c, the GIL's
 * switch count); only then may a dormant thread be answered without a read.
 * ctx is the threadstats (the walker's quiet hook).
 */
int threadstats_quiet(void *ctx, uint64_t tid, int vouched);
/* 1 when this sample's process clock shows no CPU but that of the threads read (the walker's settled hook). */
int threadstats_settled(void *ctx);
/* Fill the OS state letter and CPU delta of every thread in one record (gauge.h format). */
void threadstats_fill(threadstats *ts, uint32_t *record);
#endif
