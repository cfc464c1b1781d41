/*
 * asyncio rows (see asyncio_tasks.h). Offsets measured inside each
 * interpreter with ctypes (pyenv 3.8.18-3.13.0, Debian 3.11.2, 3.14.10,
 * 3.15.2): the words of a live Task, Future and coroutine searched for id()
 * of the loop, coroutine, name, waiter, callback and awaited coroutine; the
 * frame state bytes read from a suspended and a running coroutine.
 */
#include "asyncio_tasks.h"
#include <stdio.h>
#include <string.h>

/* Containers, unchanged 3.8-3.15 in GIL builds: PySetObject mask/table, list ob_size/ob_item, weakref wr_object, method im_self. */
#define CONTAINERS .set_mask = 32, .set_table = 40, .list_size = 16, .list_item = 24, .weakref_obj = 16, .method_self = 24, \
  .tp_base = 256
#define FUTURE .fut_loop = 16, .fut_callback0 = 24, .fut_callbacks = 40
#define NO_LISTS .task_node = -1, .ts_tasks_head = -1, .is_tasks_head = -1

static const aio_layout A38 = {
  .registry = AIO_REG_WEAKSET, .stack_kind = AIO_STACK_TOP, FUTURE, .fut_state = 72, .task_fut_waiter = 104,
  .task_coro = 112, .task_name = 120, .task_read_size = 128, NO_LISTS,
  .gen_frame = 16, .gen_iframe = -1, .gen_state = -1, .frame_state = 116, .state_executing = 1, .state_yield_from = -128, .state_done = 127,
  .stack_a = 72, .stack_b = 64, .stack_peek = 1, CONTAINERS,
};
static const aio_layout A39 = {
  .registry = AIO_REG_WEAKSET, .stack_kind = AIO_STACK_TOP, FUTURE, .fut_state = 80, .task_fut_waiter = 144,
  .task_coro = 152, .task_name = 160, .task_read_size = 168, NO_LISTS,
  .gen_frame = 16, .gen_iframe = -1, .gen_state = -1, .frame_state = 116, .state_executing = 1, .state_yield_from = -128, .state_done = 127,
  .stack_a = 72, .stack_b = 64, .stack_peek = 1, CONTAINERS,
};
static const aio_layout A310 = {
  .registry = AIO_REG_WEAKSET, .stack_kind = AIO_STACK_DEPTH, FUTURE, .fut_state = 88, .task_fut_waiter = 152,
  .task_coro = 160, .task_name = 168, .task_read_size = 176, NO_LISTS,
  .gen_frame = 16, .gen_iframe = -1, .gen_state = -1, .frame_state = 108, .state_executing = 0, .state_yield_from = -128, .state_done = 127,
  .stack_a = 64, .stack_b = 80, .stack_peek = 1, CONTAINERS,
};
/* 3.11/3.12: gi_frame_state -1 (SUSPENDED) is any suspension; the awaited object is followed only from coroutines. */
static const aio_layout A311 = {
  .registry = AIO_REG_WEAKSET, .stack_kind = AIO_STACK_INDEX, FUTURE, .fut_state = 88, .task_fut_waiter = 128,
  .task_coro = 136, .task_name = 144, .task_read_size = 152, NO_LISTS,
  .gen_frame = -1, .gen_iframe = 80, .gen_state = 75, .frame_state = -1, .state_executing = 0, .state_yield_from = -1, .state_done = 1,
  .stack_a = 64, .stack_b = 72, .stack_peek = 1, CONTAINERS,
};
static const aio_layout A312 = {
  .registry = AIO_REG_EAGER, .stack_kind = AIO_STACK_INDEX, FUTURE, .fut_state = 88, .task_fut_waiter = 128,
  .task_coro = 136, .task_name = 144, .task_read_size = 152, NO_LISTS,
  .gen_frame = -1, .gen_iframe = 72, .gen_state = 67, .frame_state = -1, .state_executing = 0, .state_yield_from = -1, .state_done = 1,
  .stack_a = 64, .stack_b = 72, .stack_peek = 1, CONTAINERS,
};
/* 3.13+: FRAME_SUSPENDED_YIELD_FROM tells an await from a plain yield, for generators too. */
static const aio_layout A313 = {
  .registry = AIO_REG_EAGER, .stack_kind = AIO_STACK_INDEX, FUTURE, .fut_state = 96, .task_fut_waiter = 112,
  .task_coro = 120, .task_name = 128, .task_read_size = 136, NO_LISTS,
  .gen_frame = -1, .gen_iframe = 72, .gen_state = 67, .frame_state = -1, .state_executing = 0, .state_yield_from = -1, .state_done = 1,
  .stack_a = 64, .stack_b = 72, .stack_peek = 1, CONTAINERS,
  .follow_generators = 1,
};
/* 3.14/3.15: task fields and list heads are replaced by the target's .AsyncioDebug block when found. */
static const aio_layout A314 = {
  .registry = AIO_REG_LLIST, .stack_kind = AIO_STACK_PTR, FUTURE, .fut_state = 104, .task_fut_waiter = 120,
  .task_coro = 128, .task_name = 136, .task_node = 152, .task_read_size = 168, .ts_tasks_head = 880,
  .is_tasks_head = 10880, .gen_frame = -1, .gen_iframe = 72, .gen_state = 67, .frame_state = -1, .state_executing = 0,
  .state_yield_from = -1, .state_done = 1, .stack_a = 64, .stack_b = 80, .stack_peek = 1, CONTAINERS,
  .follow_generators = 1,
};
/* 3.15: frame states renumbered (EXECUTING 4, SUSPENDED_YIELD_FROM 2); the await pushes a NULL above the awaited object. */
static const aio_layout A315 = {
  .registry = AIO_REG_LLIST, .stack_kind = AIO_STACK_PTR, FUTURE, .fut_state = 104, .task_fut_waiter = 120,
  .task_coro = 128, .task_name = 136, .task_node = 152, .task_read_size = 168, .ts_tasks_head = 1048,
  .is_tasks_head = 10856, .gen_frame = -1, .gen_iframe = 72, .gen_state = 67, .frame_state = -1, .state_executing = 4,
  .state_yield_from = 2, .state_done = 5, .stack_a = 64, .stack_b = 80, .stack_peek = 2, CONTAINERS,
  .follow_generators = 1,
};

