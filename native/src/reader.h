/* One attached target: what attach found and the state sampling keeps. */
#ifndef GAUGE_READER_H
#define GAUGE_READER_H
#include <limits.h>
#include <pthread.h>
#include "asyncio_tasks.h"
#include "frames.h"
#include "memsrc.h"
#include "threadstat.h"
#include "walker.h"

struct gauge_reader {
  int pid;
  int flags;
  memsrc mem;
  frame_cache fc;
  walker w;
  threadstats tstats;
  pthread_mutex_t lock; /* one sample at a time: snapshot and sampler share the walker */
  pthread_mutex_t names_lock; /* thread names (tn): read beside sampling, never holding up a tick */
  int major, minor, micro;
  char version[32];
  char binary[PATH_MAX];
  char library[PATH_MAX];
  uint64_t runtime, bias;
  int debug_offsets;     /* 3.13+: layout read from the target's _Py_DebugOffsets */
  int free_threaded;     /* built without the GIL (--disable-gil) */
  char warning[256];     /* said once to the user: untested version, pre-release */
  char layout_diff[512]; /* where the built-in row differs from what the target publishes */
  int exited;
  int exit_reported;
  unsigned calibrate_tries;
  char err[512];
  struct tn_cache *tn; /* threadnames.c state, allocated on first use */
  struct aio_state aio; /* asyncio_api.c state: nothing allocated, zero until first use */
};

/* Take one record: walker + tid calibration + (optionally) thread stats. */
int reader_sample(struct gauge_reader *r, uint64_t now_ns, uint32_t *out, int cap);
uint64_t monotonic_ns(void);
#endif
