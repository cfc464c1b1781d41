/*
 * gauge_async_tasks (include/gauge.h): the asyncio row for this target
 * (3.14+: its own .AsyncioDebug block, found through /proc/PID/maps and the
 * ELF section of _asyncio's file), then asyncio_tasks.c, encoded as words.
 */
#define _GNU_SOURCE
#include "../include/gauge.h"
#include "elf.h"
#include "reader.h"
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AIO_DEBUG_BYTES 104 /* 13 u64 */

/* The mapping of file offset 0 of the target's _asyncio extension: its path and start. 0 when found. */
static int asyncio_mapping(int pid, char *path, size_t cap, uint64_t *base) {
  char p[64], line[PATH_MAX + 128];
  snprintf(p, sizeof p, "/proc/%d/maps", pid);
  FILE *f = fopen(p, "r");
  if (!f) return -1;
  int rc = -1;
  while (rc && fgets(line, sizeof line, f)) {
    unsigned long long start, off;
    int at = 0;
    if (sscanf(line, "%llx-%*x %*s %llx %*s %*s %n", &start, &off, &at) < 2 || !at || off) continue;
    char *path_at = line + at, *nl = strchr(path_at, '\n');
    if (nl) *nl = 0;
    const char *b = strrchr(path_at, '/');
    if (!b || strncmp(b + 1, "_asyncio.", 9)) continue;
    snprintf(path, cap, "%s", path_at);
    *base = start;
    rc = 0;
  }
  fclose(f);
  return rc;
}

static int open_in_target(elf_file *e, int pid, const char *path) {
  char p[PATH_MAX + 64];
  snprintf(p, sizeof p, "/proc/%d/root%s", pid, path); /* containers: the target's own file */
  return elf_open(e, p) == 0 ? 0 : elf_open(e, path);
}

/* Address of the target's .AsyncioDebug block: in _asyncio's own file, or in the runtime's when built in. */
static uint64_t debug_block_addr(struct gauge_reader *r) {
  char path[PATH_MAX];
  uint64_t base = 0, addr = 0;
  elf_file e;
  if (asyncio_mapping(r->pid, path, sizeof path, &base) == 0) {
    if (open_in_target(&e, r->pid, path)) return 0;
    if (e.asynciodebug_sec && e.asynciodebug_size >= AIO_DEBUG_BYTES)
      addr = e.is_exec ? e.asynciodebug_sec : base - e.load_vaddr + e.asynciodebug_sec;
    elf_close(&e);
    return addr;
  }
  const char *own = r->library[0] ? r->library : r->binary;
  if (!own[0] || open_in_target(&e, r->pid, own)) return 0;
  if (e.asynciodebug_sec && e.asynciodebug_size >= AIO_DEBUG_BYTES) addr = e.asynciodebug_sec + r->bias;
  elf_close(&e);
  return addr;
}

/* 0 when r->aio.layout is usable; -GAUGE_EVERSION when this target has no asyncio row. */
static int aio_prepare(struct gauge_reader *r) {
  struct aio_state *s = &r->aio;
  if (s->ready < 0) return -GAUGE_EVERSION;
  if (s->ready > 0 && (s->layout.registry != AIO_REG_LLIST || s->from_debug)) return 0;
  const aio_layout *row = r->major == 3 ? asyncio_layout_for(r->minor, r->free_threaded) : 0;
  if (!row || r->w.layout.is_modules < 0) { s->ready = -1; return -GAUGE_EVERSION; }
  s->layout = *row;
  if (row->registry == AIO_REG_LLIST) {
    /* Mapped once the target imports _asyncio: looked for on each call until found, the built-in row meanwhile. */
    uint8_t block[AIO_DEBUG_BYTES];
    uint64_t at = debug_block_addr(r);
    aio_layout fromdbg = *row;
    if (at && mem_read(&r->mem, at, block, sizeof block) == 0 &&
        asyncio_apply_debug_offsets(&fromdbg, block, sizeof block, s->why, sizeof s->why) == 0) {
      s->layout = fromdbg;
      s->from_debug = 1;
    }
  }
  if (asyncio_check(&s->layout, s->why, sizeof s->why)) { s->ready = -1; return -GAUGE_EVERSION; }
  s->ready = 1;
  return 0;
}

