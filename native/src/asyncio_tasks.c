/*
 * asyncio tasks read from outside (see asyncio_tasks.h): registries ->
 * tasks -> names, loop threads, await chains -> who awaits whom.
 * Relations, the same on every version: a task awaits the task it waits on
 * (fut_waiter), each child of a gather it waits on (_GatheringFuture's
 * _children), and each task of a TaskGroup it owns (the child's done
 * callback is the group's bound method; the group's _parent_task is it).
 */
#include "asyncio_tasks.h"
#include "../include/gauge.h"
#include "memcache.h"
#include "pystring.h"
#include "threadnames.h"
#include "vec.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Distinct code objects one read may name (their headers are kept for the read). */
#define AIO_MAX_CODES (1u << 16)

#define TPFLAGS_LONG (1ull << 24)
#define TPFLAGS_UNICODE (1ull << 28)
#define GEN_READ 512       /* bytes of a coroutine read at once: its header and embedded frame */
#define MAX_STACK_SPAN (1u << 20)

typedef struct {
  memsrc *m;
  const py_layout *l;
  const aio_layout *a;
  aio_cache *c;
  frame_cache *fc;
  aio_result *out;
  u64map index; /* task address -> index + 1 */
  u64map loops; /* loop address -> index into loop_tids */
  uint64_t *loop_tids;
  size_t nloops, caploops;
  u64map codes; /* code address -> header slot, this call */
  uint8_t *hdrs;
  size_t nhdrs, caphdrs;
  uint64_t *cands;
  size_t ncands, capcands;
  uint64_t *pairs; /* (awaited task index, awaiter address) */
  size_t npairs, cappairs;
  uint64_t *waits; /* per task: fut_waiter, callback0, callbacks list */
  size_t capwaits;
} ctx;

static int rd(ctx *x, uint64_t addr, uint64_t *v) { return mem_read_u64(x->m, addr, v); }

static int type_of(ctx *x, uint64_t obj, uint64_t *type) {
  return !obj || rd(x, obj + (uint64_t)x->l->ob_type, type) || !*type ? -1 : 0;
}

/* type is base or derives from it (tp_base chain, bounded). */
static int derives(ctx *x, uint64_t type, uint64_t base) {
  for (int i = 0; i < 16 && type; i++) {
    if (type == base) return 1;
    if (rd(x, type + (uint64_t)x->a->tp_base, &type)) return 0;
  }
  return 0;
}

static int cand_push(ctx *x, uint64_t v) {
  if (!v) return 0;
  if (VEC_RESERVE(x->cands, x->capcands, x->ncands + 1, 256)) return -1;
  x->cands[x->ncands++] = v;
  return 0;
}

/* Read n words at addrs[i] into vals[i] (0 where unreadable), in as few calls as the kernel allows. */
static void read_words(memsrc *m, const uint64_t *addrs, uint64_t *vals, size_t n) {
  enum { BATCH = 512 };
  mem_req reqs[BATCH];
  uint8_t ok[BATCH];
  for (size_t base = 0; base < n; base += BATCH) {
    int k = (int)(n - base < BATCH ? n - base : BATCH);
    for (int i = 0; i < k; i++) reqs[i] = (mem_req){addrs[base + (size_t)i], &vals[base + (size_t)i], 8};
    readv_each(m, reqs, k, ok);
    for (int i = 0; i < k; i++)
      if (!ok[i]) vals[base + (size_t)i] = 0;
  }
}

/* Keys of a set object (weak: each key is a weakref; its referent is taken). Dummy keys fail the task check later. */
static int read_set(ctx *x, uint64_t set, int weak) {
  uint64_t mask, table;
  if (rd(x, set + (uint64_t)x->a->set_mask, &mask) || rd(x, set + (uint64_t)x->a->set_table, &table)) return -1;
  if (mask + 1 > AIO_MAX_SET || ((mask + 1) & mask)) return -1;
  size_t n = (size_t)mask + 1;
  uint64_t *e = malloc(n * 16), *keys = calloc(n, 8), *vals = calloc(n, 8);
  int rc = -1;
  if (!e || !keys || !vals || mem_read(x->m, table, e, n * 16)) goto out;
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (e[2 * i]) keys[k++] = e[2 * i] + (weak ? (uint64_t)x->a->weakref_obj : 0);
  if (weak) read_words(x->m, keys, vals, k);
  rc = 0;
  for (size_t i = 0; i < k && rc == 0; i++) rc = cand_push(x, weak ? vals[i] : keys[i]);
out:
  free(e);
  free(keys);
  free(vals);
  return rc;
}

