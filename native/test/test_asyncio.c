/*
 * Unit tests of the asyncio task reader (asyncio_tasks.c) over synthetic
 * 3.14 images (the task-list registry): a three-coroutine await chain with
 * names and lines, a default "Task-N" name kept as an int, the task cap, a
 * coroutine awaiting itself, a chain past the chain cap, and task lists
 * that loop or point nowhere. Each must give the right tasks or fail with a
 * reason, never hang or read out of bounds. Built with sanitizers by
 * test/asyncio_native.test.ts.
 */
#include <stdio.h>
#include "image.h"
#include "../include/gauge.h"
#include "../src/asyncio_tasks.h"

static int passed, failed;
#define CHECK(c, ...) do { if (c) passed++; else { failed++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)

typedef struct {
  image im;
  const py_layout *l;
  const aio_layout *a;
  uint64_t interp, head, code_type, coro_type, str_type, int_type, ctask_type, file;
  uint64_t codes[4];
} world;

/* A type object whose tp_name is name and tp_flags flags. */
static uint64_t mktype(world *w, const char *name, uint64_t flags) {
  uint64_t t = img_alloc(&w->im, 512), s = img_alloc(&w->im, strlen(name) + 1);
  memcpy(img_at(&w->im, s), name, strlen(name) + 1);
  img_w64(&w->im, t + w->l->tp_name, s);
  img_w64(&w->im, t + w->l->tp_flags, flags);
  return t;
}

static uint64_t str(world *w, const char *s) {
  uint64_t a = img_str(&w->im, w->l, s);
  img_w64(&w->im, a + w->l->ob_type, w->str_type);
  return a;
}

static void build(world *w) {
  img_init(&w->im, 1 << 22);
  w->l = layout_for(3, 14, 0);
  w->a = asyncio_layout_for(14, 0);
  w->code_type = mktype(w, "code", 0);
  w->coro_type = mktype(w, "coroutine", 0);
  w->str_type = mktype(w, "str", 1ull << 28);
  w->int_type = mktype(w, "int", 1ull << 24);
  w->ctask_type = mktype(w, "_asyncio.Task", 0);
  w->file = str(w, "app.py");
  const char *names[4] = {"outer", "middle", "inner", "spin"};
  uint8_t lt[1] = {0};
  for (int i = 0; i < 4; i++) {
    uint64_t n = str(w, names[i]);
    w->codes[i] = img_code(&w->im, w->l, w->code_type, n, n, w->file, 10 * (i + 1), img_bytes(&w->im, w->l, lt, 0), 0);
  }
  w->interp = img_alloc(&w->im, 16384);
  uint64_t ts = img_alloc(&w->im, 2048);
  img_w64(&w->im, w->interp + w->l->is_threads_head, ts);
  w->head = ts + (uint64_t)w->a->ts_tasks_head;
  img_w64(&w->im, w->head, w->head); /* empty: the head links to itself */
  uint64_t ihead = w->interp + (uint64_t)w->a->is_tasks_head;
  img_w64(&w->im, ihead, ihead);
}

/* A suspended coroutine running code, awaiting `awaits` (0: nothing to follow). */
static uint64_t coro(world *w, uint64_t code, uint64_t awaits) {
  const aio_layout *a = w->a;
  uint64_t c = img_alloc(&w->im, 512), fr = c + (uint64_t)a->gen_iframe;
  img_w64(&w->im, c + w->l->ob_type, w->coro_type);
  img_w8(&w->im, c + (uint64_t)a->gen_state, (uint8_t)(awaits ? a->state_yield_from : -2));
  img_w64(&w->im, fr + w->l->f_code, code);
  img_w64(&w->im, fr + w->l->f_lasti, code + (uint64_t)w->l->co_code + 2);
  uint64_t sp = fr + (uint64_t)a->stack_b + 8u * (uint64_t)a->stack_peek;
  img_w64(&w->im, fr + (uint64_t)a->stack_a, sp);
  img_w64(&w->im, sp - 8u * (uint64_t)a->stack_peek, awaits);
  return c;
}

/* A pending task named name (a str, or an int when name is NULL) appended to the thread's list. */
static uint64_t task(world *w, const char *name, uint64_t c) {
  const aio_layout *a = w->a;
  uint64_t t = img_alloc(&w->im, (size_t)a->task_read_size), node = t + (uint64_t)a->task_node;
  img_w64(&w->im, t + w->l->ob_type, w->ctask_type);
  img_w64(&w->im, t + (uint64_t)a->task_coro, c);
  uint64_t nm;
  if (name) nm = str(w, name);
  else {
    nm = img_alloc(&w->im, 64);
    img_w64(&w->im, nm + w->l->ob_type, w->int_type);
    img_w64(&w->im, nm + w->l->long_size, 1u << 3); /* one digit */
    img_w32(&w->im, nm + w->l->long_digit, 7);
  }
  img_w64(&w->im, t + (uint64_t)a->task_name, nm);
  uint64_t last;
  memcpy(&last, img_at(&w->im, w->head + 8), 8);
  if (!last) last = w->head;
  img_w64(&w->im, last, node); /* last->next = node */
  img_w64(&w->im, node, w->head);
  img_w64(&w->im, node + 8, last);
  img_w64(&w->im, w->head + 8, node);
  return t;
}