static int put2(uint32_t *out, int cap, int *pos, uint64_t v) {
  if (*pos + 2 > cap) return -1;
  out[(*pos)++] = (uint32_t)v;
  out[(*pos)++] = (uint32_t)(v >> 32);
  return 0;
}

static int encode(const aio_result *res, uint32_t *out, int cap, char *names, int names_cap) {
  int pos = GAUGE_ASYNC_HEADER;
  if ((size_t)names_cap < res->nnames) return -GAUGE_ENOMEM;
  memcpy(names, res->names, res->nnames);
  for (size_t i = 0; i < res->ntasks; i++) {
    const aio_task *t = &res->tasks[i];
    if (pos + GAUGE_TASK_HEADER > cap) return -GAUGE_ENOMEM;
    if (put2(out, cap, &pos, t->addr) || put2(out, cap, &pos, t->thread_id)) return -GAUGE_ENOMEM;
    out[pos++] = t->flags | (t->why << 16);
    out[pos++] = t->name_off;
    out[pos++] = t->nawaiters;
    out[pos++] = t->nframes;
    for (uint32_t k = 0; k < t->nawaiters; k++)
      if (put2(out, cap, &pos, res->awaiters[t->first_awaiter + k])) return -GAUGE_ENOMEM;
    if (pos + (int)t->nframes > cap) return -GAUGE_ENOMEM;
    for (uint32_t k = 0; k < t->nframes; k++) out[pos++] = res->frames[t->first_frame + k];
  }
  out[0] = (uint32_t)pos;
  out[1] = (uint32_t)res->ntasks;
  out[2] = res->flags | (res->why << 8);
  out[3] = (uint32_t)(res->seen > 0xffffffffu ? 0xffffffffu : res->seen);
  return pos;
}

int gauge_async_tasks(gauge_reader *r, int max_tasks, uint32_t *out, int cap_words, char *names, int names_cap) {
  if (!r || !out || !names || cap_words < GAUGE_ASYNC_HEADER || names_cap <= 0) return -GAUGE_EINVAL;
  pthread_mutex_lock(&r->lock);
  int n = aio_prepare(r);
  if (n == 0) {
    const py_layout *l = &r->w.layout;
    uint64_t interp = 0;
    int bad = l->root_is_interp_head ? mem_read_u64(&r->mem, r->w.root, &interp)
                                     : mem_read_u64(&r->mem, r->w.root + (uint64_t)l->rt_interp_head, &interp);
    /* The main interpreter is the last in the list; asyncio in subinterpreters is not read. */
    for (int i = 0; !bad && interp && i < WALK_MAX_INTERPS; i++) {
      uint64_t next;
      if (mem_read_u64(&r->mem, interp + (uint64_t)l->is_next, &next) || !next) break;
      interp = next;
    }
    aio_result res = {0};
    if (bad || !interp) n = r->mem.gone ? -GAUGE_EEXITED : -GAUGE_EINVAL;
    else if (asyncio_read_tasks(&r->mem, l, &r->aio.layout, &r->aio.cache, &r->fc, interp, max_tasks, &res)) n = -GAUGE_ENOMEM;
    else n = r->mem.gone ? -GAUGE_EEXITED : encode(&res, out, cap_words, names, names_cap);
    asyncio_result_free(&res);
  }
  if (n == -GAUGE_EVERSION)
    snprintf(r->err, sizeof r->err, "asyncio tasks are not read on Python %s%s%s%s", r->version,
             r->free_threaded ? " (free-threaded)" : "", r->aio.why[0] ? ": " : "", r->aio.why);
  pthread_mutex_unlock(&r->lock);
  return n;
}
