/* The sampling thread: snapshots every reader at a randomized rate into a ring of records. */
#define _GNU_SOURCE
#include "../include/gauge.h"
#include "reader.h"
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_READERS 1024

struct gauge_sampler {
  pthread_t thread;
  pthread_mutex_t list_lock; /* readers list: held for a whole tick, so no reader is removed mid-read */
  pthread_mutex_t lock;      /* ring and counters: held briefly, so drain never waits for a tick */
  /* The thread sleeps on this word (a futex): stop sets it and wakes the thread at once, however slow the rate.
     One system call a sleep; a condition variable took two (its mutex is marked contended after every wait). */
  _Atomic uint32_t stop;
  int running;
  clockid_t cpu_clock; /* the sampler thread's CPU clock, read when stats are asked for, not every tick */
  double hz;
  gauge_reader *readers[MAX_READERS];
  int nreaders;
  uint32_t *ring;
  uint64_t ringcap, head, tail; /* words; head/tail grow forever, index modulo ringcap */
  uint32_t *scratch;
  int scratchcap;
  uint64_t rng;
  double stats[8];
};

static double rand_unit(gauge_sampler *s) {
  /* xorshift64*: cheap, good enough to break phase locking with periodic work */
  s->rng ^= s->rng >> 12;
  s->rng ^= s->rng << 25;
  s->rng ^= s->rng >> 27;
  return (double)((s->rng * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

gauge_sampler *gauge_sampler_new(double hz, int buffer_words) {
  if (hz <= 0 || hz > 100000 || buffer_words < 1024) return 0;
  gauge_sampler *s = calloc(1, sizeof *s);
  if (!s) return 0;
  s->hz = hz;
  s->ringcap = (uint64_t)buffer_words;
  s->ring = malloc(s->ringcap * sizeof *s->ring);
  s->scratchcap = 1 << 16;
  s->scratch = malloc((size_t)s->scratchcap * sizeof *s->scratch);
  s->rng = monotonic_ns() | 1;
  pthread_mutex_init(&s->lock, 0);
  pthread_mutex_init(&s->list_lock, 0);
  if (!s->ring || !s->scratch) { gauge_sampler_free(s); return 0; }
  s->stats[7] = 0;
  return s;
}

int gauge_sampler_add(gauge_sampler *s, gauge_reader *r) {
  if (!s || !r) return -GAUGE_EINVAL;
  pthread_mutex_lock(&s->list_lock);
  int rc = -GAUGE_ENOMEM;
  if (s->nreaders < MAX_READERS) { s->readers[s->nreaders++] = r; rc = 0; }
  pthread_mutex_unlock(&s->list_lock);
  return rc;
}

int gauge_sampler_remove(gauge_sampler *s, gauge_reader *r) {
  if (!s || !r) return -GAUGE_EINVAL;
  pthread_mutex_lock(&s->list_lock); /* waits for a tick reading r to end: r may be closed right after */
  for (int i = 0; i < s->nreaders; i++)
    if (s->readers[i] == r) { s->readers[i] = s->readers[--s->nreaders]; break; }
  pthread_mutex_unlock(&s->list_lock);
  return 0;
}

/* Copy n words between the ring (at word index pos, wrapping) and a flat buffer, in at most two pieces. */
static void ring_copy(gauge_sampler *s, uint64_t pos, uint32_t *flat, uint32_t n, int to_ring) {
  uint64_t at = pos % s->ringcap;
  uint64_t first = s->ringcap - at < n ? s->ringcap - at : n;
  if (to_ring) {
    memcpy(s->ring + at, flat, first * sizeof *flat);
    memcpy(s->ring, flat + first, (n - first) * sizeof *flat);
  } else {
    memcpy(flat, s->ring + at, first * sizeof *flat);
    memcpy(flat + first, s->ring, (n - first) * sizeof *flat);
  }
}

static void ring_push(gauge_sampler *s, const uint32_t *rec, uint32_t n) {
  if (s->ringcap - (s->head - s->tail) < n) { s->stats[1]++; return; }
  ring_copy(s, s->head, (uint32_t *)rec, n, 1);
  s->head += n;
}

static uint64_t clock_ns(clockid_t c) {
  struct timespec ts;
  if (clock_gettime(c, &ts)) return 0;
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sample_all(gauge_sampler *s, int late) {
  uint64_t t0 = monotonic_ns();
  pthread_mutex_lock(&s->list_lock);
  for (int i = 0; i < s->nreaders; i++) {
    gauge_reader *r = s->readers[i];
    if (r->exit_reported) continue;
    pthread_mutex_lock(&r->lock);
    /* Stamped when this reader's read begins, not at the tick: earlier readers or a wait on the
       lock would otherwise date its stacks before they were read (spans join by time). */
    uint64_t tr = monotonic_ns();
    uint64_t errs_before = r->w.thread_errors;
    int n = reader_sample(r, tr, s->scratch, s->scratchcap);
    while (n == -GAUGE_ENOMEM && s->scratchcap < (1 << 24)) {
      uint32_t *bigger = realloc(s->scratch, (size_t)s->scratchcap * 2 * sizeof *bigger);
      if (!bigger) break;
      s->scratch = bigger;
      s->scratchcap *= 2;
      n = reader_sample(r, tr, s->scratch, s->scratchcap);
    }
    double errs = (double)(r->w.thread_errors - errs_before);
    pthread_mutex_unlock(&r->lock);
    pthread_mutex_lock(&s->lock);
    s->stats[3] += errs;
    if (n == -GAUGE_EEXITED) {
      /* one record saying so, then the reader stays silent */
      uint32_t rec[GAUGE_REC_HEADER] = {GAUGE_REC_HEADER, (uint32_t)r->pid, (uint32_t)tr, (uint32_t)(tr >> 32), 0, GAUGE_REC_EXITED};
      r->exit_reported = 1;
      ring_push(s, rec, GAUGE_REC_HEADER);
    } else if (n > 0) {
      s->stats[0]++;
      ring_push(s, s->scratch, (uint32_t)n);
    }
    pthread_mutex_unlock(&s->lock);
  }
  pthread_mutex_unlock(&s->list_lock);
  uint64_t dt = monotonic_ns() - t0;
  pthread_mutex_lock(&s->lock);
  s->stats[4] += (double)dt;
  if ((double)dt > s->stats[7]) s->stats[7] = (double)dt;
  s->stats[5]++;
  s->stats[2] += late;
  pthread_mutex_unlock(&s->lock);
}

/* Sleep until monotonic time `until` or stop, whichever comes first. */
static void sleep_until(gauge_sampler *s, uint64_t until) {
  do {
    /* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline; returns at once if stop is already set */
    struct timespec ts = {(time_t)(until / 1000000000ull), (long)(until % 1000000000ull)};
    syscall(SYS_futex, &s->stop, FUTEX_WAIT_BITSET_PRIVATE, 0, &ts, NULL, FUTEX_BITSET_MATCH_ANY);
  } while (!atomic_load(&s->stop) && monotonic_ns() < until);
}

/* Flat out, the thread still sleeps this often: its locks are free for that moment (remove, snapshot, info). */
#define FLAT_OUT_BREATHE_NS 10000000ull

static void *sampler_main(void *arg) {
  gauge_sampler *s = arg;
  double period = 1e9 / s->hz;
  uint64_t next = monotonic_ns(), slept = next;
  while (!atomic_load(&s->stop)) {
    uint64_t now = monotonic_ns();
    int late = now > next + (uint64_t)(period / 2);
    if (now > next + (uint64_t)period) next = now; /* far behind: don't burst to catch up */
    sample_all(s, late);
    /* Uniform in [0.5, 1.5) periods: the mean rate holds, the phase never locks to the target's loops. */
    next += (uint64_t)(period * (0.5 + rand_unit(s)));
    now = monotonic_ns();
    /* Already past it (flat out): no sleep, which costs a system call and a wake-up, but now and then one. */
    if (next > now || now - slept >= FLAT_OUT_BREATHE_NS) {
      sleep_until(s, next > now ? next : now + 1);
      slept = now;
    }
  }
  /* its CPU clock dies with the thread: the last reading is kept for stats */
  uint64_t cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID);
  pthread_mutex_lock(&s->lock);
  s->stats[6] = (double)cpu;
  pthread_mutex_unlock(&s->lock);
  return 0;
}

int gauge_sampler_start(gauge_sampler *s) {
  if (!s || s->running) return -GAUGE_EINVAL;
  atomic_store(&s->stop, 0);
  if (pthread_create(&s->thread, 0, sampler_main, s)) return -GAUGE_ENOMEM;
  if (pthread_getcpuclockid(s->thread, &s->cpu_clock)) s->cpu_clock = (clockid_t)-1;
  s->running = 1;
  return 0;
}

void gauge_sampler_stop(gauge_sampler *s) {
  if (!s || !s->running) return;
  atomic_store(&s->stop, 1);
  syscall(SYS_futex, &s->stop, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
  pthread_join(s->thread, 0);
  s->running = 0;
}

void gauge_sampler_free(gauge_sampler *s) {
  if (!s) return;
  gauge_sampler_stop(s);
  free(s->ring);
  free(s->scratch);
  pthread_mutex_destroy(&s->lock);
  pthread_mutex_destroy(&s->list_lock);
  free(s);
}

int gauge_sampler_drain(gauge_sampler *s, uint32_t *out, int cap_words) {
  if (!s || !out) return -GAUGE_EINVAL;
  pthread_mutex_lock(&s->lock);
  int pos = 0;
  while (s->tail < s->head) {
    uint32_t n = s->ring[s->tail % s->ringcap];
    if (n < GAUGE_REC_HEADER || n > s->head - s->tail) { s->tail = s->head; break; } /* cannot happen; never loop on it */
    if ((uint64_t)pos + n > (uint64_t)cap_words) break;
    ring_copy(s, s->tail, out + pos, n, 0);
    pos += (int)n;
    s->tail += n;
  }
  /* Emptied: write from the start again. Sweeping the whole ring before wrapping would touch every page of
     it (16 MiB by default) while holding only what arrives between two drains: resident memory that grew
     for ten minutes at 100 Hz. */
  if (s->tail == s->head) s->head = s->tail = 0;
  pthread_mutex_unlock(&s->lock);
  return pos;
}

void gauge_sampler_stats(gauge_sampler *s, double *out8) {
  if (!s || !out8) return;
  /* While it runs, its clock; once stopped, what it read on the way out (the clock is gone with it). */
  uint64_t cpu = s->running && s->cpu_clock != (clockid_t)-1 ? clock_ns(s->cpu_clock) : 0;
  pthread_mutex_lock(&s->lock);
  memcpy(out8, s->stats, sizeof s->stats);
  pthread_mutex_unlock(&s->lock);
  if (cpu) out8[6] = (double)cpu;
}
