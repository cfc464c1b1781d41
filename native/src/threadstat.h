/* Per-thread OS state and CPU time from /proc/PID/task/TID/{schedstat,stat}, with files kept open. */
#ifndef GAUGE_THREADSTAT_H
#define GAUGE_THREADSTAT_H
#include <stdint.h>
#include "hashmap.h"

typedef struct {
  int tid;
  int fd_sched, fd_stat; /* -1 when not kept open */
  uint64_t last_cpu;
  uint64_t last_ns; /* CLOCK_MONOTONIC of the previous read, to relate CPU used to the interval */
  int have_last;
  char last_state;  /* letter last read from stat while the thread was not running, 0 = none */
  uint8_t reused;   /* samples that reused it without reading stat */
  uint32_t epoch;
} tstat_entry;

typedef struct {
  int pid;
  tstat_entry *e;
  size_t n, cap;
  u64map idx;
  uint32_t epoch;
  int open_fds;
} threadstats;

int threadstats_init(threadstats *ts, int pid);
void threadstats_free(threadstats *ts);
/* Fill the OS state letter and CPU delta of every thread in one record (gauge.h format). */
void threadstats_fill(threadstats *ts, uint32_t *record);
#endif
