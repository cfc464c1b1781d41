#include "frames.h"
#include "linetable.h"
#include "pystring.h"
#include "vec.h"
#include <stdlib.h>
#include <string.h>

#define MAX_CODES 65536
#define MAX_FRAMES (1u << 22)
#define MAX_LINETABLE (1u << 18)
#define MAX_STRS (1u << 20)
#define MAX_STR_BYTES ((size_t)64 << 20)

int frames_init(frame_cache *fc) {
  memset(fc, 0, sizeof *fc);
  pthread_mutex_init(&fc->lock, 0);
  if (u64map_init(&fc->str_index, 4096) || u64map_init(&fc->frame_index, 4096) ||
      u64map_init(&fc->code_index, 2 * MAX_CODES) || u64map_init(&fc->lasti_index, 1 << 16))
    return -1;
  fc->next_gen = 1;
  /* id 0 is the unknown frame */
  fc->capframes = 1024;
  fc->frames = calloc(fc->capframes, sizeof *fc->frames);
  if (!fc->frames) return -1;
  fc->nframes = 1;
  return 0;
}

static void free_codes(frame_cache *fc) {
  for (size_t i = 0; i < fc->ncodes; i++) free(fc->codes[i].lt);
  fc->ncodes = 0;
  fc->resets++;
  u64map_clear(&fc->code_index);
  u64map_clear(&fc->lasti_index);
}

void frames_free(frame_cache *fc) {
  free_codes(fc);
  free(fc->codes);
  for (size_t i = 0; i < fc->nstrs; i++) free(fc->strs[i]);
  free(fc->strs);
  free(fc->frames);
  u64map_free(&fc->str_index);
  u64map_free(&fc->frame_index);
  u64map_free(&fc->code_index);
  u64map_free(&fc->lasti_index);
  pthread_mutex_destroy(&fc->lock);
}

/* Intern a string by content; returns its index (stable for the session). Caller holds lock. */
static uint32_t intern_str(frame_cache *fc, const char *s) {
  size_t n = strlen(s);
  uint64_t h = hash_bytes(s, n);
  uint32_t idx;
  if (u64map_get(&fc->str_index, h, &idx) && strcmp(fc->strs[idx], s) == 0) return idx;
  if (fc->nstrs >= MAX_STRS || fc->str_bytes + n + 1 > MAX_STR_BYTES) return UINT32_MAX;
  if (VEC_RESERVE(fc->strs, fc->capstrs, fc->nstrs + 1, 256)) return UINT32_MAX;
  char *copy = strdup(s);
  if (!copy) return UINT32_MAX;
  idx = (uint32_t)fc->nstrs++;
  fc->str_bytes += n + 1;
  fc->strs[idx] = copy;
  u64map_grow_if_full(&fc->str_index); /* strings are never dropped: ids must stay valid */
  u64map_put(&fc->str_index, h, idx);
  return idx;
}

static uint32_t intern_frame(frame_cache *fc, uint32_t name, uint32_t file, int32_t line, int32_t first,
                             uint32_t kind) {
  uint64_t key[2] = {((uint64_t)name << 32) | file, ((uint64_t)(uint32_t)line << 32) | (uint32_t)first};
  uint64_t h = hash_bytes(key, sizeof key);
  uint32_t id;
  if (u64map_get(&fc->frame_index, h, &id)) {
    frame_entry *f = &fc->frames[id];
    if (f->name_sid == name && f->file_sid == file && f->line == line && f->firstline == first) return id;
  }
  if (fc->nframes >= MAX_FRAMES) return FRAME_ID_UNKNOWN;
  if (VEC_RESERVE(fc->frames, fc->capframes, fc->nframes + 1, 1024)) return FRAME_ID_UNKNOWN;
  id = (uint32_t)fc->nframes++;
  fc->frames[id] = (frame_entry){name, file, line, first, kind};
  u64map_grow_if_full(&fc->frame_index);
  u64map_put(&fc->frame_index, h, id);
  return id;
}

static void header_fields(const py_layout *l, const uint8_t *hdr, code_entry *e) {
  e->type = ld_u64(hdr + l->ob_type);
  e->filename = ld_u64(hdr + l->co_filename);
  e->name = ld_u64(hdr + l->co_name);
  e->qualname = l->co_qualname >= 0 ? ld_u64(hdr + l->co_qualname) : 0;
  e->linetable = ld_u64(hdr + l->co_linetable);
  e->firstlineno = ld_i32(hdr + l->co_firstlineno);
  e->firsttraceable = l->co_firsttraceable >= 0 ? ld_i32(hdr + l->co_firsttraceable) : 0;
  uint32_t flags = l->co_flags >= 0 ? ld_u32(hdr + l->co_flags) : 0;
  e->kind = (flags & 0x20 ? FRAME_KIND_GENERATOR : 0) | (flags & 0x180 ? FRAME_KIND_COROUTINE : 0) |
            (flags & 0x200 ? FRAME_KIND_ASYNC_GENERATOR : 0);
}