/* 3.14+: a circular llist of native tasks at head (a thread's or the interpreter's). */
static int read_llist(ctx *x, uint64_t head, size_t max) {
  uint64_t node, mark = 0;
  if (rd(x, head, &node)) return -1;
  for (size_t i = 0; node && node != head; i++) {
    if (i >= max || node == mark) return -1; /* longer than any registry we accept, or looping: torn */
    if (i > 0 && (i & (i - 1)) == 0) mark = node; /* Brent: a loop that misses the head is found in O(length) */
    if (cand_push(x, node - (uint64_t)x->a->task_node) || rd(x, node, &node)) return -1;
  }
  return node ? 0 : -1;
}

static int module_dict(ctx *x, uint64_t modules, const char *name, uint64_t *d) {
  uint64_t mod;
  int rc = tn_dict_get(x->m, x->l, modules, name, 0, &mod);
  if (rc) return rc;
  return rd(x, mod + (uint64_t)x->l->mod_dict, d) || !*d ? -1 : 0;
}

/* sys.modules -> asyncio.tasks' registries and _asyncio's Task/Future types. 1: asyncio not imported. */
static int discover(ctx *x, uint64_t interp) {
  aio_cache *c = x->c;
  if (c->all_tasks || (x->a->registry == AIO_REG_LLIST && c->ctask_type)) return 0;
  uint64_t modules, tasks_d, aio_d;
  if (rd(x, interp + (uint64_t)x->l->is_modules, &modules) || !modules) return -1;
  int rc = module_dict(x, modules, "asyncio.tasks", &tasks_d);
  if (rc) return rc;
  if (module_dict(x, modules, "_asyncio", &aio_d) == 0) {
    tn_dict_get(x->m, x->l, aio_d, "Task", 0, &c->ctask_type);
    tn_dict_get(x->m, x->l, aio_d, "Future", 0, &c->cfuture_type);
  }
  if (x->a->registry == AIO_REG_WEAKSET) return tn_dict_get(x->m, x->l, tasks_d, "_all_tasks", 0, &c->all_tasks) ? -1 : 0;
  if (x->a->registry == AIO_REG_EAGER) {
    if (tn_dict_get(x->m, x->l, tasks_d, "_scheduled_tasks", 0, &c->all_tasks)) return -1;
    tn_dict_get(x->m, x->l, tasks_d, "_eager_tasks", 0, &c->eager_tasks);
    return 0;
  }
  return c->ctask_type ? 0 : 1; /* 3.14+ without _asyncio: no native tasks */
}

static int gather_candidates(ctx *x, uint64_t interp, size_t max) {
  const aio_layout *a = x->a;
  if (a->registry != AIO_REG_LLIST) {
    uint64_t data;
    if (tn_attr_get(x->m, x->l, x->c->all_tasks, "data", &x->c->key_data, &data) || read_set(x, data, 1)) return -1;
    if (x->c->eager_tasks && read_set(x, x->c->eager_tasks, 0)) return -1;
    return 0;
  }
  if (read_llist(x, interp + (uint64_t)a->is_tasks_head, max)) return -1;
  uint64_t ts, mark = 0;
  if (rd(x, interp + (uint64_t)x->l->is_threads_head, &ts)) return -1;
  for (int n = 0; ts; n++) {
    if (n >= AIO_MAX_THREADS || ts == mark) return -1;
    if (n > 0 && (n & (n - 1)) == 0) mark = ts; /* Brent: a thread list that loops is torn */
    if (read_llist(x, ts + (uint64_t)a->ts_tasks_head, max) || rd(x, ts + (uint64_t)x->l->ts_next, &ts)) return -1;
  }
  return 0;
}

