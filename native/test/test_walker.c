/*
 * Walker unit tests over synthetic memory images: every built-in row (2.7,
 * 3.6-3.14), and for 3.13+ the target's own _Py_DebugOffsets. For those the
 * block and the image are written from real builds' values kept in the test
 * (builds.h: 3.13.0, 3.13.5t, 3.14.10, 3.14.7t, 3.15.2 and a future 3.16),
 * and the walker reads with what debug_offsets_layout decodes, so a wrong
 * field table or mapping in the reader fails here. Also: free-threaded
 * objects, per-thread bytecode copies, the 3.15 base-frame sentinel, the
 * reason of every broken chain, and corrupt blocks that must be refused.
 * Prints "N passed, N failed". --write-seeds DIR saves each image as a fuzz seed.
 */
#include <limits.h>
#include <stdio.h>
#include "../include/gauge.h"
#include "../src/debug_offsets.h"
#include "../src/frames.h"
#include "../src/threadnames.h"
#include "../src/walker.h"
#include "builds.h"
#include "names_image.h"

static int passed, failed;
static const char *seed_dir;
#define CHECK(cond, ...) do { if (cond) passed++; else { failed++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)

static const uint64_t CODE_TYPE = 0x7f00dead0000ull;
static const int ROWS[][2] = {{2, 7}, {3, 6}, {3, 7}, {3, 8}, {3, 9}, {3, 10}, {3, 11}, {3, 12}, {3, 13}, {3, 14}};
#define NROWS (int)(sizeof ROWS / sizeof ROWS[0])

/* A line table in the layout's format: [0,20) -> first, [20,36) -> first+2, 3.11+: [36,44) -> first+5, [44,46) none, [46,50) first+5. */
static uint64_t make_linetable(image *im, const py_layout *l) {
  uint8_t t[32];
  size_t n = 0;
  switch (l->linetable_kind) {
  case LT_LNOTAB27: case LT_LNOTAB36:
    t[n++] = 20; t[n++] = 2; break;
  case LT_LINETABLE310:
    t[n++] = 20; t[n++] = 0; t[n++] = 16; t[n++] = 2; break;
  default:
    t[n++] = 0x80 | (10 << 3) | 7; t[n++] = 1; t[n++] = 5;  /* one-line form, delta 0: [0,16) */
    t[n++] = 0x80 | (0 << 3) | 1; t[n++] = 3;                /* short form: [16,20) */
    t[n++] = 0x80 | (13 << 3) | 7; t[n++] = 4;               /* no columns, svarint +2: [20,36) */
    t[n++] = 0x80 | (14 << 3) | 3; t[n++] = 6; t[n++] = 0; t[n++] = 1; t[n++] = 5; /* long form +3: [36,44) */
    t[n++] = 0x80 | (15 << 3) | 0;                           /* no location: [44,46) */
    t[n++] = 0x80 | (0 << 3) | 1; t[n++] = 3;                /* short form: [46,50) */
    break;
  }
  return img_bytes(im, l, t, n);
}

/* One frame: code, byte offset, owner; tlbc/copy: which bytecode copy the instruction pointer is in. */
typedef struct { uint64_t code; int64_t addr; int owner; int32_t tlbc; uint64_t copy; } fspec;

#define FRAME_STRIDE 160
/* Lay out a thread's frames (outermost first, its caller `outer`) and return the innermost frame's address. */
static uint64_t make_frames(image *im, const py_layout *l, const fspec *f, int n, uint64_t outer) {
  uint64_t prev = outer;
  if (l->frame_kind == FRAME_OBJECT) {
    for (int i = 0; i < n; i++) {
      uint64_t fr = img_alloc(im, 512);
      img_w64(im, fr + l->f_back, prev);
      img_w64(im, fr + l->f_code, f[i].code);
      int32_t lasti = (int32_t)(l->lasti_kind == LASTI_BYTES ? f[i].addr : f[i].addr / 2);
      img_w32(im, fr + l->f_lasti, (uint32_t)lasti);
      prev = fr;
    }
    return prev;
  }
  if (!prev && l->owner_skip_min <= l->owner_max) {
    /* 3.12-3.14: a whole chain starts at the interpreter's entry frame, on the C stack (3.15+: the base frame) */
    prev = img_alloc(im, FRAME_STRIDE);
    img_w8(im, prev + l->f_owner, (uint8_t)l->owner_skip_min);
  }
  uint64_t stack = img_alloc(im, (size_t)n * FRAME_STRIDE + 64); /* contiguous, like a data-stack chunk */
  for (int i = 0; i < n; i++) {
    uint64_t fr = stack + (uint64_t)i * FRAME_STRIDE;
    img_w64(im, fr + l->f_back, prev);
    uint64_t c = f[i].code;
    img_w64(im, fr + l->f_code, l->stackref && c ? (c | 1) : c); /* 3.14+: a deferred (tagged) reference */
    uint64_t base = f[i].copy ? f[i].copy : c + (uint64_t)l->co_code;
    img_w64(im, fr + l->f_lasti, base + (uint64_t)f[i].addr);
    img_w8(im, fr + l->f_owner, (uint8_t)f[i].owner);
    if (l->f_tlbc_index >= 0) img_w32(im, fr + l->f_tlbc_index, (uint32_t)f[i].tlbc);
    prev = fr;
  }
  return prev;
}

static void describe(frame_cache *fc, uint32_t id, char *name, char *file, int *line) {
  char buf[1024];
  int32_t lines[2];
  name[0] = file[0] = 0;
  *line = -1;
  if (frames_describe(fc, id, buf, sizeof buf, lines) < 0) return;
  strcpy(name, buf);
  strcpy(file, buf + strlen(buf) + 1);
  *line = lines[0];
}

/* How one image is written and read. */
typedef struct {
  char tag[48];
  py_layout truth;     /* how the test writes the image */
  py_layout read;      /* what the walker is given: the row, or what the reader decoded */
  const do_build *b;   /* 3.13+: the build whose _Py_DebugOffsets sits at the root */
  int gil_on;          /* free-threaded with the GIL turned on (PYTHON_GIL=1) */
  int seed_mode;
  int npatch;          /* fields of the block to corrupt after writing it */
  struct { enum dfield f; uint64_t v; } patch[2];
  int smoke;           /* only write the seed and, when the block decodes, walk it once without a crash */
} scenario;

/* The runtime root, an interpreter and its GIL; threads linked newest first. */
typedef struct {
  uint64_t root, tcur, interp;
} world_roots;

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

static uint64_t alloc_tstate(image *im, const scenario *s) {
  size_t n = s->b ? (size_t)s->b->v[D_TS_SIZE] + 2 * FRAME_STRIDE : 512;
  return img_alloc(im, n);
}

/* The 3.15+ sentinel frame embedded after the thread state, where a complete walk ends (owner 3, executable None). */
static uint64_t base_frame(image *im, const scenario *s, uint64_t ts) {
  if (!s->b || s->b->table < 15) return 0;
  const py_layout *l = &s->truth;
  uint64_t f = ts + (uint64_t)s->b->v[D_TS_SIZE];
  uint64_t none = img_alloc(im, 32);
  img_w64(im, ts + (uint64_t)s->b->v[D_TS_BASE_FRAME], f);
  img_w64(im, f + l->f_back, 0);
  img_w64(im, f + l->f_code, none | 1);
  img_w8(im, f + l->f_owner, 3);
  return f;
}

