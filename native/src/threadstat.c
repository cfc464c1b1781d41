#define _GNU_SOURCE
#include "threadstat.h"
#include "../include/gauge.h"
#include "vec.h"
#include <fcntl.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Threads whose files stay open, at most (also bounded by RLIMIT_NOFILE); beyond, open and close per read. */
#define MAX_OPEN_THREADS 4096
/* Samples a sleeping, not-running thread keeps its last stat letter before stat is read again. */
#define STATE_REUSE 15
/* The same for a thread not read at all (the process clock vouched for it): by time, a few threads a sample. */
#define RECHECK_NS 1000000000ull
#define RECHECKS_PER_SAMPLE 16
#define DORMANT_NS TSTAT_DORMANT_NS
/* A thread that woke while dormant (which cost a sample reading every thread) waits longer, up to this. */
#define DORMANT_MAX_NS 2000000000ull

/* Kept files of every reader in this process: one budget, so many targets cannot exhaust the fd table. */
static atomic_int open_threads;
static atomic_int open_budget = -1;

static int budget(void) {
  int b = atomic_load(&open_budget);
  if (b >= 0) return b;
  struct rlimit rl;
  rlim_t lim = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : 1024;
  /* two files per thread, and three quarters of the limit left to everything else */
  b = lim == RLIM_INFINITY || lim / 8 > MAX_OPEN_THREADS ? MAX_OPEN_THREADS : (int)(lim / 8);
  atomic_store(&open_budget, b);
  return b;
}

int threadstats_init(threadstats *ts, int pid) {
  memset(ts, 0, sizeof *ts);
  ts->pid = pid;
  ts->have_clock = clock_getcpuclockid(pid, &ts->clock) == 0;
  return u64map_init(&ts->idx, 1024);
}

static void entry_close(tstat_entry *e) {
  if (e->fd_sched >= 0) { close(e->fd_sched); atomic_fetch_sub(&open_threads, 1); }
  if (e->fd_stat >= 0) close(e->fd_stat);
  e->fd_sched = e->fd_stat = -1;
}

void threadstats_free(threadstats *ts) {
  for (size_t i = 0; i < ts->n; i++) entry_close(&ts->e[i]);
  free(ts->e);
  u64map_free(&ts->idx);
  memset(ts, 0, sizeof *ts);
}

static int open_task_file(int pid, int tid, const char *what) {
  char path[96];
  snprintf(path, sizeof path, "/proc/%d/task/%d/%s", pid, tid, what);
  return open(path, O_RDONLY | O_CLOEXEC);
}

static void entry_open(threadstats *ts, tstat_entry *e) {
  if (atomic_fetch_add(&open_threads, 1) >= budget()) { atomic_fetch_sub(&open_threads, 1); return; }
  e->fd_sched = open_task_file(ts->pid, e->tid, "schedstat");
  if (e->fd_sched < 0) { atomic_fetch_sub(&open_threads, 1); return; }
  e->fd_stat = open_task_file(ts->pid, e->tid, "stat");
}

/* Read a small /proc file from offset 0 (seq files support pread, so one call per read). */
static int read_task_file(threadstats *ts, int tid, int fd, const char *what, char *buf, size_t len) {
  int tmp = -1, use = fd;
  if (use < 0) {
    tmp = use = open_task_file(ts->pid, tid, what);
    if (use < 0) return -1;
  }
  ssize_t n = pread(use, buf, len - 1, 0);
  if (tmp >= 0) close(tmp);
  if (n <= 0) return -1;
  buf[n] = 0;
  return 0;
}

/* schedstat: ns on the CPU, ns waiting for it, times switched in. */
static int read_sched(threadstats *ts, tstat_entry *e, uint64_t *cpu, uint64_t *runs) {
  char buf[128];
  if (read_task_file(ts, e->tid, e->fd_sched, "schedstat", buf, sizeof buf)) {
    if (e->fd_sched < 0) return -1;
    /* The thread exited (ESRCH); a new one may have its tid: start over with fresh files. */
    entry_close(e);
    e->have_last = 0;
    e->off_cpu = 0;
    e->last_state = 0;
    entry_open(ts, e);
    if (read_task_file(ts, e->tid, e->fd_sched, "schedstat", buf, sizeof buf)) return -1;
  }
  char *p = buf, *q;
  *cpu = strtoull(p, &q, 10);
  if (q == p) return -1;
  strtoull(q, &p, 10);
  *runs = strtoull(p, &q, 10);
  return q == p ? -1 : 0;
}

static tstat_entry *entry_for(threadstats *ts, int tid) {
  uint32_t i;
  /* Asked in the same order every sample (the thread chain): the entry after the last one first. */
  if (ts->hint < ts->n && ts->e[ts->hint].tid == tid) return &ts->e[ts->hint++];
  if (u64map_get(&ts->idx, (uint64_t)tid, &i)) { ts->hint = (size_t)i + 1; return &ts->e[i]; }
  if (VEC_RESERVE(ts->e, ts->cap, ts->n + 1, 64)) return 0;
  tstat_entry *e = &ts->e[ts->n];
  memset(e, 0, sizeof *e);
  e->tid = tid;
  e->fd_sched = e->fd_stat = -1;
  entry_open(ts, e);
  if (u64map_grow_if_full(&ts->idx) || u64map_put(&ts->idx, (uint64_t)tid, (uint32_t)ts->n)) { entry_close(e); return 0; }
  ts->hint = ++ts->n;
  return e;
}