static uint32_t name_put(ctx *x, const char *s) {
  aio_result *o = x->out;
  size_t n = strlen(s) + 1;
  if (VEC_RESERVE(o->names, o->capnames, o->nnames + n, 4096)) return 0;
  memcpy(o->names + o->nnames, s, n);
  o->nnames += n;
  return (uint32_t)(o->nnames - n);
}

/* Task.get_name(): a str, or (3.13+) the int N of a default "Task-N" formatted lazily. */
static void read_name(ctx *x, uint64_t name, char *buf, size_t cap) {
  uint64_t type, flags, n;
  buf[0] = 0;
  if (type_of(x, name, &type) || rd(x, type + (uint64_t)x->l->tp_flags, &flags)) return;
  if (flags & TPFLAGS_UNICODE) pystr_read(x->m, x->l, name, buf, cap);
  else if ((flags & TPFLAGS_LONG) && tn_int_read(x->m, x->l, name, &n) == 0) snprintf(buf, cap, "Task-%llu", (unsigned long long)n);
}

/* The loop's thread: BaseEventLoop._thread_id (None when not running). */
static uint64_t loop_thread(ctx *x, uint64_t loop) {
  uint32_t i;
  if (!loop) return 0;
  if (u64map_get(&x->loops, loop, &i)) return x->loop_tids[i];
  uint64_t v, tid = 0, type, flags;
  if (tn_attr_get(x->m, x->l, loop, "_thread_id", &x->c->key_thread_id, &v) == 0 && type_of(x, v, &type) == 0 &&
      rd(x, type + (uint64_t)x->l->tp_flags, &flags) == 0 && (flags & TPFLAGS_LONG) && tn_int_read(x->m, x->l, v, &tid))
    tid = 0;
  if (VEC_RESERVE(x->loop_tids, x->caploops, x->nloops + 1, 16) == 0 && u64map_put(&x->loops, loop, (uint32_t)x->nloops) == 0)
    x->loop_tids[x->nloops++] = tid;
  return tid;
}

/* A code object's header, read once per call. */
static const uint8_t *code_header(ctx *x, uint64_t code) {
  size_t hs = (size_t)x->l->co_read_size;
  uint32_t i;
  if (u64map_get(&x->codes, code, &i)) return x->hdrs + (size_t)i * hs;
  /* Grown at half full, so lookups always meet an empty slot; bounded, as torn reads add junk addresses. */
  if (x->codes.count >= AIO_MAX_CODES || u64map_grow_if_full(&x->codes)) return 0;
  if (VEC_RESERVE(x->hdrs, x->caphdrs, (x->nhdrs + 1) * hs, 64 * hs)) return 0;
  uint8_t *h = x->hdrs + x->nhdrs * hs;
  if (mem_read(x->m, code, h, hs) || u64map_put(&x->codes, code, (uint32_t)x->nhdrs)) return 0;
  x->nhdrs++;
  return h;
}

/* Frame id of code at raw instruction position (frame objects: f_lasti; 3.11+: the instruction pointer). */
static int frame_id(ctx *x, uint64_t code, uint64_t raw, uint32_t *id) {
  const py_layout *l = x->l;
  const uint8_t *hdr = code ? code_header(x, code) : 0;
  code_entry *e = hdr ? frames_code(x->fc, x->m, l, code, hdr) : 0;
  if (!e) return GAUGE_WHY_CODE_UNREADABLE;
  int64_t addr;
  if (l->frame_kind == FRAME_OBJECT) {
    int32_t lasti = (int32_t)raw;
    addr = lasti < 0 ? -1 : (l->lasti_kind == LASTI_BYTES ? lasti : (int64_t)lasti * 2);
  } else {
    addr = (int64_t)(raw - (code + (uint64_t)l->co_code));
    if (addr < -2 || addr > (1ll << 30)) return GAUGE_WHY_BAD_INSTRUCTION;
  }
  *id = frames_id(x->fc, l, e, addr);
  return 0;
}