static world_roots make_roots(image *im, const scenario *s, const uint64_t *ts, int nts, uint64_t gil_holder) {
  const py_layout *l = &s->truth;
  world_roots r = {0, 0, 0};
  int64_t isz = max64(max64(l->is_threads_head, l->is_next), max64(max64(l->is_id, l->is_gil_ptr), l->is_modules));
  if (s->b) isz = max64(isz, s->b->v[D_IS_GIL] + 256);
  r.interp = img_alloc(im, (size_t)isz + 64);
  img_w64(im, r.interp + l->is_threads_head, nts ? ts[0] : 0);
  for (int i = 0; i < nts; i++) {
    img_w64(im, ts[i] + l->ts_next, i + 1 < nts ? ts[i + 1] : 0);
    img_w64(im, ts[i] + l->ts_interp, r.interp);
  }
  if (l->root_is_interp_head) {
    r.root = img_alloc(im, 8);
    img_w64(im, r.root, r.interp);
    r.tcur = img_alloc(im, 8);
    img_w64(im, r.tcur, gil_holder);
  } else {
    r.root = img_alloc(im, 2048);
    if (s->b) block_write(s->b, img_at(im, r.root));
    for (int i = 0; i < s->npatch; i++) block_set(s->b, img_at(im, r.root), s->patch[i].f, s->patch[i].v);
    img_w64(im, r.root + l->rt_interp_head, r.interp);
    if (l->gil_kind == GIL_RUNTIME) img_w64(im, r.root + l->rt_tstate_current, gil_holder);
  }
  if (l->gil_kind == GIL_INTERP_PTR) {
    if (s->b) {
      /* interp->ceval.gil points at the interpreter's own GIL struct; locked/holder are published relative to interp */
      const int64_t *v = s->b->v;
      uint64_t gil = r.interp + (uint64_t)v[D_IS_GIL];
      img_w64(im, r.interp + (uint64_t)v[D_IS_CEVAL_GIL], gil);
      /* Without a GIL the holder word is stale, not cleared (seen on 3.13.5t): set it anyway. */
      img_w64(im, r.interp + (uint64_t)v[D_IS_GIL_HOLDER], gil_holder);
      img_w32(im, r.interp + (uint64_t)v[D_IS_GIL_LOCKED], 1);
      if (s->b->ft) img_w32(im, gil + (uint64_t)v[D_IS_GIL_ENABLED], s->gil_on ? INT_MAX : 0);
    } else {
      uint64_t gil = img_alloc(im, 64);
      img_w64(im, gil + l->gil_holder, gil_holder);
      img_w32(im, gil + l->gil_locked, 1);
      img_w64(im, r.interp + l->is_gil_ptr, gil);
    }
  }
  return r;
}

static void set_frame(image *im, const py_layout *l, uint64_t ts, uint64_t frame) {
  if (l->ts_cframe >= 0) {
    uint64_t cf = img_alloc(im, 64);
    img_w64(im, cf + l->cf_current_frame, frame);
    img_w64(im, ts + l->ts_cframe, cf);
  } else {
    img_w64(im, ts + l->ts_frame, frame);
  }
}

static int walker_start(walker *w, frame_cache *fc, memsrc *m, image *im, const scenario *s, world_roots *r) {
  memsrc_init_image(m, im->mem, im->len, im->base);
  frames_init(fc);
  fc->code_type = CODE_TYPE;
  return walker_init(w, m, &s->read, fc, r->root, r->tcur);
}

static uint32_t why_of(const uint32_t *th) { return (th[3] >> 16) & 0xff; }

static int fake_quiet(void *ctx, uint64_t tid, int vouched) {
  (void)vouched;
  const int *quiet_tid = ctx;
  return tid == (uint64_t)*quiet_tid;
}

/* What the walker told the quiet hook: vouched[0] for thread A (tid 100, the GIL's holder), [1] for any other. */
static int note_vouched(void *ctx, uint64_t tid, int vouched) {
  int *v = ctx;
  v[tid == 100 ? 0 : 1] += vouched;
  return 0;
}

/*
 * GIL builds with a switch count (3.12+): a thread is vouched for (ran no Python since the memo's sample) while the
 * GIL's last holder and switch count stay as they were then; never the holder; nobody once the count moves.
 */
static void test_vouch(walker *w, image *im, const char *tag) {
  const py_layout *l = &w->layout;
  int can = l->gil_kind == GIL_INTERP_PTR && l->gil_switches >= 0 && l->gil_enabled < 0;
  uint64_t interp, gil = 0;
  memcpy(&interp, img_at(im, w->root + (uint64_t)l->rt_interp_head), 8);
  if (l->gil_kind == GIL_INTERP_PTR) memcpy(&gil, img_at(im, interp + (uint64_t)l->is_gil_ptr), 8);
  int v[2] = {0, 0};
  uint32_t got[4096];
  w->quiet = note_vouched;
  w->quiet_ctx = v;
  walker_sample(w, 3, got, 4096); /* nothing to compare with yet */
  CHECK(v[0] == 0 && v[1] == 0, "%s: vouched with no earlier sample", tag);
  walker_sample(w, 4, got, 4096);
  CHECK(v[0] == 0 && v[1] == can, "%s: GIL unchanged: vouched holder %d, other %d (want 0, %d)", tag, v[0], v[1], can);
  if (can) {
    img_w64(im, gil + (uint64_t)l->gil_switches, 77); /* another thread took the GIL */
    walker_sample(w, 5, got, 4096);
    CHECK(v[0] == 0 && v[1] == 1, "%s: GIL switched, yet vouched (holder %d, other %d)", tag, v[0], v[1]);
    walker_sample(w, 6, got, 4096);
    CHECK(v[0] == 0 && v[1] == 2, "%s: GIL unchanged again, other not vouched (%d)", tag, v[1]);
    img_w64(im, gil + (uint64_t)l->gil_switches, 0);
  }
  w->quiet = 0;
}

/*
 * A thread the quiet hook vouches for keeps the last sample's stack unread;
 * one it does not, or a thread state now holding another thread, is walked.
 * out/n: the sample taken before, thread A (native id 100) its second thread.
 */
static void test_memo(walker *w, const py_layout *l, image *im, uint64_t ts_a, uint64_t fa, const uint32_t *out, int n,
                      const char *tag) {
  uint32_t got[4096];
  int quiet_tid = 100;
  w->quiet = fake_quiet;
  w->quiet_ctx = &quiet_tid;
  int k = walker_sample(w, 5, got, 4096); /* nothing remembered yet: walked, and remembered */
  CHECK(k == n && memcmp(got + 4, out + 4, (size_t)(n - 4) * 4) == 0, "%s: memo: first sample differs", tag);
  set_frame(im, l, ts_a, 0); /* A's stack now empty in memory: only the memo still has its frames */
  k = walker_sample(w, 6, got, 4096);
  const uint32_t *ga = got + GAUGE_REC_HEADER + GAUGE_THREAD_HEADER + got[GAUGE_REC_HEADER + 7];
  CHECK(k == n && memcmp(got + 4, out + 4, (size_t)(n - 4) * 4) == 0, "%s: memo: quiet thread A not copied (depth %u)",
        tag, ga[7]);
  quiet_tid = 0; /* A ran: walked again, its (now empty) stack read */
  k = walker_sample(w, 7, got, 4096);
  ga = got + GAUGE_REC_HEADER + GAUGE_THREAD_HEADER + got[GAUGE_REC_HEADER + 7];
  CHECK(k > 0 && ga[7] == 0, "%s: memo: a thread that ran kept %u old frames", tag, ga[7]);
  set_frame(im, l, ts_a, fa);
  k = walker_sample(w, 8, got, 4096); /* A walked with its frames again: remembered */
  /* the thread state now holds another thread (A exited, so it is not quiet), one that has not run since */
  quiet_tid = 101;
  img_w64(im, ts_a + l->ts_thread_id, 0x7100);
  img_w64(im, ts_a + l->ts_native_id, 101);
  set_frame(im, l, ts_a, 0);
  k = walker_sample(w, 9, got, 4096);
  ga = got + GAUGE_REC_HEADER + GAUGE_THREAD_HEADER + got[GAUGE_REC_HEADER + 7];
  CHECK(k > 0 && ga[0] == 0x7100 && ga[2] == 101 && ga[7] == 0, "%s: memo: a new thread in an old thread state got its frames", tag);
  img_w64(im, ts_a + l->ts_thread_id, 0x7000);
  img_w64(im, ts_a + l->ts_native_id, 100);
  set_frame(im, l, ts_a, fa);
  w->quiet = 0;
  walker_sample(w, 10, got, 4096);
}

/* A memsrc over an image that counts what it is asked for. */
typedef struct { memsrc m, img; int calls, reqs, ranges; uint64_t watch; int watch_alone; } counting_src;

static int counting_readv(memsrc *m, mem_req *reqs, int n) {
  counting_src *c = (counting_src *)m;
  int watched = 0, pages = 0;
  c->calls++;
  c->reqs += n;
  for (int i = 0; i < n; i++) {
    c->ranges += reqs[i].len > BLOCK_SIZE;
    pages += reqs[i].len >= BLOCK_SIZE;
    watched += c->watch && reqs[i].addr == c->watch;
  }
  c->watch_alone += watched && !pages; /* read in a call of its own, not with the frames' pages */
  return c->img.readv(&c->img, reqs, n);
}

static int settled_now = 1;
static int fake_settled(void *ctx) {
  (void)ctx;
  return settled_now;
}

/* Requests for the thread state at ts (page reads that cover it hold frames: not counted). */
typedef struct { memsrc m, img; uint64_t ts; int seen; } ts_watch;

static int ts_watch_readv(memsrc *m, mem_req *reqs, int n) {
  ts_watch *c = (ts_watch *)m;
  for (int i = 0; i < n; i++) c->seen += reqs[i].addr == c->ts;
  return c->img.readv(&c->img, reqs, n);
}

