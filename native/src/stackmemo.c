#include "stackmemo.h"
#include "../include/gauge.h"
#include "vec.h"
#include <string.h>

int memo_init(stack_memo *m) {
  memset(m, 0, sizeof *m);
  return u64map_init(&m->index, 1024);
}

void memo_free(stack_memo *m) {
  free(m->words);
  free(m->th);
  u64map_free(&m->index);
  memset(m, 0, sizeof *m);
}

static void memo_empty(stack_memo *m) {
  m->nwords = m->nth = 0;
  if (m->indexed) u64map_clear(&m->index);
  m->indexed = 0; /* built by the first memo_find that needs it */
}

int64_t memo_find(stack_memo *m, size_t hint, uint64_t tstate, uint64_t thread_id, uint64_t native_id, int max_depth) {
  if (!tstate || m->max_depth != max_depth) return -1;
  uint32_t i = (uint32_t)hint;
  /* The chain mostly keeps its order: the thread at the same place first, the index only when it moved. */
  if (hint >= m->nth || m->th[hint].tstate != tstate) {
    if (!m->indexed) {
      m->indexed = 1;
      for (size_t t = 0; t < m->nth; t++)
        if (m->th[t].tstate && !u64map_grow_if_full(&m->index)) u64map_put(&m->index, m->th[t].tstate, (uint32_t)t);
    }
    if (!u64map_get(&m->index, tstate, &i) || i >= m->nth) return -1; /* not indexed: walked */
  }
  const memo_thread *t = &m->th[i];
  /* A thread state reused by a new thread keeps its address: the ids tell them apart. */
  if (t->thread_id != thread_id || t->native_id != (uint32_t)native_id) return -1;
  if (m->words[t->at + 3] & GAUGE_TH_ERROR) return -1;
  return t->at;
}

void memo_save(stack_memo *m, const uint32_t *rec, size_t len, const uint64_t *tstates, size_t stride, int max_depth) {
  memo_empty(m);
  m->max_depth = max_depth;
  /* A burst of threads or deep stacks must not pin its memory for the session. */
  if (m->capwords > 65536 && m->capwords > 4 * len) {
    free(m->words);
    m->words = 0;
    m->capwords = 0;
  }
  uint32_t n = len >= GAUGE_REC_HEADER ? rec[4] : 0;
  if (VEC_RESERVE(m->words, m->capwords, len, 4096) || VEC_RESERVE(m->th, m->capth, n, 64)) return;
  memcpy(m->words, rec, len * sizeof *rec);
  m->nwords = len;
  size_t pos = GAUGE_REC_HEADER;
  for (uint32_t t = 0; t < n && pos + GAUGE_THREAD_HEADER <= len; t++) {
    const uint32_t *h = rec + pos;
    uint64_t ts = *(const uint64_t *)((const uint8_t *)tstates + (size_t)t * stride);
    size_t next = pos + GAUGE_THREAD_HEADER + h[7] + (h[3] & GAUGE_TH_TRACE ? GAUGE_TRACE_WORDS : 0);
    if (next > len) break;
    m->th[t] = (memo_thread){ts, h[0] | (uint64_t)h[1] << 32, h[2], (uint32_t)pos};
    m->nth = t + 1;
    pos = next;
  }
}