static int read_all(world *w, int max, aio_result *r, frame_cache *fc) {
  memsrc m;
  memsrc_init_image(&m, w->im.mem, w->im.len, w->im.base);
  aio_cache c;
  memset(&c, 0, sizeof c);
  c.ctask_type = w->ctask_type; /* discovery goes through sys.modules: the image has none */
  return asyncio_read_tasks(&m, w->l, w->a, &c, fc, w->interp, max, r);
}

static const char *frame_name(frame_cache *fc, uint32_t id, int32_t *line) {
  static char buf[256];
  int32_t lines[2];
  if (frames_describe(fc, id, buf, sizeof buf, lines) < 0) return "?";
  *line = lines[1];
  return buf;
}

int main(void) {
  frame_cache fc;
  aio_result r;
  world w;

  /* A chain outer -> middle -> inner; a task with a default name; the cap. */
  build(&w);
  uint64_t in = coro(&w, w.codes[2], 0), mid = coro(&w, w.codes[1], in), out = coro(&w, w.codes[0], mid);
  uint64_t t1 = task(&w, "alpha", out);
  task(&w, 0, coro(&w, w.codes[3], 0));
  frames_init(&fc);
  memset(&r, 0, sizeof r);
  CHECK(read_all(&w, 100, &r, &fc) == 0 && r.ntasks == 2 && !(r.flags & GAUGE_ASYNC_ERROR), "two tasks: %zu, flags %x", r.ntasks, r.flags);
  if (r.ntasks == 2) {
    aio_task *a = &r.tasks[0];
    CHECK(a->addr == t1 && !strcmp(r.names + a->name_off, "alpha"), "first task alpha");
    CHECK(a->nframes == 3, "alpha: %u frames", a->nframes);
    const char *want[3] = {"inner", "middle", "outer"};
    for (uint32_t i = 0; i < a->nframes && i < 3; i++) {
      int32_t first = 0;
      const char *n = frame_name(&fc, r.frames[a->first_frame + i], &first);
      CHECK(!strcmp(n, want[i]), "frame %u is %s", i, n);
      CHECK(first == 10 * (3 - (int)i), "frame %u first line %d", i, first);
    }
    CHECK(!strcmp(r.names + r.tasks[1].name_off, "Task-7"), "a default name: '%s'", r.names + r.tasks[1].name_off);
  }
  CHECK(read_all(&w, 1, &r, &fc) == 0 && r.ntasks == 1 && (r.flags & GAUGE_ASYNC_CAPPED), "cap 1: %zu tasks, flags %x", r.ntasks, r.flags);
  asyncio_result_free(&r);
  frames_free(&fc);
  free(w.im.mem);

  /* A coroutine awaiting itself: the chain is refused as looping, the task still listed. */
  build(&w);
  uint64_t self = coro(&w, w.codes[0], 0);
  img_w64(&w.im, self + (uint64_t)w.a->gen_iframe + (uint64_t)w.a->stack_b, self);
  img_w8(&w.im, self + (uint64_t)w.a->gen_state, (uint8_t)w.a->state_yield_from);
  task(&w, "loop", self);
  frames_init(&fc);
  memset(&r, 0, sizeof r);
  CHECK(read_all(&w, 100, &r, &fc) == 0 && r.ntasks == 1, "self-await: %zu tasks", r.ntasks);
  if (r.ntasks == 1)
    CHECK((r.tasks[0].flags & GAUGE_TASK_ERROR) && r.tasks[0].why == GAUGE_WHY_FRAME_LOOP && r.tasks[0].nframes == 0,
          "self-await: flags %x why %u", r.tasks[0].flags, r.tasks[0].why);
  asyncio_result_free(&r);
  frames_free(&fc);
  free(w.im.mem);

  /* A chain longer than the cap: cut, innermost frames kept. */
  build(&w);
  uint64_t c = 0;
  for (int i = 0; i < AIO_MAX_CHAIN + 40; i++) c = coro(&w, w.codes[i % 3], c);
  task(&w, "deep", c);
  frames_init(&fc);
  memset(&r, 0, sizeof r);
  CHECK(read_all(&w, 100, &r, &fc) == 0 && r.ntasks == 1, "deep: %zu tasks", r.ntasks);
  if (r.ntasks == 1)
    CHECK((r.tasks[0].flags & GAUGE_TASK_TRUNCATED) && r.tasks[0].nframes == AIO_MAX_CHAIN, "deep: flags %x, %u frames",
          r.tasks[0].flags, r.tasks[0].nframes);
  asyncio_result_free(&r);
  frames_free(&fc);
  free(w.im.mem);

  /* Task lists torn: a node linking to itself, then one pointing outside the image. */
  for (int k = 0; k < 2; k++) {
    build(&w);
    uint64_t t = task(&w, "torn", coro(&w, w.codes[0], 0));
    uint64_t node = t + (uint64_t)w.a->task_node;
    img_w64(&w.im, node, k == 0 ? node : 0x10);
      frames_init(&fc);
    memset(&r, 0, sizeof r);
    CHECK(read_all(&w, 100, &r, &fc) == 0 && (r.flags & GAUGE_ASYNC_ERROR) && r.why == GAUGE_WHY_TASK_LIST,
          "torn list %d: flags %x why %u", k, r.flags, r.why);
    CHECK(r.ntasks <= 1, "torn list %d: %zu tasks", k, r.ntasks);
    asyncio_result_free(&r);
    frames_free(&fc);
    free(w.im.mem);
  }

  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