/* Thread id (word 0) and depth of each thread of a record, as "id:depth ..." for messages and comparisons. */
static void rec_threads(const uint32_t *rec, char *out, size_t cap) {
  const uint32_t *th = rec + GAUGE_REC_HEADER;
  size_t k = 0;
  out[0] = 0;
  for (uint32_t i = 0; i < rec[4] && k + 24 < cap; i++, th += GAUGE_THREAD_HEADER + th[7])
    k += (size_t)snprintf(out + k, cap - k, "%x:%u ", th[0], th[7]);
}

/*
 * The state of a thread the quiet hook vouches for is not read again while
 * no thread ran unseen (settled): its bytes from the last read stand (only it
 * writes them), through a chain that loses or gains other threads; one that
 * ran is read, all are when not settled, and every state is read again after
 * WALK_SPEC_REFRESH_NS. Free-threaded builds read every state.
 * Chain: B (0x7001, tid 101) -> A (0x7000, tid 100, 3 frames).
 */
static void test_spec_skip(walker *w, const py_layout *l, image *im, uint64_t ts_a, uint64_t ts_b, uint64_t fa,
                           const char *tag) {
  int can = l->gil_enabled < 0;
  ts_watch src = {.img = *w->m, .ts = ts_a};
  src.m = src.img;
  src.m.readv = ts_watch_readv;
  memsrc *was = w->m;
  w->m = &src.m;
  uint64_t interp;
  memcpy(&interp, img_at(im, w->root + (uint64_t)l->rt_interp_head), 8);
  uint64_t t0 = 50000000000ull;
  int quiet_tid = 100;
  w->quiet = fake_quiet;
  w->settled = fake_settled;
  w->quiet_ctx = &quiet_tid;
  uint32_t got[4096];
  char th[128];
  walker_sample(w, t0, got, 4096); /* remembered */
  walker_sample(w, t0 + 1, got, 4096);
  src.seen = 0;
  set_frame(im, l, ts_a, 0); /* written only by A, which the hook says did not run: not read (free-threaded: read) */
  walker_sample(w, t0 + 2, got, 4096);
  rec_threads(got, th, sizeof th);
  CHECK(src.seen == !can && strstr(th, " 7000:3 "), "%s: spec: quiet A's state read %d times, threads %s", tag, src.seen, th);
  /* some thread ran unseen (it may have left the chain, rewriting A's link): A's state is read */
  src.seen = 0;
  settled_now = 0;
  walker_sample(w, t0 + 2, got, 4096);
  settled_now = 1;
  CHECK(src.seen == 1, "%s: spec: not settled, quiet A's state read %d times", tag, src.seen);
  /* B leaves the chain: A, now its head, keeps its unread bytes in the new order */
  img_w64(im, interp + l->is_threads_head, ts_a);
  walker_sample(w, t0 + 3, got, 4096);
  walker_sample(w, t0 + 4, got, 4096);
  rec_threads(got, th, sizeof th);
  CHECK(!strcmp(th, "7000:3 "), "%s: spec: B gone, threads %s", tag, th);
  /* B comes back as the new head */
  img_w64(im, interp + l->is_threads_head, ts_b);
  walker_sample(w, t0 + 5, got, 4096);
  rec_threads(got, th, sizeof th);
  CHECK(strstr(th, "7001:") == th && strstr(th, " 7000:3 "), "%s: spec: B back, threads %s", tag, th);
  src.seen = 0;
  quiet_tid = 0; /* A ran: its state is read, its stack (now empty) with it */
  walker_sample(w, t0 + 6, got, 4096);
  rec_threads(got, th, sizeof th);
  CHECK(src.seen >= 1 && strstr(th, " 7000:0 "), "%s: spec: A ran: read %d times, threads %s", tag, src.seen, th);
  set_frame(im, l, ts_a, fa);
  quiet_tid = 100;
  walker_sample(w, t0 + 7, got, 4096); /* read (not yet remembered as quiet), walked with its frames */
  set_frame(im, l, ts_a, 0);
  src.seen = 0;
  walker_sample(w, t0 + 8, got, 4096);
  int quiet_seen = src.seen;
  walker_sample(w, t0 + 8 + WALK_SPEC_REFRESH_NS, got, 4096); /* a second on: every state read again */
  rec_threads(got, th, sizeof th);
  CHECK(quiet_seen == !can && src.seen == quiet_seen + 1, "%s: spec: refresh: read %d times, then %d", tag, quiet_seen,
        src.seen);
  set_frame(im, l, ts_a, fa);
  w->quiet = 0;
  w->settled = 0;
  w->m = was;
  walker_sample(w, t0 + 9 + WALK_SPEC_REFRESH_NS, got, 4096);
}