static int same_header(const code_entry *a, const code_entry *b) {
  return a->type == b->type && a->filename == b->filename && a->name == b->name && a->qualname == b->qualname &&
         a->linetable == b->linetable && a->firstlineno == b->firstlineno && a->firsttraceable == b->firsttraceable;
}

static int resolve(frame_cache *fc, memsrc *m, const py_layout *l, code_entry *e) {
  char name[PYSTR_MAX_CHARS * 4 + 1], file[PYSTR_MAX_CHARS * 4 + 1];
  uint64_t nameaddr = e->qualname ? e->qualname : e->name;
  if (pystr_read(m, l, nameaddr, name, sizeof name) < 0) return -1;
  if (pystr_read(m, l, e->filename, file, sizeof file) < 0) return -1;
  if (pybytes_read(m, l, e->linetable, &e->lt, &e->ltlen, MAX_LINETABLE)) return -1;
  pthread_mutex_lock(&fc->lock);
  e->name_sid = intern_str(fc, name);
  e->file_sid = intern_str(fc, file);
  pthread_mutex_unlock(&fc->lock);
  if (e->name_sid == UINT32_MAX || e->file_sid == UINT32_MAX) { free(e->lt); e->lt = 0; return -1; }
  e->gen = fc->next_gen++;
  fc->resolves++;
  return 0;
}

code_entry *frames_code(frame_cache *fc, memsrc *m, const py_layout *l, uint64_t code, const uint8_t *hdr) {
  code_entry probe = {0};
  if (!code) return 0;
  header_fields(l, hdr, &probe);
  if (fc->code_type && probe.type != fc->code_type) return 0;
  if (probe.firstlineno < 0 || !probe.filename || !probe.name || !probe.linetable) return 0;
  probe.addr = code;

  uint32_t idx;
  if (u64map_get(&fc->code_index, code, &idx)) {
    code_entry *e = &fc->codes[idx];
    if (same_header(e, &probe)) return e;
    /* the address now holds a different code object: resolve it afresh */
    free(e->lt);
    *e = probe;
    if (resolve(fc, m, l, e)) {
      e->name = e->filename = 0; /* never matches a real header again */
      return 0;
    }
    return e;
  }
  if (fc->ncodes >= MAX_CODES) free_codes(fc); /* bounded: start over, ids stay valid */
  if (VEC_RESERVE(fc->codes, fc->capcodes, fc->ncodes + 1, 256)) return 0;
  code_entry *e = &fc->codes[fc->ncodes];
  *e = probe;
  if (resolve(fc, m, l, e)) return 0;
  u64map_put(&fc->code_index, code, (uint32_t)fc->ncodes);
  fc->ncodes++;
  return e;
}

uint32_t frames_id(frame_cache *fc, const py_layout *l, code_entry *e, int64_t addr) {
  uint64_t key = ((uint64_t)e->gen << 32) | (uint32_t)(addr + 2);
  uint32_t id;
  if (u64map_get(&fc->lasti_index, key, &id)) return id;
  int line = linetable_line(l->linetable_kind, e->lt, e->ltlen, e->firstlineno, addr);
  if (line < 0) line = 0;
  pthread_mutex_lock(&fc->lock);
  id = intern_frame(fc, e->name_sid, e->file_sid, line, e->firstlineno, e->kind);
  pthread_mutex_unlock(&fc->lock);
  if (u64map_put(&fc->lasti_index, key, id)) {
    u64map_clear(&fc->lasti_index); /* bounded: a cache, not a record */
    u64map_put(&fc->lasti_index, key, id);
  }
  return id;
}

uint32_t frames_kind(frame_cache *fc, uint32_t id) {
  pthread_mutex_lock(&fc->lock);
  uint32_t k = id != FRAME_ID_UNKNOWN && id < fc->nframes ? fc->frames[id].kind : 0;
  pthread_mutex_unlock(&fc->lock);
  return k;
}

int frames_describe(frame_cache *fc, uint32_t id, char *out, int outlen, int32_t *lines) {
  int rc = -1;
  pthread_mutex_lock(&fc->lock);
  if (id == FRAME_ID_UNKNOWN && outlen >= 12) {
    memcpy(out, "<unknown>\0\0", 11);
    lines[0] = lines[1] = 0;
    rc = 11;
  } else if (id < fc->nframes) {
    frame_entry *f = &fc->frames[id];
    const char *n = fc->strs[f->name_sid], *fl = fc->strs[f->file_sid];
    size_t a = strlen(n) + 1, b = strlen(fl) + 1;
    if ((size_t)outlen >= a + b) {
      memcpy(out, n, a);
      memcpy(out + a, fl, b);
      lines[0] = f->line;
      lines[1] = f->firstline;
      rc = (int)(a + b);
    }
  }
  pthread_mutex_unlock(&fc->lock);
  return rc;
}