const aio_layout *asyncio_layout_for(int minor, int free_threaded) {
  if (free_threaded) return 0; /* 32-byte object headers and other task structs: not measured */
  switch (minor) {
  case 8: return &A38;
  case 9: return &A39;
  case 10: return &A310;
  case 11: return &A311;
  case 12: return &A312;
  case 13: return &A313;
  case 14: return &A314;
  case 15: return &A315;
  default: return 0;
  }
}

/* Refuse a row: -1, with the reason (one line) in why. */
static int bad(char *why, size_t n, const char *reason) {
  if (why && n) snprintf(why, n, "%s", reason);
  return -1;
}

/* _Py_AsyncioModuleDebugOffsets: 13 u64 (asyncio_task_object, asyncio_interpreter_state, asyncio_thread_state). */
enum { AD_TASK_SIZE, AD_TASK_NAME, AD_AWAITED_BY, AD_IS_TASK, AD_AWAITED_BY_IS_SET, AD_TASK_CORO, AD_TASK_NODE,
       AD_INTERP_SIZE, AD_INTERP_HEAD, AD_TSTATE_SIZE, AD_RUNNING_LOOP, AD_RUNNING_TASK, AD_TSTATE_HEAD, AD_COUNT };

int asyncio_apply_debug_offsets(aio_layout *a, const uint8_t *block, size_t len, char *why, size_t whylen) {
  if (len < AD_COUNT * 8) return bad(why, whylen, "asyncio debug offsets: block too short");
  uint64_t v[AD_COUNT];
  memcpy(v, block, sizeof v);
  /* Each field inside the struct it belongs to; sizes within reason. */
  if (v[AD_TASK_SIZE] < 64 || v[AD_TASK_SIZE] > 512 || v[AD_INTERP_SIZE] > (1u << 24) || v[AD_TSTATE_SIZE] > (1u << 20))
    return bad(why, whylen, "asyncio debug offsets: implausible task, interpreter or thread state size");
  if (v[AD_TASK_NAME] + 8 > v[AD_TASK_SIZE] || v[AD_TASK_CORO] + 8 > v[AD_TASK_SIZE] ||
      v[AD_TASK_NODE] + 16 > v[AD_TASK_SIZE] || v[AD_INTERP_HEAD] + 16 > v[AD_INTERP_SIZE] ||
      v[AD_TSTATE_HEAD] + 16 > v[AD_TSTATE_SIZE])
    return bad(why, whylen, "asyncio debug offsets: a field outside its struct");
  a->task_name = (int64_t)v[AD_TASK_NAME];
  a->task_coro = (int64_t)v[AD_TASK_CORO];
  a->task_node = (int64_t)v[AD_TASK_NODE];
  a->task_read_size = (int64_t)v[AD_TASK_SIZE];
  a->is_tasks_head = (int64_t)v[AD_INTERP_HEAD];
  a->ts_tasks_head = (int64_t)v[AD_TSTATE_HEAD];
  return asyncio_check(a, why, whylen);
}