/* Two threads: A (3 frames, holds the GIL) and B (a shim, a generator frame with a non-ASCII name, one not started). */
static void test_walk(const scenario *s) {
  const py_layout *l = &s->truth;
  const char *tag = s->tag;
  image im;
  img_init(&im, 1 << 18);
  int interp_frames = l->frame_kind == FRAME_INTERP;
  int no_gil = s->b && s->b->ft && !s->gil_on;
  uint64_t ts_b = alloc_tstate(&im, s), ts_a = alloc_tstate(&im, s);
  uint64_t tss[2] = {ts_b, ts_a}; /* newest first */
  uint64_t file = img_str(&im, l, "/srv/app.py");
  uint64_t lt = make_linetable(&im, l);
  uint64_t c_outer = img_code(&im, l, CODE_TYPE, img_str(&im, l, "main"), 0, file, 10, lt, 1);
  uint64_t c_mid = img_code(&im, l, CODE_TYPE, img_str(&im, l, "handle"), img_str(&im, l, "Server.handle"), file, 20, lt, 1);
  uint64_t c_leaf = img_code(&im, l, CODE_TYPE, img_str(&im, l, "parse"), 0, file, 30, lt, 1);
  uint32_t cps[] = {'g', 'r', 0xf6, 0xdf, 'e', '_', 0x3b1, '_', 0x1f600};
  uint64_t c_uni = img_code(&im, l, CODE_TYPE, img_str_cp(&im, l, cps, l->major == 2 ? 2 : 9), 0, file, 40, lt, 1);

  /* Free-threaded 3.14+: thread A runs its own copy of handle's bytecode (index 2 of co_tlbc). */
  uint64_t copy = 0;
  int32_t tlbc = 0;
  if (l->co_tlbc >= 0) {
    copy = img_alloc(&im, 256);
    uint64_t arr = img_alloc(&im, 8 + 3 * 8);
    img_w64(&im, arr, 3);
    img_w64(&im, arr + 8, c_mid + (uint64_t)l->co_code);
    img_w64(&im, arr + 16, 0);
    img_w64(&im, arr + 24, copy);
    img_w64(&im, c_mid + (uint64_t)l->co_tlbc, arr);
    tlbc = 2;
  }

  int skip = l->owner_skip_min < 256 ? l->owner_skip_min : -1;
  fspec a[] = {{c_outer, 4, 0, 0, 0}, {c_mid, 24, 0, tlbc, copy},
               {c_leaf, interp_frames && l->linetable_kind == LT_LOCATIONS311 ? 40 : 24, 0, 0, 0}};
  fspec b[8];
  int nb = 0;
  b[nb++] = (fspec){c_outer, 4, 0, 0, 0};
  if (skip > 0) b[nb++] = (fspec){c_outer, 0, skip, 0, 0}; /* a C-stack shim: skipped */
  if (skip > 0 && l->owner_max > skip) b[nb++] = (fspec){c_outer, 0, l->owner_max, 0, 0}; /* 3.14 CSTACK */
  b[nb++] = (fspec){c_uni, 24, 1, 0, 0};
  if (l->co_firsttraceable >= 0) b[nb++] = (fspec){c_leaf, 0, 0, 0, 0}; /* still before RESUME: hidden like CPython does */
  uint64_t fa = make_frames(&im, l, a, 3, base_frame(&im, s, ts_a));
  uint64_t fb = make_frames(&im, l, b, nb, base_frame(&im, s, ts_b));
  uint64_t frs[2] = {fb, fa};
  for (int i = 0; i < 2; i++) {
    img_w64(&im, tss[i] + l->ts_thread_id, 0x7001 - (uint64_t)i);
    if (l->ts_native_id >= 0) img_w64(&im, tss[i] + l->ts_native_id, 101 - (uint64_t)i);
    set_frame(&im, l, tss[i], frs[i]);
  }
  world_roots r = make_roots(&im, s, tss, 2, ts_a);
  img_write_seed(seed_dir, tag, s->seed_mode, &im, r.root, r.tcur);

  memsrc m;
  frame_cache fc;
  walker w;
  uint32_t out[4096];
  if (s->smoke) {
    uint8_t blk[DEBUG_OFFSETS_READ];
    debug_offsets_info info;
    scenario read = *s;
    memsrc_init_image(&m, im.mem, im.len, im.base);
    if (mem_read(&m, r.root, blk, sizeof blk) == 0 && /* as attach reads it */
        debug_offsets_layout(blk, sizeof blk, &read.read, &info, 0, 0) == 0) {
      CHECK(walker_start(&w, &fc, &m, &im, &read, &r) == 0 && walker_sample(&w, 1, out, 4096) > 0,
            "%s: walking the image failed", tag);
      walker_free(&w);
      frames_free(&fc);
    }
    free(im.mem);
    return;
  }
  int wi = walker_start(&w, &fc, &m, &im, s, &r);
  CHECK(wi == 0, "%s: walker_init %d", tag, wi);
  int n = walker_sample(&w, 1, out, 4096);
  CHECK(n > GAUGE_REC_HEADER, "%s: sample failed (%d)", tag, n);
  CHECK(out[4] == 2, "%s: %u threads, want 2", tag, out[4]);
  uint32_t want_flags = no_gil ? GAUGE_REC_NO_GIL : 0;
  CHECK(out[5] == want_flags, "%s: record flags %#x, want %#x", tag, out[5], want_flags);
  uint32_t *th = out + GAUGE_REC_HEADER;
  /* first listed = newest = thread B */
  CHECK(th[0] == 0x7001, "%s: first thread id %#x", tag, th[0]);
  CHECK(!(th[3] & GAUGE_TH_GIL), "%s: thread B must not hold the GIL", tag);
  CHECK(th[7] == 2, "%s: thread B depth %u, want 2 (shims, sentinel and incomplete frame skipped)", tag, th[7]);
  char name[256], fname[256];
  int line;
  describe(&fc, th[8], name, fname, &line);
  if (l->major == 2) CHECK(!strcmp(name, "gr"), "%s: B leaf name '%s'", tag, name);
  else CHECK(!strcmp(name, "gr\xc3\xb6\xc3\x9f" "e_\xce\xb1_\xf0\x9f\x98\x80"), "%s: B leaf non-ASCII name '%s'", tag, name);
  CHECK(line == 42, "%s: B leaf line %d, want 42", tag, line);
  describe(&fc, th[9], name, fname, &line);
  CHECK(!strcmp(name, "main") && line == 10, "%s: B root %s:%d", tag, name, line);

  uint32_t *ta = th + GAUGE_THREAD_HEADER + th[7];
  CHECK(ta[0] == 0x7000, "%s: second thread id %#x", tag, ta[0]);
  if (no_gil) CHECK(!(ta[3] & GAUGE_TH_GIL), "%s: no GIL, yet thread A holds it", tag);
  else CHECK(ta[3] & GAUGE_TH_GIL, "%s: thread A holds the GIL", tag);
  CHECK(ta[7] == 3, "%s: thread A depth %u (why %u)", tag, ta[7], why_of(ta));
  if (l->ts_native_id >= 0) CHECK(ta[2] == 100, "%s: native id %u", tag, ta[2]);
  describe(&fc, ta[8], name, fname, &line);
  int want_leaf = interp_frames && l->linetable_kind == LT_LOCATIONS311 ? 35 : 32;
  CHECK(!strcmp(name, "parse") && line == want_leaf && !strcmp(fname, "/srv/app.py"), "%s: A leaf %s %s:%d want %d", tag, name, fname, line, want_leaf);
  describe(&fc, ta[9], name, fname, &line);
  const char *want_mid = l->co_qualname >= 0 ? "Server.handle" : "handle";
  CHECK(!strcmp(name, want_mid) && line == 22, "%s: A mid %s:%d%s", tag, name, line, copy ? " (bytecode copy 2)" : "");

  /* Same sample again: every frame comes from the caches, same ids. */
  uint32_t again[4096];
  uint64_t resolves = fc.resolves;
  int n2 = walker_sample(&w, 2, again, 4096);
  CHECK(n2 == n && memcmp(again + 4, out + 4, (size_t)(n - 4) * 4) == 0, "%s: second sample differs", tag);
  CHECK(fc.resolves == resolves, "%s: warm sample re-resolved code objects", tag);
  /* ... and every id but a bytecode copy's (whose start may move) taken from the last sample, none looked up again */
  uint64_t decoded = w.dec.decoded, reused = w.dec.reused;
  walker_sample(&w, 2, again, 4096);
  CHECK(w.dec.decoded - decoded >= 5 && w.dec.reused - reused == w.dec.decoded - decoded - (copy ? 1 : 0),
        "%s: unchanged stacks: %llu of %llu frames reused", tag, (unsigned long long)(w.dec.reused - reused),
        (unsigned long long)(w.dec.decoded - decoded));
  if (interp_frames) {
    /* Only A's leaf moved on: its new line is read, the frames under it are taken from the last sample. */
    uint64_t leaf_ip = c_leaf + (uint64_t)l->co_code + (uint64_t)a[2].addr;
    img_w64(&im, fa + l->f_lasti, leaf_ip - (uint64_t)a[2].addr + 2);
    decoded = w.dec.decoded, reused = w.dec.reused;
    n2 = walker_sample(&w, 2, again, 4096);
    uint32_t *tm = again + GAUGE_REC_HEADER + GAUGE_THREAD_HEADER + again[GAUGE_REC_HEADER + 7];
    describe(&fc, tm[8], name, fname, &line);
    CHECK(n2 > 0 && tm[7] == 3 && !strcmp(name, "parse") && line == 30 && tm[9] == ta[9] && tm[10] == ta[10],
          "%s: moved leaf: %s:%d, outer ids %u %u (were %u %u)", tag, name, line, tm[9], tm[10], ta[9], ta[10]);
    CHECK(w.dec.reused - reused == w.dec.decoded - decoded - 1 - (copy ? 1 : 0), "%s: moved leaf: %llu of %llu reused",
          tag, (unsigned long long)(w.dec.reused - reused), (unsigned long long)(w.dec.decoded - decoded));
    img_w64(&im, fa + l->f_lasti, leaf_ip);
    walker_sample(&w, 2, again, 4096);
  }
  /* A frame pointer into the first page (never mapped) is unreadable, not read from an empty cache slot. */
  set_frame(&im, l, ts_a, 0x48);
  n2 = walker_sample(&w, 2, again, 4096);
  uint32_t *tz = again + GAUGE_REC_HEADER + GAUGE_THREAD_HEADER + again[GAUGE_REC_HEADER + 7];
  CHECK(n2 > 0 && (tz[3] & GAUGE_TH_ERROR) && why_of(tz) == GAUGE_WHY_FRAME_UNREADABLE && tz[7] == 0,
        "%s: frame at 0x48: flags %#x why %u depth %u", tag, tz[3] & 0xff, why_of(tz), tz[7]);
  set_frame(&im, l, ts_a, fa);
  walker_sample(&w, 2, again, 4096);

  if (l->ts_native_id >= 0) test_vouch(&w, &im, tag);
  if (l->ts_native_id >= 0) test_memo(&w, l, &im, ts_a, fa, out, n, tag);
  if (l->ts_native_id >= 0) test_spec_skip(&w, l, &im, ts_a, ts_b, fa, tag);

  /* A freed-and-reused code address: new name at the same address must not come back stale. */
  img_w64(&im, c_leaf + l->co_name, img_str(&im, l, "render"));
  if (l->co_qualname >= 0) img_w64(&im, c_leaf + l->co_qualname, img_str(&im, l, "render"));
  n2 = walker_sample(&w, 3, again, 4096);
  uint32_t *ta2 = again + GAUGE_REC_HEADER + GAUGE_THREAD_HEADER + again[GAUGE_REC_HEADER + 7];
  describe(&fc, ta2[8], name, fname, &line);
  CHECK(!strcmp(name, "render"), "%s: reused code address gave '%s'", tag, name);

  /* A cycle in the frame chain is cut and flagged, never followed forever. */
  uint64_t root_frame = interp_frames ? fa - 2 * FRAME_STRIDE : 0;
  if (!interp_frames) { uint64_t f = fa; for (int i = 0; i < 2; i++) memcpy(&f, img_at(&im, f + l->f_back), 8); root_frame = f; }
  img_w64(&im, root_frame + l->f_back, fa);
  n2 = walker_sample(&w, 4, again, 4096);
  ta2 = again + GAUGE_REC_HEADER + GAUGE_THREAD_HEADER + again[GAUGE_REC_HEADER + 7];
  CHECK(n2 > 0 && (ta2[3] & GAUGE_TH_ERROR) && why_of(ta2) == GAUGE_WHY_FRAME_LOOP, "%s: frame cycle flags %#x why %u",
        tag, ta2[3] & 0xff, why_of(ta2));

  walker_free(&w);
  frames_free(&fc);
  free(im.mem);
}

