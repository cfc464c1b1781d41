/* The exported ABI (include/gauge.h) over attach, walker and frame cache. */
#define _GNU_SOURCE
#include "../include/gauge.h"
#include "reader.h"
#include "threadnames.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int reader_attach(struct gauge_reader *r, int pid, int *err, char *msg, int msglen);

uint64_t monotonic_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int list_tids(int pid, int *tids, int max) {
  char p[64];
  snprintf(p, sizeof p, "/proc/%d/task", pid);
  DIR *d = opendir(p);
  if (!d) return 0;
  int n = 0;
  struct dirent *de;
  while ((de = readdir(d)) && n < max)
    if (de->d_name[0] >= '0' && de->d_name[0] <= '9') tids[n++] = atoi(de->d_name);
  closedir(d);
  return n;
}

int reader_sample(struct gauge_reader *r, uint64_t now_ns, uint32_t *out, int cap) {
  if (r->exited) return -GAUGE_EEXITED;
  if (r->flags & GAUGE_OPEN_THREAD_STATS) threadstats_begin(&r->tstats);
  int n = walker_sample(&r->w, now_ns, out, cap);
  /* <=3.10 keep no kernel tid: find where glibc's struct pthread holds it, then sample again. */
  if (n > 0 && r->w.pthread_tid_off < 0 && r->w.layout.ts_native_id < 0 && out[4] > 0 && r->calibrate_tries < 50) {
    r->calibrate_tries++;
    int tids[4096];
    int nt = list_tids(r->pid, tids, 4096);
    if (walker_calibrate_tid(&r->w, tids, nt) >= 0) n = walker_sample(&r->w, now_ns, out, cap);
  }
  if (n == -GAUGE_EEXITED || (n > 0 && r->mem.gone)) {
    r->exited = 1;
    return -GAUGE_EEXITED;
  }
  if (n > 0 && (r->flags & GAUGE_OPEN_THREAD_STATS)) threadstats_fill(&r->tstats, out);
  return n;
}

gauge_reader *gauge_open(int pid, int flags, int *err, char *msg, int msglen) {
  int e = 0;
  if (msg && msglen > 0) msg[0] = 0;
  struct gauge_reader *r = calloc(1, sizeof *r);
  if (!r) {
    if (err) *err = GAUGE_ENOMEM;
    return 0;
  }
  pthread_mutex_init(&r->lock, 0);
  pthread_mutex_init(&r->names_lock, 0);
  r->flags = flags;
  threadstats_init(&r->tstats, pid);
  int rc = reader_attach(r, pid, &e, msg, msglen);
  if (rc != GAUGE_OK) {
    gauge_close(r);
    if (err) *err = e ? e : rc;
    return 0;
  }
  if (flags & GAUGE_OPEN_THREAD_STATS) { /* threads that have not run are not walked */
    r->w.quiet = threadstats_quiet;
    r->w.settled = threadstats_settled;
    r->w.quiet_ctx = &r->tstats;
  }
  if (err) *err = GAUGE_OK;
  return r;
}

void gauge_close(gauge_reader *r) {
  if (!r) return;
  if (r->w.pages) walker_free(&r->w);
  if (r->fc.frames) frames_free(&r->fc);
  threadstats_free(&r->tstats);
  threadnames_free(r->tn);
  free(r->tn);
  pthread_mutex_destroy(&r->lock);
  pthread_mutex_destroy(&r->names_lock);
  free(r);
}

static void json_escape(char *out, size_t cap, const char *s) {
  size_t j = 0;
  for (; *s && j + 7 < cap; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') { out[j++] = '\\'; out[j++] = (char)c; }
    else if (c < 0x20) j += (size_t)snprintf(out + j, cap - j, "\\u%04x", c);
    else out[j++] = (char)c;
  }
  out[j] = 0;
}

int gauge_info(gauge_reader *r, char *out, int outlen) {
  if (!r || !out || outlen <= 0) return -GAUGE_EINVAL;
  char bin[PATH_MAX * 2], lib[PATH_MAX * 2], warn[sizeof r->warning * 2], diff[sizeof r->layout_diff * 2];
  json_escape(bin, sizeof bin, r->binary);
  json_escape(lib, sizeof lib, r->library);
  json_escape(warn, sizeof warn, r->warning);
  json_escape(diff, sizeof diff, r->layout_diff);
  pthread_mutex_lock(&r->lock); /* the counters move while the sampler runs */
  unsigned long long syscalls = r->mem.syscalls, resolves = r->fc.resolves;
  pthread_mutex_unlock(&r->lock);
  int n = snprintf(out, (size_t)outlen,
                   "{\"pid\":%d,\"version\":\"%s\",\"major\":%d,\"minor\":%d,\"micro\":%d,\"binary\":\"%s\",\"library\":\"%s\","
                   "\"runtime\":\"0x%llx\",\"debugOffsets\":%s,\"freeThreaded\":%s,\"warning\":\"%s\",\"layoutDiff\":\"%s\","
                   "\"syscalls\":%llu,\"codeResolves\":%llu}",
                   r->pid, r->version, r->major, r->minor, r->micro, bin, lib, (unsigned long long)r->runtime,
                   r->debug_offsets ? "true" : "false", r->free_threaded ? "true" : "false", warn, diff,
                   syscalls, resolves);
  return n < outlen ? n : -GAUGE_ENOMEM;
}

