/*
 * asyncio tasks of a target, read from outside: the task registries of each
 * version, each task's name, loop thread and await chain (the coroutine, then
 * each awaited coroutine down to the innermost awaitable, one frame each),
 * and which task awaits which. Reads only through a memsrc, so the fuzzer
 * and tests can feed it synthetic memory; every offset, size and count taken
 * from the target is bounded before use.
 *
 * Version knowledge is a row of data (aio_layout): built-in rows for 3.8-3.15
 * (offsets measured inside each interpreter with ctypes, against id() of the
 * objects a task holds), with the 3.14+ task fields and list heads replaced
 * by the target's own _Py_AsyncioModuleDebugOffsets where it publishes them.
 */
#ifndef GAUGE_ASYNCIO_TASKS_H
#define GAUGE_ASYNCIO_TASKS_H
#include <stdint.h>
#include "../include/gauge.h"
#include "frames.h"
#include "hashmap.h"
#include "layouts.h"
#include "memsrc.h"

#define AIO_MAX_TASKS 100000  /* hard cap whatever the caller asks */
#define AIO_MAX_CHAIN 256     /* coroutines followed per task */
#define AIO_MAX_SET (1 << 20) /* slots of a registry set; larger is garbage */
#define AIO_MAX_CHILDREN 4096 /* a gather's children looked at */
#define AIO_MAX_THREADS 4096
#define AIO_NAME_MAX 256
#define AIO_FRAME_OBJ_READ 128 /* bytes of a <=3.10 frame object read: every field used must end within */
#define AIO_REGISTRY_RETRIES 8 /* a registry torn by a concurrent change is read again this many times */
#define AIO_CACHE_PAGES 8192 /* 32 MiB of target pages per read at most; then the cache starts over */

/* How the task registry is kept. */
enum aio_registry {
  AIO_REG_WEAKSET = 0, /* 3.8-3.11: asyncio.tasks._all_tasks */
  AIO_REG_EAGER = 1,   /* 3.12/3.13: _scheduled_tasks (WeakSet) + _eager_tasks (set) */
  AIO_REG_LLIST = 2    /* 3.14+: per-thread and per-interpreter lists of native tasks */
};
/* Where a suspended coroutine keeps the top of its value stack (the awaited object). */
enum aio_stack {
  AIO_STACK_TOP = 0,   /* 3.8/3.9: PyFrameObject.f_stacktop pointer */
  AIO_STACK_DEPTH = 1, /* 3.10: f_valuestack + int f_stackdepth */
  AIO_STACK_INDEX = 2, /* 3.11-3.13: int stacktop, an index into localsplus */
  AIO_STACK_PTR = 3    /* 3.14+: stackpointer */
};

typedef struct aio_layout {
  int registry, stack_kind;
  /* C FutureObj / TaskObj */
  int64_t fut_loop, fut_callback0, fut_callbacks, fut_state, task_fut_waiter, task_coro, task_name, task_node;
  int64_t task_read_size;
  /* coroutine objects: <=3.10 a frame object pointer; 3.11+ the frame embedded */
  int64_t gen_frame, gen_iframe, gen_state;
  int state_executing, state_yield_from; /* gi_frame_state values */
  int state_done; /* gi_frame_state at or above this: the coroutine finished (3.11-3.14 COMPLETED 1, 3.15 CLEARED 5) */
  /* <=3.10 frame objects: f_executing (3.8/3.9, 1 = running) or f_state (3.10, 0 = running) */
  int64_t frame_state;
  int64_t stack_a, stack_b; /* TOP: f_stacktop, -; DEPTH: f_valuestack, f_stackdepth; INDEX: stacktop, localsplus; PTR: stackpointer, localsplus */
  int stack_peek;           /* the awaited object is stack[-peek] (3.15: 2, a NULL pushed above it) */
  /* 3.14+ task lists (llist_node heads) */
  int64_t ts_tasks_head, is_tasks_head;
  /* containers; identical 3.8-3.15 GIL builds */
  int64_t set_mask, set_table, list_size, list_item, weakref_obj, method_self, tp_base;
  int follow_generators; /* 3.13+: the frame state says "awaiting", so generator-based coroutines are followed too */
} aio_layout;

/* Built-in row for 3.minor GIL builds; NULL when none (2.7, 3.6, 3.7, free-threaded). */
const aio_layout *asyncio_layout_for(int minor, int free_threaded);
/* 3.14+: take the task fields and list heads from a 104-byte _Py_AsyncioModuleDebugOffsets block. 0 ok. */
int asyncio_apply_debug_offsets(aio_layout *a, const uint8_t *block, size_t len, char *why, size_t whylen);
/* Every offset within the reads it is used with. 0 ok, else -1 and a reason. */
int asyncio_check(const aio_layout *a, char *why, size_t whylen);

/* What stays valid between calls (rechecked on use). */
typedef struct aio_cache {
  uint64_t ctask_type, cfuture_type; /* _asyncio.Task / Future type objects */
  uint64_t all_tasks, eager_tasks;   /* registry objects (WeakSet, set) */
  uint64_t coro_type, gen_type, method_type;
  uint64_t key_data, key_thread_id, key_children, key_parent, key_coro, key_name, key_waiter, key_loop, key_state,
      key_callbacks;
} aio_cache;

typedef struct {
  uint64_t addr, thread_id;
  uint32_t flags, why; /* GAUGE_TASK_*, GAUGE_WHY_* */
  uint32_t name_off;
  uint32_t first_frame, nframes; /* into aio_result.frames, innermost first */
  uint32_t first_awaiter, nawaiters; /* into aio_result.awaiters */
} aio_task;


typedef struct {
  aio_task *tasks;
  size_t ntasks, captasks;
  uint32_t *frames;
  size_t nframes, capframes;
  uint64_t *awaiters;
  size_t nawaiters, capawaiters;
  char *names;
  size_t nnames, capnames;
  uint32_t flags; /* GAUGE_ASYNC_* */
  uint32_t why;
  uint64_t seen; /* tasks found before the cap */
} aio_result;


/* Per reader (struct gauge_reader, zeroed at open): the row in use and what stays valid between calls. */
struct aio_state {
  aio_layout layout;
  aio_cache cache;
  int ready;      /* 1 usable, -1 no row for this target, 0 not looked at yet */
  int from_debug; /* 3.14+: the row carries the target's .AsyncioDebug offsets */
  char why[160];
};

/*
 * Read every pending task of the interpreter at interp. Returns 0 (result
 * filled, possibly with GAUGE_ASYNC_ERROR), or -1 when out of memory.
 */
int asyncio_read_tasks(memsrc *m, const py_layout *l, const aio_layout *a, aio_cache *c, frame_cache *fc, uint64_t interp,
             int max_tasks, aio_result *out);
void asyncio_result_free(aio_result *r);
#endif