/*
 * One thread per way a chain breaks; each must fail with its own reason and
 * leave the others intact. Then the depth cap on a good thread.
 */
enum { R_GOOD, R_LOOP, R_FRAME, R_CODE, R_OWNER, R_INSTR, R_COPY, R_CFRAME, R_COUNT };
static const char *const R_NAMES[R_COUNT] = {"good", "loop", "unreadable frame", "unreadable code", "unknown owner",
                                             "bad instruction", "bytecode copy", "unreadable cframe"};
static const uint32_t R_WHY[R_COUNT] = {GAUGE_WHY_NONE, GAUGE_WHY_FRAME_LOOP, GAUGE_WHY_FRAME_UNREADABLE,
                                        GAUGE_WHY_CODE_UNREADABLE, GAUGE_WHY_UNKNOWN_OWNER, GAUGE_WHY_BAD_INSTRUCTION,
                                        GAUGE_WHY_BYTECODE_COPY, GAUGE_WHY_CFRAME};

static void test_reasons(const scenario *s) {
  const py_layout *l = &s->truth;
  char tag[64];
  snprintf(tag, sizeof tag, "%s reasons", s->tag);
  image im;
  img_init(&im, 1 << 18);
  int interp_frames = l->frame_kind == FRAME_INTERP;
  uint64_t file = img_str(&im, l, "/srv/app.py");
  uint64_t lt = make_linetable(&im, l);
  uint64_t c1 = img_code(&im, l, CODE_TYPE, img_str(&im, l, "outer"), 0, file, 10, lt, 1);
  uint64_t c2 = img_code(&im, l, CODE_TYPE, img_str(&im, l, "inner"), 0, file, 20, lt, 1);
  uint64_t not_code = img_str(&im, l, "not a code object");
  int kinds[R_COUNT], nk = 0;
  kinds[nk++] = R_GOOD; kinds[nk++] = R_LOOP; kinds[nk++] = R_FRAME; kinds[nk++] = R_CODE;
  if (interp_frames) { kinds[nk++] = R_OWNER; kinds[nk++] = R_INSTR; }
  if (l->ts_cframe >= 0) kinds[nk++] = R_CFRAME;
  if (l->co_tlbc >= 0) {
    kinds[nk++] = R_COPY;
    uint64_t arr = img_alloc(&im, 16); /* one copy only: index 5 is out of range */
    img_w64(&im, arr, 1);
    img_w64(&im, arr + 8, c2 + (uint64_t)l->co_code);
    img_w64(&im, c2 + (uint64_t)l->co_tlbc, arr);
  }
  uint64_t ts[R_COUNT];
  for (int i = 0; i < nk; i++) {
    ts[i] = alloc_tstate(&im, s);
    fspec f[3] = {{c1, 4, 0, 0, 0}, {c2, 24, 0, 0, 0}, {c2, 24, 0, 0, 0}};
    int nf = 3;
    if (kinds[i] == R_CODE) f[1].code = not_code;
    if (kinds[i] == R_OWNER) f[1].owner = l->owner_max + 1;
    if (kinds[i] == R_COPY) f[1].tlbc = 5;
    uint64_t inner = make_frames(&im, l, f, nf, base_frame(&im, s, ts[i]));
    uint64_t outer = interp_frames ? inner - (uint64_t)(nf - 1) * FRAME_STRIDE : inner;
    if (!interp_frames) for (int k = 0; k < nf - 1; k++) memcpy(&outer, img_at(&im, outer + l->f_back), 8);
    if (kinds[i] == R_LOOP) img_w64(&im, outer + l->f_back, inner);
    if (kinds[i] == R_FRAME) img_w64(&im, outer + l->f_back, im.base + im.len + 0x10000); /* unmapped */
    if (kinds[i] == R_INSTR) img_w64(&im, inner + l->f_lasti, 16);
    img_w64(&im, ts[i] + l->ts_thread_id, 0x8000 + (uint64_t)kinds[i]);
    set_frame(&im, l, ts[i], inner);
    if (kinds[i] == R_CFRAME) img_w64(&im, ts[i] + l->ts_cframe, im.base + im.len + 0x10000);
  }
  world_roots r = make_roots(&im, s, ts, nk, ts[0]);
  char seed[80];
  snprintf(seed, sizeof seed, "%s-reasons", s->tag);
  img_write_seed(seed_dir, seed, s->seed_mode, &im, r.root, r.tcur);

  memsrc m;
  frame_cache fc;
  walker w;
  CHECK(walker_start(&w, &fc, &m, &im, s, &r) == 0, "%s: walker_init", tag);
  uint32_t out[4096];
  int n = walker_sample(&w, 1, out, 4096);
  CHECK(n > 0 && (int)out[4] == nk, "%s: %d words, %u threads, want %d", tag, n, out[4], nk);
  uint32_t *th = out + GAUGE_REC_HEADER;
  for (int i = 0; i < nk && n > 0 && (int)out[4] == nk; i++) {
    int k = kinds[i];
    int want_err = k != R_GOOD;
    CHECK(th[0] == 0x8000u + (uint32_t)k, "%s: thread %d is %#x", tag, i, th[0]);
    CHECK(!!(th[3] & GAUGE_TH_ERROR) == want_err && why_of(th) == R_WHY[k] && th[7] == (want_err ? 0u : 3u),
          "%s: %s: flags %#x why %u depth %u, want why %u", tag, R_NAMES[k], th[3] & 0xff, why_of(th), th[7], R_WHY[k]);
    th += GAUGE_THREAD_HEADER + th[7];
  }
  /* Depth cap: the innermost frames are kept, the outermost cut, and the reason says so. */
  w.max_depth = 2;
  n = walker_sample(&w, 2, out, 4096);
  th = out + GAUGE_REC_HEADER;
  char name[256], fname[256];
  int line = 0;
  if (n > 0 && th[7] >= 1) describe(&fc, th[8], name, fname, &line);
  else name[0] = 0;
  CHECK(n > 0 && (th[3] & GAUGE_TH_TRUNCATED) && !(th[3] & GAUGE_TH_ERROR) && why_of(th) == GAUGE_WHY_DEPTH_CAP &&
            th[7] == 2 && !strcmp(name, "inner"),
        "%s: depth cap: flags %#x why %u depth %u leaf '%s'", tag, th[3] & 0xff, why_of(th), th[7], name);
  w.max_depth = WALK_DEFAULT_DEPTH;
  /* Record-level reasons: a thread list that runs into unmapped memory keeps the threads read so far ... */
  img_w64(&im, ts[nk - 1] + l->ts_next, im.base + im.len + 0x10000);
  n = walker_sample(&w, 3, out, 4096);
  CHECK(n > 0 && (out[5] & GAUGE_REC_ERROR) && (out[5] >> 8) == GAUGE_WHY_THREAD_LIST && (int)out[4] == nk,
        "%s: broken thread list: flags %#x, %u threads", tag, out[5], out[4]);
  img_w64(&im, ts[nk - 1] + l->ts_next, 0);
  /* ... and an interpreter list that loops says so. */
  img_w64(&im, r.interp + l->is_next, r.interp);
  n = walker_sample(&w, 4, out, 4096);
  CHECK(n > 0 && (out[5] & GAUGE_REC_ERROR) && (out[5] >> 8) == GAUGE_WHY_INTERP_LIST && (int)out[4] == nk,
        "%s: looping interpreter list: flags %#x, %u threads", tag, out[5], out[4]);
  walker_free(&w);
  frames_free(&fc);
  free(im.mem);
}

/*
 * A thread running while it is read: memory holding a torn copy of one field
 * (a frame popped and reused under the reader) until it has been read `heal`
 * times, whole after that (heal 0: torn for good).
 */
typedef struct { uint64_t addr, whole, torn; size_t len; int heal, seen; } tear;
typedef struct { memsrc m, img; image *im; tear t[4]; int nt; } tearing_src;

static int tearing_readv(memsrc *m, mem_req *reqs, int n) {
  tearing_src *ts = (tearing_src *)m;
  int got = ts->img.readv(&ts->img, reqs, n);
  for (int k = 0; k < ts->nt; k++) {
    tear *t = &ts->t[k];
    for (int i = 0; i < got; i++)
      if (reqs[i].addr <= t->addr && t->addr + t->len <= reqs[i].addr + reqs[i].len) t->seen++;
    if (t->heal && t->seen >= t->heal) memcpy(img_at(ts->im, t->addr), &t->whole, t->len);
  }
  return got;
}

