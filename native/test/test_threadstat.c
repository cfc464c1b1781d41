/*
 * threadstat.c against the kernel: a thread of this process parked on a
 * condition variable must become "quiet" (provably not run since the last
 * read), stop being so the sample after it is woken, and a spinning thread
 * must never be. Real /proc, real scheduler: no image can stand in here.
 */
#define _GNU_SOURCE
#include "../include/gauge.h"
#include "../src/threadstat.h"
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int passed, failed;
#define CHECK(cond, ...) do { if (cond) passed++; else { failed++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int parked_tid, spinner_tid, wakes, handled, done;
static volatile unsigned sink;

static void *parked(void *arg) {
  (void)arg;
  pthread_mutex_lock(&mu);
  parked_tid = (int)syscall(SYS_gettid);
  pthread_cond_broadcast(&cv);
  while (!done) {
    while (handled == wakes && !done) pthread_cond_wait(&cv, &mu);
    for (unsigned i = 0; i < 200000; i++) sink += i; /* woken: a little work, then park again */
    handled = wakes;
    pthread_cond_broadcast(&cv);
  }
  pthread_mutex_unlock(&mu);
  return 0;
}

static void *spinner(void *arg) {
  (void)arg;
  pthread_mutex_lock(&mu);
  spinner_tid = (int)syscall(SYS_gettid);
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
  while (!__atomic_load_n(&done, __ATOMIC_RELAXED)) sink++;
  return 0;
}

static void nap(void) {
  struct timespec ts = {0, 3 * 1000 * 1000};
  nanosleep(&ts, 0);
}

/* One sample of one thread as the reader takes it: begin, the walker's quiet question, fill; in a record of
   `others` more threads the reader does not know (tid 0), as a sample of a process of many threads. */
static int sample_among(threadstats *ts, int tid, char *letter, int others) {
  enum { MAXT = 64 };
  uint32_t rec[GAUGE_REC_HEADER + MAXT * GAUGE_THREAD_HEADER] = {0};
  int n = 1 + (others < MAXT - 1 ? others : MAXT - 1);
  rec[0] = (uint32_t)(GAUGE_REC_HEADER + n * GAUGE_THREAD_HEADER);
  rec[1] = (uint32_t)getpid();
  rec[4] = (uint32_t)n;
  uint32_t *th = rec + GAUGE_REC_HEADER;
  th[2] = (uint32_t)tid;
  threadstats_begin(ts);
  int quiet = threadstats_quiet(ts, (uint64_t)tid, 0);
  threadstats_fill(ts, rec);
  *letter = (char)((th[3] >> 8) & 0xff);
  return quiet;
}

static int sample(threadstats *ts, int tid, char *letter) { return sample_among(ts, tid, letter, 0); }

static tstat_entry *entry_of(threadstats *ts, int tid) {
  for (size_t i = 0; i < ts->n; i++)
    if (ts->e[i].tid == tid) return &ts->e[i];
  return 0;
}

static void wake_parked(void) {
  pthread_mutex_lock(&mu);
  wakes++;
  pthread_cond_broadcast(&cv);
  while (handled != wakes) pthread_cond_wait(&cv, &mu); /* it ran, and is parking again */
  pthread_mutex_unlock(&mu);
}

/* Sample the parked thread (among `others`) until it is dormant; 0 when it never became so within 5 s. */
static int until_dormant(threadstats *ts, int others) {
  char st;
  for (int i = 0; i < 1500; i++) {
    nap();
    sample_among(ts, parked_tid, &st, others);
    tstat_entry *e = entry_of(ts, parked_tid);
    if (e && e->dormant) return 1;
  }
  return 0;
}

/*
 * A thread that wakes while dormant costs a sample reading every thread: it
 * then waits longer before it is dormant again, in a process of many threads
 * (up to as many samples as threads); among few, the default wait stands.
 */
static void test_wake_backoff(void) {
  threadstats ts;
  CHECK(threadstats_init(&ts, getpid()) == 0, "backoff: threadstats_init");
  char st;
  CHECK(until_dormant(&ts, 63), "backoff: the parked thread never became dormant among 64");
  wake_parked();
  nap();
  sample_among(&ts, parked_tid, &st, 63);
  tstat_entry *e = entry_of(&ts, parked_tid);
  CHECK(e && e->dormant_ns == 2 * TSTAT_DORMANT_NS, "backoff: woke while dormant among 64: waits %llu ns, want %llu",
        e ? (unsigned long long)e->dormant_ns : 0ull, 2 * TSTAT_DORMANT_NS);
  CHECK(e && !e->dormant, "backoff: dormant right after it ran");
  threadstats_free(&ts);

  CHECK(threadstats_init(&ts, getpid()) == 0, "backoff: threadstats_init");
  CHECK(until_dormant(&ts, 0), "backoff: the parked thread never became dormant alone");
  wake_parked();
  nap();
  uint64_t prev = ts.prev_now;
  sample(&ts, parked_tid, &st);
  /* the default, unless this machine stalled the test for longer than that between two samples */
  uint64_t interval = ts.now - prev, want = interval > TSTAT_DORMANT_NS ? interval : TSTAT_DORMANT_NS;
  want = want < 2 * TSTAT_DORMANT_NS ? want : 2 * TSTAT_DORMANT_NS;
  e = entry_of(&ts, parked_tid);
  CHECK(e && e->dormant_ns == want, "backoff: woke while dormant alone: waits %llu ns, want %llu",
        e ? (unsigned long long)e->dormant_ns : 0ull, (unsigned long long)want);
  threadstats_free(&ts);
}

int main(void) {
  pthread_t a, b;
  pthread_create(&a, 0, parked, 0);
  pthread_create(&b, 0, spinner, 0);
  pthread_mutex_lock(&mu);
  while (!parked_tid || !spinner_tid) pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
  nap();

  threadstats ts;
  CHECK(threadstats_init(&ts, getpid()) == 0, "threadstats_init");
  char st = 0;
  CHECK(sample(&ts, parked_tid, &st) == 0, "first sample: nothing to compare with, yet quiet");
  int quiet_at = -1;
  for (int i = 0; i < 10 && quiet_at < 0; i++) {
    nap();
    if (sample(&ts, parked_tid, &st)) quiet_at = i;
  }
  CHECK(quiet_at >= 0, "a parked thread never became quiet");
  CHECK(st == 'S', "parked thread's state '%c', want S", st ? st : '0');
  int stayed = 1;
  for (int i = 0; i < 20; i++) {
    nap();
    stayed &= sample(&ts, parked_tid, &st);
  }
  CHECK(stayed, "a thread that stayed parked stopped being quiet");

  for (int round = 0; round < 5; round++) {
    wake_parked();
    nap();
    CHECK(sample(&ts, parked_tid, &st) == 0, "round %d: the sample after a wake-up says it did not run", round);
    int again = 0;
    for (int i = 0; i < 10 && !again; i++) {
      nap();
      again = sample(&ts, parked_tid, &st);
    }
    CHECK(again, "round %d: parked again, never quiet again", round);
  }

  test_wake_backoff();

  int ever = 0;
  for (int i = 0; i < 30; i++) {
    nap();
    ever |= sample(&ts, spinner_tid, &st);
  }
  CHECK(!ever, "a spinning thread was called quiet");

  __atomic_store_n(&done, 1, __ATOMIC_RELAXED);
  pthread_mutex_lock(&mu);
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
  pthread_join(a, 0);
  pthread_join(b, 0);
  threadstats_free(&ts);
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
