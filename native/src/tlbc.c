/* Free-threaded 3.14+: where each thread's own specialised copy of a code object's bytecode starts. */
#include "pagecache.h"
#include "vec.h"
#include <stdlib.h>

/*
 * Free-threaded 3.14+: where each (code, copy) pair's bytecode starts. A
 * thread running its own specialised copy has instr_ptr inside that copy,
 * found at co_tlbc->entries[idx]; size and entry come in one batched call.
 * bases[i] is 0 where the copy could not be read or the index is out of range.
 */
uint64_t *walker_tlbc_bases(walker *w, thread_rec *threads, int nthreads, const uint8_t *hdrs, const uint8_t *valid,
                            size_t ndistinct) {
  const py_layout *l = &w->layout;
  u64map_clear(&w->tlbc_pairs);
  if (l->co_tlbc < 0) return 0;
  size_t n = 0, cap = 0;
  uint64_t *pairs = 0; /* [code, idx, array] */
  for (int t = 0; t < nthreads; t++)
    for (int d = 0; d < threads[t].depth; d++) {
      raw_frame *rf = &w->raw[threads[t].raw_start + d];
      uint32_t di = rf->didx, have;
      if (rf->tlbc <= 0 || rf->tlbc > 0xffff || di >= ndistinct || !valid[di]) continue;
      uint64_t key = tlbc_key(rf->code, rf->tlbc);
      if (u64map_get(&w->tlbc_pairs, key, &have)) continue;
      if (n == cap) {
        cap = cap ? cap * 2 : 64;
        uint64_t *np = realloc(pairs, cap * 3 * sizeof *np);
        if (!np) { free(pairs); u64map_clear(&w->tlbc_pairs); return 0; }
        pairs = np;
      }
      if (u64map_put(&w->tlbc_pairs, key, (uint32_t)n)) continue;
      pairs[3 * n] = rf->code;
      pairs[3 * n + 1] = (uint64_t)rf->tlbc;
      pairs[3 * n + 2] = ld_u64(hdrs + (size_t)di * (size_t)l->co_read_size + l->co_tlbc);
      n++;
    }
  if (!n) { free(pairs); return 0; }
  uint64_t *got = calloc(2 * n, sizeof *got); /* [size, entry] per pair */
  uint64_t *bases = calloc(n, sizeof *bases);
  if (!got || !bases || walker_scratch_reserve(w, 2 * n)) { free(pairs); free(got); free(bases); u64map_clear(&w->tlbc_pairs); return 0; }
  /* Known copies cost nothing: the same array as last time, and no index handed out or freed since. */
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t ci;
    uint64_t arr = pairs[3 * i + 2];
    if (u64map_get(&w->tlbc_cache, tlbc_key(pairs[3 * i], (int32_t)pairs[3 * i + 1]), &ci) && w->tlbc_vals[2 * ci] == arr) {
      bases[i] = w->tlbc_vals[2 * ci + 1];
      continue;
    }
    w->cursors[k / 2] = i;
    w->reqs[k++] = (mem_req){arr, &got[2 * i], 8};
    w->reqs[k++] = (mem_req){arr + 8 + 8 * pairs[3 * i + 1], &got[2 * i + 1], 8};
  }
  if (k) readv_each(w->m, w->reqs, (int)k, w->ok);
  for (size_t j = 0; j < k / 2; j++) {
    size_t i = (size_t)w->cursors[j];
    if (!w->ok[2 * j] || !w->ok[2 * j + 1] || pairs[3 * i + 1] >= got[2 * i] || got[2 * i] > 0xffff) continue;
    bases[i] = got[2 * i + 1];
    if (!bases[i]) continue;
    uint64_t key = tlbc_key(pairs[3 * i], (int32_t)pairs[3 * i + 1]);
    uint32_t ci;
    if (!u64map_get(&w->tlbc_cache, key, &ci)) {
      if (VEC_RESERVE(w->tlbc_vals, w->captlbc, 2 * (w->ntlbc + 1), 256) || u64map_put(&w->tlbc_cache, key, (uint32_t)w->ntlbc)) {
        u64map_clear(&w->tlbc_cache); /* bounded: a cache, start over */
        w->ntlbc = 0;
        continue;
      }
      ci = (uint32_t)w->ntlbc++;
    }
    w->tlbc_vals[2 * ci] = pairs[3 * i + 2];
    w->tlbc_vals[2 * ci + 1] = bases[i];
  }
  free(pairs);
  free(got);
  return bases;
}