static void tear_set(tearing_src *ts, int nt, const tear *t, int heal) {
  ts->nt = nt;
  for (int k = 0; k < nt; k++) {
    ts->t[k] = t[k];
    ts->t[k].heal = heal;
    memcpy(img_at(ts->im, t[k].addr), &t[k].torn, t[k].len);
  }
}

/* Whole threads of a record: depth `want` each, no error; else the first bad thread's reason + 100. */
static int torn_check(const uint32_t *out, int n, int nthreads, uint32_t want) {
  if (n <= 0 || (int)out[4] != nthreads) return -1;
  const uint32_t *th = out + GAUGE_REC_HEADER;
  for (int i = 0; i < nthreads; i++, th += GAUGE_THREAD_HEADER + th[7])
    if ((th[3] & GAUGE_TH_ERROR) || th[7] != want) return 100 + (int)why_of(th);
  return 0;
}

/*
 * Torn chains are read again from the thread state, up to WALK_TORN_RETRIES
 * times within the same sample: whole on the first retry or on the last reads
 * whole; torn on every read fails with its reason; the retries per torn thread
 * per sample are bounded. 3.12+
 * (C-stack entry frames): a chain ending on an ordinary frame is cut short.
 */
static void test_torn(const scenario *s) {
  enum { NT = 3 };
  const py_layout *l = &s->truth;
  int interp_frames = l->frame_kind == FRAME_INTERP, entry_frames = l->owner_skip_min <= l->owner_max;
  image im;
  img_init(&im, 1 << 18);
  uint64_t file = img_str(&im, l, "/srv/app.py");
  uint64_t lt = make_linetable(&im, l);
  uint64_t c = img_code(&im, l, CODE_TYPE, img_str(&im, l, "step"), 0, file, 10, lt, 1);
  uint64_t ts[NT], outer[NT], inner[NT], mid[NT];
  for (int i = 0; i < NT; i++) {
    ts[i] = alloc_tstate(&im, s);
    /* the outermost a coroutine: its back link is cleared when it suspends, so a stale copy ends the chain there */
    fspec f[3] = {{c, 4, interp_frames ? l->owner_generator : 0, 0, 0}, {c, 24, 0, 0, 0}, {c, 24, 0, 0, 0}};
    inner[i] = make_frames(&im, l, f, 3, base_frame(&im, s, ts[i]));
    memcpy(&mid[i], img_at(&im, inner[i] + l->f_back), 8);
    memcpy(&outer[i], img_at(&im, mid[i] + l->f_back), 8);
    img_w64(&im, ts[i] + l->ts_thread_id, 0x9000 + (uint64_t)i);
    set_frame(&im, l, ts[i], inner[i]);
  }
  world_roots r = make_roots(&im, s, ts, NT, 0);
  tearing_src src = {.im = &im};
  memsrc_init_image(&src.img, im.mem, im.len, im.base);
  src.m = src.img;
  src.m.readv = tearing_readv;
  frame_cache fc;
  frames_init(&fc);
  fc.code_type = CODE_TYPE;
  walker w;
  CHECK(walker_init(&w, &src.m, &s->read, &fc, r.root, r.tcur) == 0, "%s torn: walker_init", s->tag);
  /* 3.15+: a stale entry frame of a call that has returned (owner 3, back link NULL) is not the thread's base frame */
  int has_base = s->b && s->b->table >= 15;
  uint64_t stale = img_alloc(&im, FRAME_STRIDE);
  img_w8(&im, stale + l->f_owner, (uint8_t)l->owner_skip_min);
  enum { T_LOOP, T_OWNER, T_CUT, T_SHIM, T_KINDS };
  static const char *const names[T_KINDS] = {"loop", "unknown owner", "cut short", "cut at a stale shim"};
  static const uint32_t whys[T_KINDS] = {GAUGE_WHY_FRAME_LOOP, GAUGE_WHY_UNKNOWN_OWNER, GAUGE_WHY_FRAME_UNREADABLE,
                                         GAUGE_WHY_FRAME_UNREADABLE};
  uint32_t out[4096];
  for (int k = 0; k < T_KINDS; k++) {
    if ((k == T_OWNER && !interp_frames) || (k == T_CUT && !entry_frames) || (k == T_SHIM && !has_base)) continue;
    tear t[NT];
    for (int i = 0; i < NT; i++) {
      t[i] = (tear){outer[i] + (uint64_t)l->f_back, 0, k == T_LOOP ? inner[i] : k == T_SHIM ? stale : 0, 8, 0, 0};
      memcpy(&t[i].whole, img_at(&im, t[i].addr), 8);
      if (k == T_OWNER) t[i] = (tear){mid[i] + (uint64_t)l->f_owner, 0, (uint64_t)l->owner_max + 1, 1, 0, 0};
    }
    uint64_t before = w.stack_retries;
    tear_set(&src, 1, t, 1); /* torn on the first read, whole on the retry */
    int got = torn_check(out, walker_sample(&w, 1, out, 4096), NT, 3);
    CHECK(got == 0 && w.stack_retries == before + 1, "%s torn %s once: %d, %llu retries", s->tag, names[k], got,
          (unsigned long long)(w.stack_retries - before));
    enum { R = WALK_TORN_RETRIES };
    before = w.stack_retries;
    tear_set(&src, 1, t, R); /* torn on the first read and every retry but the last */
    got = torn_check(out, walker_sample(&w, 2, out, 4096), NT, 3);
    CHECK(got == 0 && w.stack_retries == before + R, "%s torn %s %d times: %d, %llu retries", s->tag, names[k], R, got,
          (unsigned long long)(w.stack_retries - before));
    before = w.stack_retries;
    tear_set(&src, 1, t, 0); /* torn on every read */
    got = torn_check(out, walker_sample(&w, 3, out, 4096), NT, 3);
    CHECK(got == 100 + (int)whys[k] && w.stack_retries == before + R, "%s torn %s for good: %d, %llu retries, want %u",
          s->tag, names[k], got, (unsigned long long)(w.stack_retries - before), 100 + whys[k]);
    before = w.stack_retries;
    tear_set(&src, NT, t, 0); /* every thread torn, two samples: the same retries each, each time */
    walker_sample(&w, 4, out, 4096);
    walker_sample(&w, 5, out, 4096);
    CHECK(w.stack_retries == before + 2 * NT * R, "%s torn %s: %llu retries for %d threads in 2 samples", s->tag,
          names[k], (unsigned long long)(w.stack_retries - before), NT);
    for (int i = 0; i < NT; i++) memcpy(img_at(&im, t[i].addr), &t[i].whole, t[i].len);
    src.nt = 0;
    got = torn_check(out, walker_sample(&w, 6, out, 4096), NT, 3);
    CHECK(got == 0, "%s torn %s: whole again read %d", s->tag, names[k], got);
  }
  /*
   * A retry must end where the thread's last whole walk did: a chain cut short
   * on its first read and ending on a stale entry shim on the retries fails,
   * also where no base frame is published (3.12-3.14).
   */
  if (entry_frames) {
    tear t = {outer[0] + (uint64_t)l->f_back, stale, 0, 8, 1, 0}; /* NULL on the first read, the stale shim after */
    uint64_t real;
    memcpy(&real, img_at(&im, t.addr), 8);
    int got = torn_check(out, walker_sample(&w, 7, out, 4096), NT, 3);
    CHECK(got == 0, "%s: whole before the stale-shim tear: %d", s->tag, got);
    tear_set(&src, 1, &t, 1);
    got = torn_check(out, walker_sample(&w, 8, out, 4096), NT, 3);
    CHECK(got == 100 + GAUGE_WHY_FRAME_UNREADABLE, "%s: retried chain ending on a stale shim: %d, want %d", s->tag, got,
          100 + GAUGE_WHY_FRAME_UNREADABLE);
    memcpy(img_at(&im, t.addr), &real, 8);
    src.nt = 0;
  }
  walker_free(&w);
  frames_free(&fc);
  free(im.mem);
}