/* One link of a chain: the coroutine's frame, whether it runs, and what it awaits (0 when nothing to follow). */
static int chain_link(ctx *x, uint64_t obj, int is_coro, uint32_t *id, int *running, uint64_t *next) {
  const aio_layout *a = x->a;
  const py_layout *l = x->l;
  uint8_t g[GEN_READ];
  uint64_t code, raw, awaited = 0;
  int follow;
  *next = 0;
  *running = 0;
  if (a->gen_frame >= 0) { /* <=3.10: a frame object */
    uint8_t f[AIO_FRAME_OBJ_READ];
    uint64_t fo;
    if (rd(x, obj + (uint64_t)a->gen_frame, &fo)) return GAUGE_WHY_FRAME_UNREADABLE;
    if (!fo) return -1; /* finished: no frame */
    if (mem_read(x->m, fo, f, sizeof f)) return GAUGE_WHY_FRAME_UNREADABLE;
    code = ld_u64(f + l->f_code);
    raw = (uint64_t)(int64_t)ld_i32(f + l->f_lasti);
    *running = (int8_t)f[a->frame_state] == a->state_executing;
    follow = !*running && ld_i32(f + l->f_lasti) >= 0 && is_coro;
    if (follow && a->stack_kind == AIO_STACK_TOP) {
      uint64_t sp = ld_u64(f + a->stack_a), vs = ld_u64(f + a->stack_b);
      if (sp >= vs + 8u * (uint64_t)a->stack_peek && sp - vs <= MAX_STACK_SPAN) awaited = sp - 8u * (uint64_t)a->stack_peek;
    } else if (follow) {
      uint64_t vs = ld_u64(f + a->stack_a);
      int32_t depth = ld_i32(f + a->stack_b);
      if (depth >= a->stack_peek && (uint32_t)depth <= MAX_STACK_SPAN / 8) awaited = vs + 8u * (uint64_t)(depth - a->stack_peek);
    }
  } else { /* 3.11+: the frame lives inside the coroutine */
    size_t need = (size_t)a->gen_iframe + (size_t)l->f_read_size;
    if (need > sizeof g || mem_read(x->m, obj, g, need)) return GAUGE_WHY_FRAME_UNREADABLE;
    const uint8_t *fr = g + a->gen_iframe;
    int state = (int8_t)g[a->gen_state];
    if (state >= a->state_done) return -1; /* finished: its frame is cleared, nothing to show */
    code = ld_u64(fr + l->f_code);
    if (l->stackref) code &= ~(uint64_t)3;
    raw = ld_u64(fr + l->f_lasti);
    *running = state == a->state_executing;
    follow = state == a->state_yield_from && (is_coro || a->follow_generators);
    uint64_t frame = obj + (uint64_t)a->gen_iframe;
    if (follow && a->stack_kind == AIO_STACK_INDEX) {
      int32_t top = ld_i32(fr + a->stack_a);
      if (top >= a->stack_peek && (uint32_t)top <= MAX_STACK_SPAN / 8)
        awaited = frame + (uint64_t)a->stack_b + 8u * (uint64_t)(top - a->stack_peek);
    } else if (follow) {
      uint64_t sp = ld_u64(fr + a->stack_a), base = frame + (uint64_t)a->stack_b;
      if (sp >= base + 8u * (uint64_t)a->stack_peek && sp - base <= MAX_STACK_SPAN) awaited = sp - 8u * (uint64_t)a->stack_peek;
    }
  }
  int why = frame_id(x, code, raw, id);
  if (why) return why;
  if (awaited && rd(x, awaited, next)) return GAUGE_WHY_FRAME_UNREADABLE;
  if (l->stackref) *next &= ~(uint64_t)3;
  return 0;
}