int asyncio_check(const aio_layout *a, char *why, size_t whylen) {
  if (a->registry < AIO_REG_WEAKSET || a->registry > AIO_REG_LLIST || a->stack_kind < AIO_STACK_TOP ||
      a->stack_kind > AIO_STACK_PTR || a->stack_peek < 1 || a->stack_peek > 4)
    return bad(why, whylen, "asyncio layout: unknown kind");
  if (a->task_read_size < 32 || a->task_read_size > 512) return bad(why, whylen, "asyncio layout: task size");
  const int64_t task_fields[] = {a->fut_loop, a->fut_callback0, a->fut_callbacks, a->fut_state, a->task_fut_waiter,
                                 a->task_coro, a->task_name};
  for (size_t i = 0; i < sizeof task_fields / sizeof *task_fields; i++)
    if (task_fields[i] < 0 || task_fields[i] + 8 > a->task_read_size)
      return bad(why, whylen, "asyncio layout: a task field outside the task read");
  if (a->registry == AIO_REG_LLIST &&
      (a->task_node < 0 || a->task_node + 16 > a->task_read_size || a->ts_tasks_head < 0 || a->is_tasks_head < 0))
    return bad(why, whylen, "asyncio layout: task lists without their offsets");
  /* The coroutine header is read at once: frame fields must end within AIO gen reads (gen_iframe + 256). */
  if ((a->gen_frame < 0) == (a->gen_iframe < 0)) return bad(why, whylen, "asyncio layout: coroutine frame");
  if (a->gen_iframe >= 0 && (a->gen_iframe > 256 || a->gen_state < 0 || a->gen_state >= a->gen_iframe))
    return bad(why, whylen, "asyncio layout: coroutine frame state");
  if (a->gen_frame > 256 || a->frame_state > 248 || a->stack_a < 0 || a->stack_a > 248 || a->stack_b < 0 ||
      a->stack_b > 248)
    return bad(why, whylen, "asyncio layout: frame fields");
  /* <=3.10 frame objects are read into AIO_FRAME_OBJ_READ bytes: their fields must end there. */
  if (a->gen_frame >= 0 && (a->frame_state < 0 || a->frame_state >= AIO_FRAME_OBJ_READ ||
                            a->stack_a + 8 > AIO_FRAME_OBJ_READ || a->stack_b + 8 > AIO_FRAME_OBJ_READ))
    return bad(why, whylen, "asyncio layout: frame object fields");
  const int64_t small[] = {a->set_mask, a->set_table, a->list_size, a->list_item, a->weakref_obj, a->method_self};
  for (size_t i = 0; i < sizeof small / sizeof *small; i++)
    if (small[i] < 0 || small[i] > 120) return bad(why, whylen, "asyncio layout: container field");
  if (a->tp_base < 0 || a->tp_base > 1024) return bad(why, whylen, "asyncio layout: tp_base");
  return 0;
}
