/* Per-thread OS state and CPU time from /proc/PID/task/TID/{schedstat,stat}, with files kept open. */
#ifndef GAUGE_THREADSTAT_H
#define GAUGE_THREADSTAT_H
#include <stdint.h>
#include "hashmap.h"

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
} tstat_entry;

typedef struct {
  int pid;
  tstat_entry *e;
  size_t n, cap;
  u64map idx;
  uint32_t epoch;
  uint64_t now; /* CLOCK_MONOTONIC of this sample's reads */
} threadstats;

int threadstats_init(threadstats *ts, int pid);
void threadstats_free(threadstats *ts);
/* Start a sample: reads of threadstats_quiet and threadstats_fill until the next call belong to it. */
void threadstats_begin(threadstats *ts);
/*
 * Read thread tid's run counters for this sample; 1 when it provably has not
 * run since the previous sample (so its stack is what it was then). ctx is
 * the threadstats (the walker's quiet hook).
 */
int threadstats_quiet(void *ctx, uint64_t tid);
/* Fill the OS state letter and CPU delta of every thread in one record (gauge.h format). */
void threadstats_fill(threadstats *ts, uint32_t *record);
#endif