/* The task's await chain into out->frames, innermost first. */
static void read_chain(ctx *x, aio_task *t, uint64_t coro) {
  aio_result *o = x->out;
  t->first_frame = (uint32_t)o->nframes;
  uint64_t obj = coro, mark = 0;
  for (int depth = 0; obj; depth++) {
    if (depth >= AIO_MAX_CHAIN) { t->flags |= GAUGE_TASK_TRUNCATED; t->why = GAUGE_WHY_DEPTH_CAP; break; }
    if (depth > 0 && (depth & (depth - 1)) == 0) mark = obj;
    else if (depth > 0 && obj == mark) { t->flags |= GAUGE_TASK_ERROR; t->why = GAUGE_WHY_FRAME_LOOP; break; }
    uint64_t type;
    if (type_of(x, obj, &type)) { t->flags |= GAUGE_TASK_ERROR; t->why = GAUGE_WHY_FRAME_UNREADABLE; break; }
    int is_coro = pytype_named(x->m, x->l, type, "coroutine", 0, &x->c->coro_type);
    if (!is_coro && !pytype_named(x->m, x->l, type, "generator", 0, &x->c->gen_type)) break; /* a future, or another awaitable: the end */
    uint32_t id;
    int running;
    uint64_t next;
    int why = chain_link(x, obj, is_coro, &id, &running, &next);
    if (why < 0) break;
    if (why) { t->flags |= GAUGE_TASK_ERROR; t->why = (uint32_t)why; break; }
    if (VEC_RESERVE(o->frames, o->capframes, o->nframes + 1, 1024)) break;
    o->frames[o->nframes++] = id;
    if (running && depth == 0) t->flags |= GAUGE_TASK_RUNNING;
    obj = running ? 0 : next;
  }
  t->nframes = (uint32_t)(o->nframes - t->first_frame);
  if (t->flags & GAUGE_TASK_ERROR) { o->nframes = t->first_frame; t->nframes = 0; }
  for (uint32_t i = 0; i < t->nframes / 2; i++) { /* outermost first as read; innermost first as samples are */
    uint32_t *f = o->frames + t->first_frame, tmp = f[i];
    f[i] = f[t->nframes - 1 - i];
    f[t->nframes - 1 - i] = tmp;
  }
}

/* A pending task at addr: its fields into a new aio_task; anything else is skipped. */
static int read_task(ctx *x, uint64_t addr) {
  const aio_layout *a = x->a;
  aio_cache *c = x->c;
  uint8_t b[512];
  uint64_t type, coro, name, loop, waiter, cb0, cbs;
  uint32_t have;
  if (u64map_get(&x->index, addr, &have) || type_of(x, addr, &type)) return 0;
  int native = c->ctask_type && derives(x, type, c->ctask_type);
  if (native) {
    if (mem_read(x->m, addr, b, (size_t)a->task_read_size) || ld_i32(b + a->fut_state) != 0) return 0;
    coro = ld_u64(b + a->task_coro);
    name = ld_u64(b + a->task_name);
    loop = ld_u64(b + a->fut_loop);
    waiter = ld_u64(b + a->task_fut_waiter);
    cb0 = ld_u64(b + a->fut_callback0);
    cbs = ld_u64(b + a->fut_callbacks);
  } else { /* a pure-Python task (asyncio.tasks._PyTask or a Future-based subclass): attributes */
    uint64_t state;
    char s[16];
    if (tn_attr_get(x->m, x->l, addr, "_coro", &c->key_coro, &coro)) return 0;
    /* _state is a class attribute ("PENDING") until the task ends and sets its own. */
    int st = tn_attr_get(x->m, x->l, addr, "_state", &c->key_state, &state);
    if (st < 0 || (st == 0 && (pystr_read(x->m, x->l, state, s, sizeof s) < 0 || strcmp(s, "PENDING")))) return 0;
    if (tn_attr_get(x->m, x->l, addr, "_name", &c->key_name, &name)) name = 0;
    if (tn_attr_get(x->m, x->l, addr, "_loop", &c->key_loop, &loop)) loop = 0;
    if (tn_attr_get(x->m, x->l, addr, "_fut_waiter", &c->key_waiter, &waiter)) waiter = 0;
    if (tn_attr_get(x->m, x->l, addr, "_callbacks", &c->key_callbacks, &cbs)) cbs = 0;
    cb0 = 0;
  }
  if (!coro) return 0;
  aio_result *o = x->out;
  if (VEC_RESERVE(o->tasks, o->captasks, o->ntasks + 1, 256) ||
      VEC_RESERVE(x->waits, x->capwaits, 3 * (o->ntasks + 1), 768) || u64map_grow_if_full(&x->index) ||
      u64map_put(&x->index, addr, (uint32_t)o->ntasks + 1))
    return -1;
  aio_task *t = &o->tasks[o->ntasks];
  memset(t, 0, sizeof *t);
  t->addr = addr;
  if (!native) t->flags |= GAUGE_TASK_PURE_PYTHON;
  char nb[AIO_NAME_MAX];
  read_name(x, name, nb, sizeof nb);
  t->name_off = name_put(x, nb);
  t->thread_id = loop_thread(x, loop);
  read_chain(x, t, coro);
  x->waits[3 * o->ntasks] = waiter;
  x->waits[3 * o->ntasks + 1] = cb0;
  x->waits[3 * o->ntasks + 2] = cbs;
  o->ntasks++;
  return 0;
}