/* Thread names through the decoded layout, over objects written from the test's values. */
static void test_names(const scenario *s) {
  char tag[64];
  snprintf(tag, sizeof tag, "%s names", s->tag);
  nworld w;
  nworld_init(&w, &s->truth);
  uint64_t interp = nworld_build(&w);
  memsrc m;
  memsrc_init_image(&m, w.im.mem, w.im.len, w.im.base);
  tn_cache c = {0};
  tn_entry *e = calloc(8, sizeof *e);
  int n = threadnames_read(&m, &s->read, &c, interp, e, 8);
  CHECK(n == 3, "%s: %d names", tag, n);
  for (int i = 0; i < 3; i++) {
    int found = 0;
    for (int j = 0; j < n; j++)
      if (e[j].ident == NW_IDS[i]) found = !strcmp(e[j].name, NW_NAMES[i]);
    CHECK(found, "%s: thread %d named '%s'", tag, i, NW_NAMES[i]);
  }
  uint8_t blk[DEBUG_OFFSETS_READ];
  block_write(s->b, blk);
  char seed[80];
  snprintf(seed, sizeof seed, "names-%s", s->tag);
  nworld_seed(&w, seed_dir, seed, s->seed_mode, blk, (size_t)DSIZE[s->b->table - 13]);
  free(e);
  free(w.im.mem);
}

/* Decode a build's block: accepted, the layout the test expects, no difference from the built-in row where one exists. */
static int decode_build(const do_build *b, py_layout *out, debug_offsets_info *info, char *why, size_t whylen) {
  uint8_t blk[DEBUG_OFFSETS_READ] = {0};
  block_write(b, blk);
  return debug_offsets_layout(blk, sizeof blk, out, info, why, whylen);
}

static void test_decode(const do_build *b, const py_layout *dec, const debug_offsets_info *info) {
  py_layout t;
  build_truth(b, &t);
  char diff[1024];
  int nd = layout_diff(&t, dec, diff, sizeof diff);
  CHECK(nd == 0, "%s: decoded layout differs from the build: %s", b->tag, diff);
  /* Fields layout_diff does not cover: kinds, free-threaded facts, what comes from the per-version extras. */
#define SAME(f) CHECK(t.f == dec->f, "%s: %s = %lld, want %lld", b->tag, #f, (long long)dec->f, (long long)t.f)
  SAME(major); SAME(minor); SAME(free_threaded); SAME(gil_kind); SAME(gil_enabled); SAME(f_tlbc_index); SAME(co_tlbc);
  SAME(stackref); SAME(owner_max); SAME(owner_skip_min); SAME(owner_generator); SAME(lasti_kind); SAME(frame_kind);
  SAME(str_state_shift); SAME(tp_basicsize); SAME(tp_dictoffset); SAME(mod_dict); SAME(values_header); SAME(managed_dict);
  SAME(dict_kind); SAME(attr_kind); SAME(int_kind); SAME(string_kind); SAME(linetable_kind); SAME(ts_cframe);
#undef SAME
  CHECK(layout_check(dec, 0, 0) == 0, "%s: decoded layout fails layout_check", b->tag);
  CHECK(info->version == b->version && info->free_threaded == b->ft && info->schema_minor == b->table,
        "%s: info version %#llx ft %d table %d", b->tag, (unsigned long long)info->version, info->free_threaded,
        info->schema_minor);
  CHECK(info->untested == (t.minor > 15) && !info->prerelease && info->runtime_size == (uint64_t)b->v[D_RT_SIZE],
        "%s: untested %d prerelease %d runtime size %llu", b->tag, info->untested, info->prerelease,
        (unsigned long long)info->runtime_size);
  /* The hand-typed 3.13/3.14 rows must agree with what those builds publish (attach reports any difference). */
  const py_layout *row = b->ft ? 0 : layout_for(3, t.minor, 99);
  if (row) {
    nd = layout_diff(row, dec, diff, sizeof diff);
    CHECK(nd == 0, "%s: built-in row differs from the published offsets: %s", b->tag, diff);
  }
}

/* A corrupt block: refused with a reason naming what is wrong, never walked. */
static void refuse(const char *what, const uint8_t *blk, size_t len, const char *want) {
  py_layout l;
  debug_offsets_info info;
  char why[200] = "";
  int rc = debug_offsets_layout(blk, len, &l, &info, why, sizeof why);
  CHECK(rc == -1 && strstr(why, want), "corrupt block (%s): rc %d, why '%s', want '%s'", what, rc, why, want);
}

static void write_regress(const char *name, const uint8_t *blk, size_t len) {
  /* The block at the root of an otherwise empty image, in the fuzz input format. */
  image im;
  img_init(&im, 8192);
  uint64_t root = img_alloc(&im, DEBUG_OFFSETS_READ);
  memcpy(img_at(&im, root), blk, len);
  img_write_seed(seed_dir, name, FUZZ_MODE_DEBUG_OFFSETS, &im, root, 0);
  free(im.mem);
}

static void test_corrupt(void) {
  const do_build *b13 = &BUILDS[0], *b15 = &BUILDS[4], *bt = &BUILDS[3];
  uint8_t blk[DEBUG_OFFSETS_READ], good[DEBUG_OFFSETS_READ] = {0};
  py_layout l;
  debug_offsets_info info;
  char why[200];
  block_write(b13, good);
#define FRESH(b) (memset(blk, 0, sizeof blk), block_write(b, blk))
  /* The audit's block: owner at 130 in an 80-byte frame (the walker's frame buffer was 128 bytes). */
  FRESH(b13); block_set(b13, blk, D_FR_OWNER, 130);
  refuse("f_owner 130", blk, sizeof blk, "interpreter_frame.owner");
  /* The same owner with a frame size claimed to match: inside every buffer, so usable, and walked safely. */
  FRESH(b13); block_set(b13, blk, D_FR_OWNER, 130); block_set(b13, blk, D_FR_SIZE, 256);
  CHECK(debug_offsets_layout(blk, sizeof blk, &l, &info, why, sizeof why) == 0 && l.f_read_size <= LAYOUT_FRAME_MAX &&
            layout_check(&l, 0, 0) == 0,
        "f_owner 130 in a 256-byte frame: refused or beyond the frame buffer");
  /* Both kept as regression inputs: a whole 3.13.0 image under each block, replayed under ASan by npm test. */
  scenario s = {.b = b13, .seed_mode = FUZZ_MODE_DEBUG_OFFSETS, .smoke = 1, .npatch = 1, .patch = {{D_FR_OWNER, 130}}};
  build_truth(b13, &s.truth);
  snprintf(s.tag, sizeof s.tag, "regress-do313-f_owner130");
  test_walk(&s);
  s.npatch = 2;
  s.patch[1].f = D_FR_SIZE;
  s.patch[1].v = 256;
  snprintf(s.tag, sizeof s.tag, "regress-do313-f_owner130-frame256");
  test_walk(&s);
  /* A frame claimed big enough for an owner past the walker's buffer: layout_check refuses it. */
  FRESH(b13); block_set(b13, blk, D_FR_OWNER, 300); block_set(b13, blk, D_FR_SIZE, 1024);
  refuse("f_owner 300 in a 1024-byte frame", blk, sizeof blk, "f_read_size");
  FRESH(b13); block_set(b13, blk, D_TS_TID, 304);
  refuse("thread_id at the end of its struct", blk, sizeof blk, "thread_state.thread_id");
  FRESH(b15); block_set(b15, blk, D_TS_BASE_FRAME, 884);
  refuse("base_frame at the end of its struct", blk, sizeof blk, "thread_state.base_frame");
  FRESH(b15); block_set(b15, blk, D_TS_BASE_FRAME, 600); /* inside the thread state, past the walker's read of it */
  refuse("base_frame past the thread-state buffer", blk, sizeof blk, "ts_read_size");
  FRESH(b13); block_set(b13, blk, D_TS_FRAME, 73);
  refuse("misaligned current_frame", blk, sizeof blk, "thread_state.current_frame");
  FRESH(b13); block_set(b13, blk, D_FR_SIZE, 0);
  refuse("frame size 0", blk, sizeof blk, "interpreter_frame.size");
  FRESH(b13); block_set(b13, blk, D_TS_SIZE, 1 << 20);
  refuse("thread state 1 MiB", blk, sizeof blk, "thread_state.size");
  FRESH(b15); block_set(b15, blk, D_RT_SIZE, 1ull << 40);
  refuse("runtime 1 TiB", blk, sizeof blk, "runtime_state.size");
  FRESH(b15); block_set(b15, blk, D_CO_FILENAME, UINT64_MAX);
  refuse("filename offset -1", blk, sizeof blk, "code_object.filename");
  FRESH(b15); block_set(b15, blk, D_CO_CODE, 100);
  refuse("bytecode inside the code header", blk, sizeof blk, "co_code_adaptive");
  FRESH(b15); block_set(b15, blk, D_OB_SIZE, 20);
  refuse("object header 20 bytes", blk, sizeof blk, "pyobject.size");
  FRESH(b15); block_set(b15, blk, D_IS_GIL_HOLDER, 16);
  refuse("GIL holder before the GIL", blk, sizeof blk, "GIL fields");
  FRESH(bt); block_set(bt, blk, D_IS_GIL_ENABLED, 6);
  refuse("GIL enabled misaligned", blk, sizeof blk, "gil_runtime_state_enabled");
  FRESH(b15); block_set(b15, blk, D_STR_STATE, 62);
  refuse("str state past the header", blk, sizeof blk, "unicode_object.state");
  FRESH(b13); memcpy(blk, "xdebugpz", 8);
  refuse("no cookie", blk, sizeof blk, "cookie");
  FRESH(b13); { uint64_t v = 0x030c05f0; memcpy(blk + 8, &v, 8); }
  refuse("3.12 version", blk, sizeof blk, "version");
  FRESH(b13); { uint64_t v = 0x040000f0; memcpy(blk + 8, &v, 8); }
  refuse("4.0 version", blk, sizeof blk, "version");
  FRESH(b13); { uint64_t v = 2; memcpy(blk + 16, &v, 8); }
  refuse("free_threaded 2", blk, sizeof blk, "free_threaded");
  refuse("cut short", good, 500, "cut short");
  refuse("empty", good, 0, "cookie");
  write_regress("regress-do-cut-short", good, 500);
  /* A pre-release of a known version: read, flagged. */
  FRESH(b15); { uint64_t v = 0x030f00a1; memcpy(blk + 8, &v, 8); }
  CHECK(debug_offsets_layout(blk, sizeof blk, &l, &info, why, sizeof why) == 0 && info.prerelease && !info.untested,
        "3.15.0a1: refused or not flagged as a pre-release");
  /* Every row the walker is given passes layout_check, or walker_init refuses it. */
  py_layout bad = *layout_for(3, 12, 0);
  bad.f_owner = 300;
  memsrc m;
  memsrc_init_image(&m, good, sizeof good, 0x1000);
  frame_cache fc;
  walker w;
  frames_init(&fc);
  CHECK(walker_init(&w, &m, &bad, &fc, 0x1000, 0) == -2, "walker_init takes a row with f_owner 300");
  bad = *layout_for(3, 11, 0);
  bad.ts_read_size = LAYOUT_TS_MAX + 8;
  CHECK(walker_init(&w, &m, &bad, &fc, 0x1000, 0) == -2, "walker_init takes a row reading %d thread-state bytes",
        LAYOUT_TS_MAX + 8);
  bad = *layout_for(2, 7, 0);
  bad.co_name = LAYOUT_CODE_MAX;
  CHECK(walker_init(&w, &m, &bad, &fc, 0x1000, 0) == -2, "walker_init takes a row with co_name past the code buffer");
  frames_free(&fc);
#undef FRESH
}

