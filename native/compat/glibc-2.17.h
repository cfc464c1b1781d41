/*
 * Keeps libgauge.so loadable on glibc 2.17 and newer (every glibc distribution
 * of the last decade), although it is built on a newer one. Force-included by
 * native/build.mjs (`-include`) before every reader source when the target is
 * glibc; nothing in native/src refers to it. The glibc-baseline test
 * (test/package.test.ts) reads the built library's version needs and fails on
 * anything newer than GLIBC_2.17.
 *
 * - pthread_create/pthread_join: glibc 2.34 moved them into libc with a new
 *   default version; bind to the original one (libpthread.so.0, which the
 *   build links explicitly, still provides it on older systems).
 * - pthread_condattr_setclock: the same move; its original version is
 *   GLIBC_2.3.3 on x86-64 (the arm64 port starts at 2.17).
 * - pthread_getcpuclockid: the same move, original version the base one.
 * - fstat: before glibc 2.33 it was not an exported function at all (an
 *   inline wrapper around __fxstat); issue the system call directly instead.
 *   glibc's struct stat is the kernel's on x86-64 and aarch64.
 */
#if defined(__x86_64__)
#define GAUGE_GLIBC_BASE "GLIBC_2.2.5"
#define GAUGE_GLIBC_SETCLOCK "GLIBC_2.3.3"
#define GAUGE_SYS_FSTAT 5
#elif defined(__aarch64__)
#define GAUGE_GLIBC_BASE "GLIBC_2.17"
#define GAUGE_GLIBC_SETCLOCK "GLIBC_2.17"
#define GAUGE_SYS_FSTAT 80
#endif

#ifdef GAUGE_GLIBC_BASE
__asm__(".symver pthread_create,pthread_create@" GAUGE_GLIBC_BASE);
__asm__(".symver pthread_join,pthread_join@" GAUGE_GLIBC_BASE);
__asm__(".symver pthread_getcpuclockid,pthread_getcpuclockid@" GAUGE_GLIBC_BASE);
__asm__(".symver pthread_condattr_setclock,pthread_condattr_setclock@" GAUGE_GLIBC_SETCLOCK);

struct stat;
extern long syscall(long number, ...);
static inline int gauge_fstat(int fd, struct stat *st) {
  return (int)syscall(GAUGE_SYS_FSTAT, fd, st);
}
#define fstat(fd, st) gauge_fstat(fd, st)
#endif
