/*
 * Frame interning: every distinct (function name, file, line, first line)
 * gets a small stable id, so samples carry ids and the strings cross into
 * TypeScript once. Code objects are cached by address and revalidated each
 * sample against their header, so a freed and reused address re-resolves
 * instead of giving a stale name.
 */
#ifndef GAUGE_FRAMES_H
#define GAUGE_FRAMES_H
#include <pthread.h>
#include "hashmap.h"
#include "layouts.h"
#include "memsrc.h"

#define FRAME_ID_UNKNOWN 0u /* "<unknown>": a frame whose code could not be read */

typedef struct {
  uint32_t name_sid, file_sid;
  int32_t line, firstline;
  uint32_t kind; /* FRAME_KIND_* of the function */
} frame_entry;

/* What kind of function a frame runs, from its code object's co_flags. */
#define FRAME_KIND_GENERATOR 1u       /* CO_GENERATOR */
#define FRAME_KIND_COROUTINE 2u       /* CO_COROUTINE or CO_ITERABLE_COROUTINE */
#define FRAME_KIND_ASYNC_GENERATOR 4u /* CO_ASYNC_GENERATOR */

typedef struct {
  uint64_t addr;
  /* header fields that identify the code object; any change means re-resolve */
  uint64_t type, filename, name, qualname, linetable;
  int32_t firstlineno, firsttraceable;
  uint32_t kind; /* FRAME_KIND_* */
  uint32_t gen;
  uint32_t name_sid, file_sid;
  uint8_t *lt;
  size_t ltlen;
} code_entry;

typedef struct {
  pthread_mutex_t lock; /* frame table is read by the caller while the sampler interns */
  char **strs;
  size_t nstrs, capstrs;
  size_t str_bytes; /* bounded: names a target keeps changing must not grow us without end */
  u64map str_index;
  frame_entry *frames;
  size_t nframes, capframes;
  u64map frame_index;

  code_entry *codes;
  size_t ncodes, capcodes;
  u64map code_index;
  u64map lasti_index; /* (gen, instruction) -> frame id */
  uint32_t next_gen;
  uint32_t resets; /* times the code cache started over: code entries held elsewhere are stale after one */
  uint64_t code_type; /* &PyCode_Type in the target, 0 if unknown */
  uint64_t resolves;  /* code objects (re)resolved, for benchmarks */
} frame_cache;

int frames_init(frame_cache *fc);
void frames_free(frame_cache *fc);

/*
 * Validate the code object at `code` (hdr = its first l->co_read_size bytes)
 * and return its cache entry, resolving names and line table on a miss.
 * NULL when the object does not look like a code object.
 */
code_entry *frames_code(frame_cache *fc, memsrc *m, const py_layout *l, uint64_t code, const uint8_t *hdr);

/* Frame id for byte offset `addr` in entry's bytecode (-1 = not started). */
uint32_t frames_id(frame_cache *fc, const py_layout *l, code_entry *e, int64_t addr);

/* FRAME_KIND_* of a frame id; 0 for plain functions and unknown ids. */
uint32_t frames_kind(frame_cache *fc, uint32_t id);

/* Copy out a frame's strings; returns bytes written or -1. */
int frames_describe(frame_cache *fc, uint32_t id, char *out, int outlen, int32_t *lines);
#endif
