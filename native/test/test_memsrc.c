/*
 * memsrc.c's process reads against the kernel, on this process's own memory:
 * requests close together share one remote range (the bytes between go to a
 * sink) and must still land byte for byte in their own buffers, in order; a
 * request on an unmapped page must stop the call there, with every request
 * before it whole and none after it counted.
 */
#define _GNU_SOURCE
#include "../src/memsrc.h"
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int passed, failed;
#define CHECK(cond, ...) do { if (cond) passed++; else { failed++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)

#define PG 4096

int main(void) {
  /* four readable pages, then one that is not */
  uint8_t *area = mmap(0, 5 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (area == MAP_FAILED || mprotect(area + 4 * PG, PG, PROT_NONE)) { printf("mmap failed\n0 passed, 1 failed\n"); return 1; }
  for (int i = 0; i < 4 * PG; i++) area[i] = (uint8_t)(i * 7 + i / 251);
  uint64_t base = (uint64_t)(uintptr_t)area;
  memsrc m;
  memsrc_init_process(&m, getpid());

  /* same page, touching, a gap on the same page, the next page, two pages on, backwards, a big one */
  static const struct { uint64_t off; size_t len; } want[] = {
      {16, 8}, {24, 8}, {100, 40}, {PG + 8, 24}, {3 * PG + 1, 3}, {200, 16}, {PG - 4, 2 * PG}, {3 * PG + 2000, 100},
  };
  enum { N = sizeof want / sizeof *want };
  uint8_t bufs[N][2 * PG + 1];
  mem_req reqs[N];
  for (int i = 0; i < N; i++) {
    memset(bufs[i], 0xee, sizeof bufs[i]);
    reqs[i] = (mem_req){base + want[i].off, bufs[i], want[i].len};
  }
  uint64_t calls = m.syscalls;
  int got = m.readv(&m, reqs, N);
  CHECK(got == N, "all %d requests read, got %d", N, got);
  CHECK(m.syscalls - calls == 1, "one call for %d requests, made %llu", N, (unsigned long long)(m.syscalls - calls));
  for (int i = 0; i < N; i++) {
    CHECK(memcmp(bufs[i], area + want[i].off, want[i].len) == 0, "request %d holds its own bytes", i);
    CHECK(bufs[i][want[i].len] == 0xee, "request %d wrote nothing past its length", i);
  }

  /* the third request runs onto the unmapped page: two whole, the call stops there */
  uint8_t a[8], b[8], c[64], d[8];
  memset(d, 0xee, sizeof d);
  mem_req bad[] = {{base + 4 * PG - 64, a, 8}, {base + 4 * PG - 40, b, 8}, {base + 4 * PG - 16, c, 64}, {base, d, 8}};
  got = m.readv(&m, bad, 4);
  CHECK(got == 2, "stops at the request that crosses into the unmapped page: 2, got %d", got);
  CHECK(memcmp(a, area + 4 * PG - 64, 8) == 0 && memcmp(b, area + 4 * PG - 40, 8) == 0, "the two before it are whole");
  CHECK(d[0] == 0xee, "nothing after it is read");

  /* an unmapped page right after a readable one, as the next page: not read in with the one before */
  uint8_t e[8], f[8];
  mem_req next[] = {{base + 4 * PG - 8, e, 8}, {base + 4 * PG + 8, f, 8}};
  got = m.readv(&m, next, 2);
  CHECK(got == 1, "the request before the unmapped page is whole, got %d", got);
  CHECK(memcmp(e, area + 4 * PG - 8, 8) == 0, "its bytes");

  /* readv_each skips the unreadable one and goes on */
  uint8_t ok[3], g[8], h[8], k[8];
  mem_req each[] = {{base + 8, g, 8}, {base + 4 * PG, h, 8}, {base + 3 * PG, k, 8}};
  readv_each(&m, each, 3, ok);
  CHECK(ok[0] && !ok[1] && ok[2], "readv_each: %d %d %d", ok[0], ok[1], ok[2]);
  CHECK(memcmp(g, area + 8, 8) == 0 && memcmp(k, area + 3 * PG, 8) == 0, "readv_each: the readable ones hold their bytes");

  munmap(area, 5 * PG);
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
