/* Where the reader's bytes come from: a live process, or a memory image (tests, fuzzing). */
#ifndef GAUGE_MEMSRC_H
#define GAUGE_MEMSRC_H
#include <stddef.h>
#include <stdint.h>

/* One remote range to copy into a local buffer. */
typedef struct {
  uint64_t addr;
  void *buf;
  size_t len;
} mem_req;

typedef struct memsrc {
  /*
   * Copy the requests in order. Returns how many leading requests were
   * copied completely (0..n); stops at the first that is not.
   * Sets *gone when the process no longer exists.
   */
  int (*readv)(struct memsrc *m, mem_req *reqs, int n);
  int pid;
  int gone;      /* the process has exited */
  int denied;    /* permission denied */
  uint64_t syscalls; /* system calls made, for benchmarks */
  /* image source */
  const uint8_t *image;
  size_t image_len;
  uint64_t image_base;
} memsrc;

void memsrc_init_process(memsrc *m, int pid);
void memsrc_init_image(memsrc *m, const uint8_t *image, size_t len, uint64_t base);

/* 0 when all len bytes were read. */
int mem_read(memsrc *m, uint64_t addr, void *buf, size_t len);
int mem_read_u64(memsrc *m, uint64_t addr, uint64_t *out);
/*
 * Read every request, in as few calls as the kernel allows: it stops at the
 * first unreadable one, which is skipped. ok[i] says which were read whole.
 */
void readv_each(memsrc *m, mem_req *reqs, int n, uint8_t *ok);

static inline uint64_t ld_u64(const uint8_t *p) { uint64_t v; __builtin_memcpy(&v, p, 8); return v; }
static inline uint32_t ld_u32(const uint8_t *p) { uint32_t v; __builtin_memcpy(&v, p, 4); return v; }
static inline int32_t ld_i32(const uint8_t *p) { int32_t v; __builtin_memcpy(&v, p, 4); return v; }
#endif