/* Drop threads not seen this sample: their tids may be reused by new threads. */
static void sweep(threadstats *ts) {
  size_t keep = 0;
  int removed = 0;
  for (size_t i = 0; i < ts->n; i++) {
    if (ts->e[i].epoch == ts->epoch) ts->e[keep++] = ts->e[i];
    else { entry_close(&ts->e[i]); removed = 1; }
  }
  if (!removed) return;
  ts->n = keep;
  u64map_clear(&ts->idx);
  for (size_t i = 0; i < ts->n; i++) u64map_put(&ts->idx, (uint64_t)ts->e[i].tid, (uint32_t)i);
}

static char state_letter(const char *stat) {
  const char *p = strrchr(stat, ')'); /* comm may contain spaces and parens */
  return p && p[1] == ' ' ? p[2] : 0;
}

static uint64_t mono_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int process_cpu(threadstats *ts, uint64_t *ns) {
  struct timespec t;
  if (!ts->have_clock || clock_gettime(ts->clock, &t)) return -1;
  *ns = (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
  return 0;
}

/*
 * Why the process CPU clock can stand for reading dormant threads (quiet at
 * their last look). The clock is the sum of the kernel's per-thread CPU
 * counters (the numbers schedstat shows) and those of exited threads; it
 * never goes back. A sample reads it once before (B) and once after (E)
 * reading every thread that is not dormant. Each known thread's last value
 * was read, or proven unchanged, after the previous sample's B (fill sets
 * them all; a sample that does not reach fill voids the proof). So E - B_prev
 * holds the read threads' growth between their two readings, and whatever
 * it holds beyond that was used by someone else: a dormant thread, a thread
 * born or exited, one gauge does not know. Nothing beyond (no tolerance):
 * no dormant thread's counter moved, so none was switched out since its last
 * look (that adds the time it ran); it either did not run or has been on the
 * CPU for under a scheduler tick (a tick adds the time too). It used no CPU
 * by the counter, which is also all schedstat would say. That its stack did
 * not move needs more: the walker's `vouched` (no other thread took the GIL
 * since the previous sample). A thread woken under a tick ago that has not
 * taken the GIL keeps its sleeping letter that sample; its CPU shows in the next.
 */
void threadstats_begin(threadstats *ts) {
  if (++ts->epoch == 0) ts->epoch = 1; /* 0: "not read this sample" in cur_epoch */
  ts->now = mono_ns();
  ts->rechecks = 0;
  int closed = ts->have_prev;
  ts->have_prev = 0; /* until this sample's fill */
  uint64_t before = 0, after = 0, read_growth = 0;
  if (process_cpu(ts, &before)) before = UINT64_MAX; /* no proof from this sample, nor from the next */
  for (size_t i = 0; i < ts->n; i++) {
    tstat_entry *e = &ts->e[i];
    if (e->dormant) continue;
    e->cur_epoch = read_sched(ts, e, &e->cur_cpu, &e->cur_runs) == 0 ? ts->epoch : 0;
    if (e->cur_epoch && e->have_last && e->cur_cpu >= e->last_cpu) read_growth += e->cur_cpu - e->last_cpu;
    else closed = 0;
  }
  ts->closed = closed && process_cpu(ts, &after) == 0 && after >= ts->last_before &&
               after - ts->last_before <= read_growth;
  ts->last_before = before;
  if (ts->closed) ts->closed_samples++;
  else ts->open_samples++;
}

/*
 * Why "same counters and off the CPU once since" means the thread did not run
 * between two reads A and B: had it run at some time t in between, either it
 * was switched in after A (the switch count moves) or it was on the CPU from
 * A to t; then, being off the CPU at some instant, it was switched out after
 * t (its CPU time is brought up to date, it moves) or switched in again
 * after that instant (the count moves). A thread that did not run has the
 * stack it had at the last walk.
 */
int threadstats_quiet(void *ctx, uint64_t tid, int vouched) {
  threadstats *ts = ctx;
  if (tid == 0 || tid > INT32_MAX) return 0;
  tstat_entry *e = entry_for(ts, (int)tid);
  if (!e) return 0;
  e->epoch = ts->epoch;
  if (ts->closed && e->dormant && vouched) return 1; /* see threadstats_begin */
  if (e->cur_epoch != ts->epoch) e->cur_epoch = read_sched(ts, e, &e->cur_cpu, &e->cur_runs) == 0 ? ts->epoch : 0;
  return e->cur_epoch == ts->epoch && e->have_last && e->off_cpu && e->cur_cpu == e->last_cpu &&
         e->cur_runs == e->last_runs;
}

/* How long this thread must be quiet before it is dormant. */
static uint64_t dormant_wait(const tstat_entry *e) { return e->dormant_ns ? e->dormant_ns : DORMANT_NS; }

/*
 * How long a thread that just woke while dormant must be quiet before it is
 * dormant again. Its wake cost a read of every thread (n); being read each
 * sample until then costs one a sample. A thread that wakes every few
 * hundred ms among a thousand (a reporter, a timer) is cheaper read each
 * sample: the wait doubles with each such wake, up to n samples' worth.
 */
static uint64_t wake_backoff(const threadstats *ts, const tstat_entry *e, uint32_t n) {
  uint64_t interval = ts->now > ts->prev_now ? ts->now - ts->prev_now : 0;
  uint64_t cap = interval && n < DORMANT_MAX_NS / interval ? n * interval : DORMANT_MAX_NS;
  uint64_t next = dormant_wait(e) * 2;
  return next < cap ? next : cap > DORMANT_NS ? cap : DORMANT_NS;
}

int threadstats_settled(void *ctx) { return ((threadstats *)ctx)->closed; }

void threadstats_fill(threadstats *ts, uint32_t *rec) {
  uint64_t now = ts->now;
  uint32_t n = rec[4], pos = GAUGE_REC_HEADER;
  for (uint32_t t = 0; t < n && pos + GAUGE_THREAD_HEADER <= rec[0]; t++) {
    uint32_t *th = rec + pos;
    int tid = (int)th[2];
    pos += GAUGE_THREAD_HEADER + th[7] + (th[3] & GAUGE_TH_TRACE ? GAUGE_TRACE_WORDS : 0);
    if (tid <= 0) continue;
    tstat_entry *e = entry_for(ts, tid);
    if (!e) continue;
    e->epoch = ts->epoch;
    char buf[512];
    /* Read before the walk: only such a reading vouches for the stack walked after it. */
    int pre = e->cur_epoch == ts->epoch;
    /* Not read: the process clock proved its counters unchanged (threadstats_begin). */
    int proven = !pre && ts->closed && e->dormant && e->have_last;
    uint64_t cpu = proven ? e->last_cpu : e->cur_cpu, runs = proven ? e->last_runs : e->cur_runs;
    int have_cpu = pre || proven || read_sched(ts, e, &cpu, &runs) == 0;
    e->cur_epoch = 0;
    int same = have_cpu && e->have_last && cpu == e->last_cpu && runs == e->last_runs;
    int stat_read = 0;
    char st = 0;
    if (have_cpu && e->have_last && cpu > e->last_cpu && (cpu - e->last_cpu) * 2 >= now - e->last_ns) {
      /* It ran for most of the interval: active whatever it is doing at this instant (a CPU-bound
         thread waiting to retake the GIL is asleep on a futex). A thread that only woke briefly
         falls through to its real state, so its sleeping stack is not counted as a busy one. */
      st = 'R';
      e->last_state = 0;
    } else if (same && (e->last_state == 'S' || e->last_state == 'I') &&
               (proven ? now - e->stat_ns < RECHECK_NS || ts->rechecks >= RECHECKS_PER_SAMPLE
                       : e->reused < STATE_REUSE)) {
      /* Still asleep: a thread that has not run cannot have blocked anew (D, T, exit all need it to run);
         only a wake-up can go unseen, so stat (the costly read) is checked again every STATE_REUSE samples,
         or every RECHECK_NS for a thread not read at all, a few a sample so they do not all come at once. */
      st = e->last_state;
      e->reused = (uint8_t)(e->reused + !proven);
    } else if (read_task_file(ts, tid, e->fd_stat, "stat", buf, sizeof buf) == 0) {
      st = state_letter(buf);
      e->last_state = st;
      e->reused = 0;
      e->stat_ns = now;
      ts->rechecks += proven;
      stat_read = 1;
    }
    th[3] = (th[3] & ~0xff00u) | ((uint32_t)(uint8_t)st << 8);
    if (have_cpu && e->have_last && cpu >= e->last_cpu) {
      uint64_t d = cpu - e->last_cpu;
      th[4] = (uint32_t)d;
      th[5] = (uint32_t)(d >> 32);
    }
    /* Off the CPU at an instant after this read: seen so by stat, or it has not run at all since the last one. */
    e->off_cpu = (uint8_t)((pre || proven) && ((same && e->off_cpu) || (stat_read && st && st != 'R')));
    if (have_cpu) { e->last_cpu = cpu; e->last_runs = runs; e->last_ns = now; e->have_last = 1; }
    else { e->have_last = 0; e->off_cpu = 0; }
    /* Quiet for a while, not just since the last sample: a thread that runs every few ms is read, not left to
       the clock, or each of its runs would cost a sample that reads every thread. */
    if (e->dormant && have_cpu && e->have_last && !same) e->dormant_ns = wake_backoff(ts, e, n);
    if (!(have_cpu && same && e->off_cpu)) e->quiet_since = 0;
    else if (!e->quiet_since) e->quiet_since = now;
    e->dormant = (uint8_t)(e->quiet_since && now - e->quiet_since >= dormant_wait(e));
  }
  sweep(ts);
  ts->prev_now = now;
  ts->have_prev = 1; /* every kept thread's last value is now from after this sample's B */
}