void gauge_set_max_depth(gauge_reader *r, int depth) {
  if (!r) return;
  if (depth < 1) depth = 1;
  if (depth > WALK_MAX_DEPTH) depth = WALK_MAX_DEPTH;
  pthread_mutex_lock(&r->lock);
  r->w.max_depth = depth;
  pthread_mutex_unlock(&r->lock);
}

int gauge_snapshot(gauge_reader *r, uint32_t *out, int cap_words) {
  if (!r || !out) return -GAUGE_EINVAL;
  pthread_mutex_lock(&r->lock);
  int n = reader_sample(r, monotonic_ns(), out, cap_words);
  if (n == -GAUGE_EEXITED) snprintf(r->err, sizeof r->err, "process %d exited", r->pid);
  else if (n == -GAUGE_ENOMEM) snprintf(r->err, sizeof r->err, "snapshot larger than the output buffer");
  pthread_mutex_unlock(&r->lock);
  return n;
}

int gauge_frame(gauge_reader *r, uint32_t id, char *out, int outlen, int32_t *lines) {
  if (!r || !out || !lines) return -GAUGE_EINVAL;
  int n = frames_describe(&r->fc, id, out, outlen, lines);
  return n < 0 ? -GAUGE_EINVAL : n;
}

int gauge_set_trace_context(gauge_reader *r, int on) {
  if (!r) return 0;
  pthread_mutex_lock(&r->lock);
  int ok = r->w.layout.ts_context >= 0;
  r->w.otel_on = on && ok;
  pthread_mutex_unlock(&r->lock);
  return ok;
}

int gauge_frame_kind(gauge_reader *r, uint32_t id) {
  return r ? (int)frames_kind(&r->fc, id) : -GAUGE_EINVAL;
}

int gauge_last_error(gauge_reader *r, char *out, int outlen) {
  if (!r || !out || outlen <= 0) return -GAUGE_EINVAL;
  pthread_mutex_lock(&r->lock);
  int n = snprintf(out, (size_t)outlen, "%s", r->err);
  pthread_mutex_unlock(&r->lock);
  return n;
}

/* Read the names into e (cap entries) from the target's main interpreter: count, or -error. Under names_lock. */
static int read_names(struct gauge_reader *r, memsrc *mem, tn_entry *e, int cap) {
  const py_layout *l = &r->w.layout;
  uint64_t interp = 0;
  int bad = l->root_is_interp_head ? mem_read_u64(mem, r->w.root, &interp)
                                   : mem_read_u64(mem, r->w.root + (uint64_t)l->rt_interp_head, &interp);
  int n = bad || !interp ? -GAUGE_EINVAL : threadnames_read(mem, l, r->tn, interp, e, cap);
  if (n == -1 || (bad && mem->gone)) n = mem->gone ? -GAUGE_EEXITED : -GAUGE_EINVAL;
  return n;
}

int gauge_thread_names(gauge_reader *r, char *out, int outlen) {
  if (!r || !out || outlen <= 0) return -GAUGE_EINVAL;
  if (r->w.layout.is_modules < 0) return 0; /* unknown layout: callers fall back to OS names */
  /* Not under the sampling lock (a tick of 1,000 threads takes milliseconds): a memory source of its
     own, and the layout and root, which attach set for good. */
  memsrc mem;
  memsrc_init_process(&mem, r->pid);
  pthread_mutex_lock(&r->names_lock);
  int n = -GAUGE_ENOMEM;
  tn_entry *e = 0;
  if (!r->tn) r->tn = calloc(1, sizeof *r->tn);
  if (r->tn && threadnames_memo_on(r->tn) == 0) {
    /* Entries sized from the last refresh's count; a full array means there may be more: once more, at the bound. */
    int cap = r->tn->memo->n + 64 < TN_MAX_THREADS ? r->tn->memo->n + 64 : TN_MAX_THREADS;
    for (;;) {
      free(e);
      if (!(e = malloc(sizeof *e * (size_t)cap))) { n = -GAUGE_ENOMEM; break; }
      n = read_names(r, &mem, e, cap);
      if (n < cap || cap == TN_MAX_THREADS) break;
      cap = TN_MAX_THREADS;
    }
  }
  pthread_mutex_unlock(&r->names_lock);
  int pos = 0;
  for (int i = 0; i < n; i++) {
    int k = snprintf(out + pos, (size_t)(outlen - pos), "%llu", (unsigned long long)e[i].ident);
    size_t len = strlen(e[i].name);
    /* The caller's buffer is too small: it asks again with a larger one (TN_MAX_THREADS names always fit 8 MiB). */
    if (k < 0 || pos + k + 1 + (int)len + 1 > outlen) { n = -GAUGE_ENOMEM; break; }
    pos += k + 1;
    memcpy(out + pos, e[i].name, len + 1);
    pos += (int)len + 1;
  }
  free(e);
  return n < 0 ? n : pos;
}
