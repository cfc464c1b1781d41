#define _GNU_SOURCE
#include "memsrc.h"
#include <errno.h>
#include <string.h>
#include <sys/uio.h>

/* Linux caps one process_vm_readv call at IOV_MAX (1024) ranges on each side. */
#define MAX_IOV 1024
/*
 * The kernel pins and looks up every remote range on its own (about as much
 * as copying a few KiB), while local ranges cost next to nothing. So a
 * request that starts at most this far past the end of the one before it,
 * on the same or the next page, extends that remote range: the bytes between
 * land in a scratch sink. Both ends' pages are read anyway, so nothing
 * unreadable is asked for that was not before.
 */
#define MERGE_GAP 2048

static int process_readv(memsrc *m, mem_req *reqs, int n) {
  /* Only the kernel writes the sink and nothing reads it: one for every thread will do. */
  static uint8_t sink[MERGE_GAP];
  int done = 0;
  while (done < n) {
    struct iovec local[MAX_IOV], remote[MAX_IOV];
    size_t ends[MAX_IOV]; /* where each request of this call ends in the copied stream */
    int nl = 0, nr = 0, k = 0;
    size_t want = 0;
    uint64_t end = 0;
    for (; done + k < n && k < MAX_IOV; k++) {
      const mem_req *q = &reqs[done + k];
      uint64_t gap = q->addr - end;
      int merge = nr > 0 && q->addr >= end && gap <= MERGE_GAP && (q->addr >> 12) <= ((end - 1) >> 12) + 1;
      if (nl + (merge && gap ? 2 : 1) > MAX_IOV) break;
      if (merge) {
        if (gap) local[nl++] = (struct iovec){sink, (size_t)gap};
        remote[nr - 1].iov_len += (size_t)gap + q->len;
        want += (size_t)gap;
      } else {
        remote[nr++] = (struct iovec){(void *)(uintptr_t)q->addr, q->len};
      }
      local[nl++] = (struct iovec){q->buf, q->len};
      want += q->len;
      ends[k] = want;
      end = q->addr + q->len;
    }
    m->syscalls++;
    ssize_t got = process_vm_readv(m->pid, local, (unsigned long)nl, remote, (unsigned long)nr, 0);
    if (got < 0) {
      if (errno == ESRCH) m->gone = 1;
      if (errno == EPERM || errno == EACCES) m->denied = 1;
      return done;
    }
    if ((size_t)got == want) { done += k; continue; }
    /* Partial: count the requests covered completely, then stop. */
    int whole = 0;
    while (whole < k && ends[whole] <= (size_t)got) whole++;
    return done + whole;
  }
  return done;
}

static int image_readv(memsrc *m, mem_req *reqs, int n) {
  for (int i = 0; i < n; i++) {
    uint64_t a = reqs[i].addr;
    if (a < m->image_base) return i;
    uint64_t off = a - m->image_base;
    if (off > m->image_len || reqs[i].len > m->image_len - off) return i;
    memcpy(reqs[i].buf, m->image + off, reqs[i].len);
  }
  return n;
}

void memsrc_init_process(memsrc *m, int pid) {
  memset(m, 0, sizeof *m);
  m->pid = pid;
  m->readv = process_readv;
}

void memsrc_init_image(memsrc *m, const uint8_t *image, size_t len, uint64_t base) {
  memset(m, 0, sizeof *m);
  m->readv = image_readv;
  m->image = image;
  m->image_len = len;
  m->image_base = base;
}

int mem_read(memsrc *m, uint64_t addr, void *buf, size_t len) {
  if (len == 0) return 0;
  if (addr == 0 || addr + len < addr) return -1;
  mem_req r = {addr, buf, len};
  return m->readv(m, &r, 1) == 1 ? 0 : -1;
}

int mem_read_u64(memsrc *m, uint64_t addr, uint64_t *out) {
  uint8_t b[8];
  if (mem_read(m, addr, b, 8)) return -1;
  *out = ld_u64(b);
  return 0;
}

void readv_each(memsrc *m, mem_req *reqs, int n, uint8_t *ok) {
  int done = 0;
  memset(ok, 0, (size_t)n);
  while (done < n) {
    int got = m->readv(m, reqs + done, n - done);
    for (int i = 0; i < got; i++) ok[done + i] = 1;
    done += got;
    if (done < n) {
      if (m->gone) return;
      done++; /* the unreadable one */
    }
  }
}
