/*
 * Decoding a sample's raw frames into frame ids (decode.c): the scratch it
 * reuses every sample, and the previous sample's decoded frames per thread.
 * A busy thread's outer frames rarely change between samples; where a frame
 * holds the same code object (same resolution, by its generation), the same
 * instruction and owner as the frame at the same depth from the outermost one
 * last time, its id is taken from then instead of looked up again.
 */
#ifndef GAUGE_DECODE_H
#define GAUGE_DECODE_H
#include <stddef.h>
#include <stdint.h>
#include "hashmap.h"
#include "memsrc.h"

/* A frame as read (code, instruction, owner) and what it decoded to. */
typedef struct {
  uint64_t code;
  int64_t addr;
  int32_t owner, tlbc;
  uint32_t gen; /* code_entry generation the id was derived from */
  uint32_t id;  /* frame id, or DECODE_SKIP: a frame not shown (still setting up) */
} decoded_frame;

#define DECODE_SKIP UINT32_MAX

typedef struct {
  uint64_t tstate;
  size_t start; /* into decoded_frame[] */
  uint32_t depth;
} decoded_thread;

typedef struct {
  /* the sample's distinct code objects: address, read request, header read, cached entry (index + 1) */
  uint64_t *codes;
  size_t ndistinct; /* codes[] of the last sample: the keys of the walker's distinct map, in the order put */
  mem_req *reqs;
  uint8_t *valid;
  uint32_t *ent, *ent_resets;
  size_t capdistinct;
  /* the last sample's decoded stacks (prev) and the one being decoded (next) */
  decoded_frame *prev, *next;
  size_t capprev, capnext, nprev, nnext;
  decoded_thread *prevt, *nextt;
  size_t capprevt, capnextt, nprevt, nnextt;
  u64map prev_index; /* tstate -> prevt[] index */
  /*
   * The last sample's distinct code objects (at most DECODE_SPEC_CODES), whose
   * headers pc_prefetch_frames reads again in its first call, beside the pages:
   * read_code_headers then reads only the code objects new since, usually none.
   */
  uint64_t *spec_codes;
  uint8_t *spec_hdrs, *spec_ok;
  size_t nspec;
  int spec_read; /* this sample's first batch read them (spec_ok says which) */
  u64map spec_index; /* code address -> spec_codes[] index */
  uint32_t *need;    /* read_code_headers: distinct codes still to read */
  uint64_t decoded, reused; /* raw frames decoded, and of them those whose id came from the last sample */
} decode_state;

#define DECODE_SPEC_CODES 256

int decode_init(decode_state *d);
/* The requests for the last sample's code headers (hs bytes each) into reqs; returns how many (the first batch). */
size_t decode_spec_reqs(decode_state *d, mem_req *reqs, size_t hs);
void decode_free(decode_state *d);
#endif
