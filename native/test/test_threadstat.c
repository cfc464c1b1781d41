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

/* One sample of one thread as the reader takes it: begin, the walker's quiet question, fill. */
static int sample(threadstats *ts, int tid, char *letter) {
  uint32_t rec[GAUGE_REC_HEADER + GAUGE_THREAD_HEADER] = {GAUGE_REC_HEADER + GAUGE_THREAD_HEADER, (uint32_t)getpid(), 0, 0, 1, 0};
  uint32_t *th = rec + GAUGE_REC_HEADER;
  th[2] = (uint32_t)tid;
  threadstats_begin(ts);
  int quiet = threadstats_quiet(ts, (uint64_t)tid, 0);
  threadstats_fill(ts, rec);
  *letter = (char)((th[3] >> 8) & 0xff);
  return quiet;
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
    pthread_mutex_lock(&mu);
    wakes++;
    pthread_cond_broadcast(&cv);
    while (handled != wakes) pthread_cond_wait(&cv, &mu); /* it ran, and is parking again */
    pthread_mutex_unlock(&mu);
    nap();
    CHECK(sample(&ts, parked_tid, &st) == 0, "round %d: the sample after a wake-up says it did not run", round);
    int again = 0;
    for (int i = 0; i < 10 && !again; i++) {
      nap();
      again = sample(&ts, parked_tid, &st);
    }
    CHECK(again, "round %d: parked again, never quiet again", round);
  }

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
