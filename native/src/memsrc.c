#define _GNU_SOURCE
#include "memsrc.h"
#include <errno.h>
#include <string.h>
#include <sys/uio.h>

/* Linux caps one process_vm_readv call at IOV_MAX (1024) ranges. */
#define MAX_IOV 1024

static int process_readv(memsrc *m, mem_req *reqs, int n) {
  int done = 0;
  while (done < n) {
    struct iovec local[MAX_IOV], remote[MAX_IOV];
    int k = n - done < MAX_IOV ? n - done : MAX_IOV;
    size_t want = 0;
    for (int i = 0; i < k; i++) {
      local[i].iov_base = reqs[done + i].buf;
      local[i].iov_len = reqs[done + i].len;
      remote[i].iov_base = (void *)(uintptr_t)reqs[done + i].addr;
      remote[i].iov_len = reqs[done + i].len;
      want += reqs[done + i].len;
    }
    m->syscalls++;
    ssize_t got = process_vm_readv(m->pid, local, (unsigned long)k, remote, (unsigned long)k, 0);
    if (got < 0) {
      if (errno == ESRCH) m->gone = 1;
      if (errno == EPERM || errno == EACCES) m->denied = 1;
      return done;
    }
    if ((size_t)got == want) { done += k; continue; }
    /* Partial: count the requests covered completely, then stop. */
    size_t acc = 0;
    for (int i = 0; i < k; i++) {
      acc += reqs[done + i].len;
      if (acc > (size_t)got) return done + i;
    }
    return done + k;
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