/* A tag usable as a seed file name: "do-3.16.0-future". */
static void build_tag(scenario *s, const char *suffix) {
  snprintf(s->tag, sizeof s->tag, "do-%s%s", s->b->tag, suffix);
  char *o = s->tag;
  for (const char *p = s->tag; *p; p++)
    if (*p != '(' && *p != ')') *o++ = *p == ' ' ? '-' : *p;
  *o = 0;
}

/* 3.11+: a stack spanning several pages is read, from the second sample on, as one range, not page by page, and
   with the headers of the last sample's code objects in the same call. */
static void test_deep_stack(const scenario *s) {
  enum { DEPTH = 80 }; /* 80 x FRAME_STRIDE: 12.8 KB, over at least 3 pages */
  const py_layout *l = &s->truth;
  if (l->frame_kind != FRAME_INTERP) return;
  image im;
  img_init(&im, 1 << 18);
  uint64_t file = img_str(&im, l, "/srv/deep.py");
  uint64_t lt = make_linetable(&im, l);
  uint64_t c = img_code(&im, l, CODE_TYPE, img_str(&im, l, "descend"), 0, file, 10, lt, 1);
  fspec f[DEPTH];
  for (int i = 0; i < DEPTH; i++) f[i] = (fspec){c, i % 2 ? 24 : 4, 0, 0, 0};
  uint64_t ts = alloc_tstate(&im, s);
  img_w64(&im, ts + l->ts_thread_id, 0x9100);
  set_frame(&im, l, ts, make_frames(&im, l, f, DEPTH, base_frame(&im, s, ts)));
  world_roots r = make_roots(&im, s, &ts, 1, 0);
  counting_src src = {0};
  frame_cache fc;
  walker w;
  CHECK(walker_start(&w, &fc, &src.img, &im, s, &r) == 0, "%s deep: walker_init", s->tag);
  src.m = src.img; /* the walker reads through the counter */
  src.m.readv = counting_readv;
  w.m = &src.m;
  uint32_t out[4096], again[4096];
  src.watch = c;
  int n = walker_sample(&w, 1, out, 4096);
  CHECK(src.watch_alone == 1, "%s deep: first sample, the code header read after the frames (%d)", s->tag, src.watch_alone);
  src.calls = src.reqs = src.ranges = src.watch_alone = 0;
  int n2 = walker_sample(&w, 2, again, 4096);
  CHECK(src.watch_alone == 0, "%s deep: second sample, the code header read with the first pages, not alone", s->tag);
  const uint32_t *th = again + GAUGE_REC_HEADER;
  CHECK(n > 0 && n2 == n && th[7] == DEPTH && memcmp(again + 4, out + 4, (size_t)(n - 4) * 4) == 0,
        "%s deep: depth %u (why %u), samples differ", s->tag, th[7], why_of(th));
  CHECK(src.ranges >= 1, "%s deep: %d calls, %d requests, none spanning pages", s->tag, src.calls, src.reqs);
  walker_free(&w);
  frames_free(&fc);
  free(im.mem);
}

/* u64map_clear_keys: the keys put, latest first, leave an empty map: keys in one probe run, and a rebuilt table. */
static void test_clear_keys(void) {
  u64map m;
  uint64_t keys[40];
  CHECK(u64map_init(&m, 64) == 0, "map init");
  for (int round = 0; round < 2; round++) {
    /* round 0: six keys of the same home slot (one probe run); round 1: 40 keys, the table grown (rebuilt) */
    int n = 0;
    for (uint64_t k = 1; n < (round ? 40 : 6); k++)
      if (round || (hash_mix(k << 12) & (m.cap - 1)) == 3) keys[n++] = k << 12;
    for (int i = 0; i < n; i++)
      CHECK(u64map_grow_if_full(&m) == 0 && u64map_put(&m, keys[i], (uint32_t)i) == 0, "put %d", i);
    u64map_clear_keys(&m, keys, (size_t)n);
    size_t left = 0;
    for (size_t i = 0; i < m.cap; i++) left += m.keys[i] != 0;
    CHECK(m.count == 0 && left == 0, "round %d: %zu keys left, count %zu", round, left, m.count);
    uint32_t v;
    CHECK(!u64map_get(&m, keys[0], &v), "round %d: a cleared key is not found", round);
  }
  u64map_free(&m);
}

int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "--write-seeds")) seed_dir = argv[2];
  test_clear_keys();
  for (int i = 0; i < NROWS; i++) {
    const py_layout *l = layout_for(ROWS[i][0], ROWS[i][1], 99);
    CHECK(l && layout_check(l, 0, 0) == 0, "built-in row %d.%d fails layout_check", ROWS[i][0], ROWS[i][1]);
    if (!l) continue;
    scenario s = {.truth = *l, .read = *l, .seed_mode = i};
    snprintf(s.tag, sizeof s.tag, "row-%d.%d", ROWS[i][0], ROWS[i][1]);
    test_walk(&s);
    test_reasons(&s);
    test_torn(&s);
    test_deep_stack(&s);
  }
  for (unsigned i = 0; i < NBUILDS; i++) {
    const do_build *b = &BUILDS[i];
    scenario s = {.b = b, .seed_mode = FUZZ_MODE_DEBUG_OFFSETS};
    debug_offsets_info info;
    char why[200] = "";
    build_truth(b, &s.truth);
    int rc = decode_build(b, &s.read, &info, why, sizeof why);
    CHECK(rc == 0, "%s: _Py_DebugOffsets refused: %s", b->tag, why);
    if (rc) continue;
    test_decode(b, &s.read, &info);
    for (int gil_on = 0; gil_on <= b->ft; gil_on++) {
      s.gil_on = gil_on;
      build_tag(&s, gil_on ? "-gil-on" : "");
      test_walk(&s);
    }
    s.gil_on = 0;
    build_tag(&s, "");
    test_reasons(&s);
    test_torn(&s);
    test_deep_stack(&s);
    test_names(&s);
  }
  test_corrupt();
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