static int pair(ctx *x, uint64_t awaited, uint64_t awaiter) {
  uint32_t i;
  if (!u64map_get(&x->index, awaited, &i)) return 0;
  if (VEC_RESERVE(x->pairs, x->cappairs, 2 * (x->npairs + 1), 256)) return -1;
  x->pairs[2 * x->npairs] = i - 1;
  x->pairs[2 * x->npairs + 1] = awaiter;
  x->npairs++;
  return 0;
}

/* Items of a list (bounded); *n = count read. */
static int list_items(ctx *x, uint64_t list, uint64_t *items, size_t max, size_t *n) {
  uint64_t size, arr;
  *n = 0;
  if (rd(x, list + (uint64_t)x->a->list_size, &size) || rd(x, list + (uint64_t)x->a->list_item, &arr)) return -1;
  if (size > max) size = max;
  if (size && mem_read(x->m, arr, items, (size_t)size * 8)) return -1;
  *n = (size_t)size;
  return 0;
}

/* A done callback bound to a TaskGroup: its parent task awaits this task. */
static int callback_parent(ctx *x, size_t i, uint64_t cb) {
  uint64_t type, self, parent;
  if (type_of(x, cb, &type) || !pytype_named(x->m, x->l, type, "method", 0, &x->c->method_type)) return 0;
  if (rd(x, cb + (uint64_t)x->a->method_self, &self) ||
      tn_attr_get(x->m, x->l, self, "_parent_task", &x->c->key_parent, &parent))
    return 0;
  return pair(x, x->out->tasks[i].addr, parent);
}

static int relations(ctx *x) {
  enum { MAXCB = 64 };
  uint64_t items[MAXCB];
  uint64_t *kids = malloc(AIO_MAX_CHILDREN * 8);
  if (!kids) return -1;
  for (size_t i = 0; i < x->out->ntasks; i++) {
    uint64_t self = x->out->tasks[i].addr, w = x->waits[3 * i], type, children;
    size_t n;
    uint32_t j;
    if (w && u64map_get(&x->index, w, &j)) {
      if (pair(x, w, self)) goto fail;
    } else if (w && type_of(x, w, &type) == 0 && type != x->c->cfuture_type &&
               tn_attr_get(x->m, x->l, w, "_children", &x->c->key_children, &children) == 0 &&
               list_items(x, children, kids, AIO_MAX_CHILDREN, &n) == 0) {
      for (size_t k = 0; k < n; k++)
        if (pair(x, kids[k], self)) goto fail;
    }
    if (x->waits[3 * i + 1] && callback_parent(x, i, x->waits[3 * i + 1])) goto fail;
    if (x->waits[3 * i + 2] && x->l->tuple_item >= 0 && list_items(x, x->waits[3 * i + 2], items, MAXCB, &n) == 0)
      for (size_t k = 0; k < n; k++) { /* (callback, context) tuples */
        uint64_t cb;
        if (rd(x, items[k] + (uint64_t)x->l->tuple_item, &cb) == 0 && callback_parent(x, i, cb)) goto fail;
      }
  }
  free(kids);
  return 0;
fail:
  free(kids);
  return -1;
}

static int cmp_pair(const void *p, const void *q) {
  const uint64_t *a = p, *b = q;
  return a[0] != b[0] ? (a[0] < b[0] ? -1 : 1) : a[1] != b[1] ? (a[1] < b[1] ? -1 : 1) : 0;
}

/* Pairs grouped by awaited task, duplicates dropped, into out->awaiters. */
static int assign_awaiters(ctx *x) {
  aio_result *o = x->out;
  if (x->npairs) qsort(x->pairs, x->npairs, 16, cmp_pair);
  for (size_t k = 0; k < x->npairs; k++) {
    if (k > 0 && !cmp_pair(x->pairs + 2 * k, x->pairs + 2 * (k - 1))) continue;
    aio_task *t = &o->tasks[x->pairs[2 * k]];
    if (!t->nawaiters) t->first_awaiter = (uint32_t)o->nawaiters;
    if (VEC_RESERVE(o->awaiters, o->capawaiters, o->nawaiters + 1, 64)) return -1;
    o->awaiters[o->nawaiters++] = x->pairs[2 * k + 1];
    t->nawaiters++;
  }
  return 0;
}

int asyncio_read_tasks(memsrc *m, const py_layout *l, const aio_layout *a, aio_cache *c, frame_cache *fc, uint64_t interp,
             int max_tasks, aio_result *out) {
  /* Tasks, coroutines and futures sit packed in a few heap pages: read each page once, not each object. */
  memcache mc;
  if (memcache_init(&mc, m, AIO_CACHE_PAGES)) return -1;
  ctx x = {.m = &mc.src, .l = l, .a = a, .c = c, .fc = fc, .out = out};
  out->ntasks = out->nframes = out->nawaiters = out->nnames = 0;
  out->flags = 0;
  out->why = 0;
  out->seen = 0;
  if (max_tasks < 1) max_tasks = 1;
  if (max_tasks > AIO_MAX_TASKS) max_tasks = AIO_MAX_TASKS;
  int rc = -1;
  if (u64map_init(&x.index, 1024) || u64map_init(&x.loops, 64) || u64map_init(&x.codes, 1024)) goto done;
  int d = discover(&x, interp);
  if (d < 0) { memset(c, 0, sizeof *c); d = discover(&x, interp); } /* stale cache: look again once */
  if (d == 1) { out->flags |= GAUGE_ASYNC_NO_ASYNCIO; rc = 0; goto done; }
  /* A registry that changed while read (a task list relinked, a set resized): read it again, from fresh pages. */
  int got = d < 0 ? -1 : gather_candidates(&x, interp, AIO_MAX_SET);
  for (int retry = 0; got && d == 0 && retry < AIO_REGISTRY_RETRIES; retry++) {
    x.ncands = 0;
    memcache_reset(&mc);
    got = gather_candidates(&x, interp, AIO_MAX_SET);
  }
  if (got) {
    out->flags |= GAUGE_ASYNC_ERROR;
    out->why = GAUGE_WHY_TASK_LIST;
    memset(c, 0, sizeof *c);
  }
  for (size_t i = 0; i < x.ncands; i++) {
    if (out->ntasks >= (size_t)max_tasks) { out->flags |= GAUGE_ASYNC_CAPPED; break; }
    if (read_task(&x, x.cands[i])) goto done;
  }
  out->seen = x.ncands;
  if (relations(&x) || assign_awaiters(&x)) goto done;
  rc = 0;
done:
  u64map_free(&x.index);
  u64map_free(&x.loops);
  u64map_free(&x.codes);
  free(x.loop_tids);
  free(x.hdrs);
  free(x.cands);
  free(x.pairs);
  free(x.waits);
  m->gone |= mc.src.gone;
  memcache_free(&mc);
  return rc;
}

void asyncio_result_free(aio_result *r) {
  free(r->tasks);
  free(r->frames);
  free(r->awaiters);
  free(r->names);
  memset(r, 0, sizeof *r);
}
