/*
 * threading.Thread.name of every thread, read from the target (see
 * threadnames.h). Dict layouts covered: 2.7 open addressing, 3.6-3.10
 * compact dicts, 3.11+ compact dicts with unicode-only entries; instance
 * attributes from plain instance dicts, 3.11/3.12 managed dicts and shared
 * values, 3.13 inline values. 64-bit targets only, like the rest of the reader.
 */
#include "threadnames.h"
#include "hashmap.h"
#include "pystring.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TPFLAGS_INLINE_VALUES (1ull << 2) /* 3.13+ */
#define TPFLAGS_MANAGED_DICT (1ull << 4)  /* 3.11+ */

/* The type of obj is named `want` (tp_name). */
static int type_is(memsrc *m, const py_layout *l, uint64_t obj, const char *want) {
  uint64_t type, name;
  char buf[16];
  size_t n = strlen(want) + 1;
  if (n > sizeof buf || mem_read_u64(m, obj + (uint64_t)l->ob_type, &type) ||
      mem_read_u64(m, type + (uint64_t)l->tp_name, &name) ||
      mem_read(m, name, buf, n))
    return 0;
  return memcmp(buf, want, n) == 0;
}

/* Record a word a lookup followed (path may be NULL: nothing kept). */
static void path_add(tn_path *p, uint64_t addr, uint64_t val) {
  if (!p) return;
  if (p->n < TN_PATH_MAX) {
    p->addr[p->n] = addr;
    p->val[p->n] = val;
  }
  p->n++;
}

static int read_word(memsrc *m, uint64_t addr, uint64_t *out, tn_path *p) {
  if (mem_read_u64(m, addr, out)) return -1;
  path_add(p, addr, *out);
  return 0;
}

/* Key/value pairs of a dict-keys table; values from vals (split) when non-NULL; slots: where each value is. */
typedef struct {
  uint64_t *keys, *vals, *slots;
  int n, cap;
} items;

static int items_push(items *it, uint64_t k, uint64_t v, uint64_t slot) {
  if (!k || !v) return 0;
  if (it->n == it->cap) {
    int cap = it->cap ? it->cap * 2 : 64;
    uint64_t *nk = realloc(it->keys, (size_t)cap * 8), *nv, *ns;
    if (!nk) return -1;
    it->keys = nk;
    if (!(nv = realloc(it->vals, (size_t)cap * 8))) return -1;
    it->vals = nv;
    if (!(ns = realloc(it->slots, (size_t)cap * 8))) return -1;
    it->slots = ns;
    it->cap = cap;
  }
  it->keys[it->n] = k;
  it->slots[it->n] = slot;
  it->vals[it->n++] = v;
  return 0;
}

static void items_free(items *it) {
  free(it->keys);
  free(it->vals);
  free(it->slots);
  memset(it, 0, sizeof *it);
}

/*
 * Entries of a 3.6+ PyDictKeysObject. values: the split values array
 * (entry i's value is values[i]) or 0 for a combined table; vcap bounds it.
 */
static int keys_items(memsrc *m, const py_layout *l, uint64_t keys, uint64_t values, int64_t vcap, int64_t max, items *out) {
  uint8_t h[40];
  if (mem_read(m, keys, h, sizeof h)) return -1;
  uint64_t entries;
  int64_t nentries;
  int esize = 24, koff = 8, voff = 16;
  if (l->dict_kind == DICT_311) {
    unsigned log2_size = h[8], log2_index = h[9], kind = h[10];
    if (log2_size > 20 || log2_index > 23 || kind > 2) return -1;
    nentries = (int64_t)ld_u64(h + 24);
    entries = keys + 32 + (1ull << log2_index);
    if (kind != 0) { esize = 16; koff = 0; voff = 8; }
    if (nentries > (int64_t)(1ull << log2_size)) return -1;
  } else {
    int64_t size = (int64_t)ld_u64(h + 8);
    nentries = (int64_t)ld_u64(h + 32);
    if (size <= 0 || size > (1 << 22) || (size & (size - 1)) || nentries > size) return -1;
    int ix = size <= 0xff ? 1 : size <= 0xffff ? 2 : 4;
    entries = keys + 40 + (uint64_t)size * (uint64_t)ix;
  }
  if (nentries < 0 || nentries > max) return -1;
  if (values && vcap >= 0 && nentries > vcap) nentries = vcap;
  if (nentries == 0) return 0;
  uint8_t *e = malloc((size_t)nentries * (size_t)esize);
  uint64_t *v = values ? malloc((size_t)nentries * 8) : 0;
  int rc = -1;
  if (!e || (values && !v)) goto out;
  if (mem_read(m, entries, e, (size_t)nentries * (size_t)esize)) goto out;
  if (values && mem_read(m, values, v, (size_t)nentries * 8)) goto out;
  rc = 0;
  for (int64_t i = 0; i < nentries && rc == 0; i++)
    rc = items_push(out, ld_u64(e + i * esize + koff), values ? v[i] : ld_u64(e + i * esize + voff),
                    values ? values + 8 * (uint64_t)i : entries + (uint64_t)(i * esize + voff));
out:
  free(e);
  free(v);
  return rc;
}

static int dict_items(memsrc *m, const py_layout *l, uint64_t d, int64_t max, items *out, tn_path *p) {
  if (l->dict_kind == DICT_27) { /* ma_mask at 32, ma_table at 40 */
    uint8_t h[48];
    if (mem_read(m, d, h, sizeof h)) return -1;
    int64_t mask = (int64_t)ld_u64(h + 32);
    uint64_t table = ld_u64(h + 40);
    path_add(p, d + 32, (uint64_t)mask);
    path_add(p, d + 40, table);
    if (mask < 0 || mask + 1 > max || ((mask + 1) & mask)) return -1;
    size_t bytes = (size_t)(mask + 1) * 24;
    uint8_t *e = malloc(bytes);
    if (!e) return -1;
    int rc = mem_read(m, table, e, bytes) ? -1 : 0;
    for (int64_t i = 0; i <= mask && rc == 0; i++)
      rc = items_push(out, ld_u64(e + i * 24 + 8), ld_u64(e + i * 24 + 16), table + (uint64_t)i * 24 + 16);
    free(e);
    return rc;
  }
  uint64_t keys, values;
  if (read_word(m, d + (uint64_t)l->dict_keys, &keys, p) || read_word(m, d + (uint64_t)l->dict_values, &values, p) ||
      !keys)
    return -1;
  int64_t vcap = -1;
  if (values && l->values_header > 0) { /* 3.13+: capacity is the first byte of the values header */
    uint8_t vh[4];
    if (mem_read(m, values, vh, sizeof vh)) return -1;
    vcap = vh[0];
  }
  return keys_items(m, l, keys, values ? values + (uint64_t)l->values_header : 0, vcap, max, out);
}

/* Key object k equals the ASCII string s. *known caches the matching object's address. */
static int key_is(memsrc *m, const py_layout *l, uint64_t k, const char *s, uint64_t *known) {
  if (known && *known) {
    if (k == *known) return 1;
  }
  uint64_t len;
  if (mem_read_u64(m, k + (uint64_t)l->str_length, &len) || len != strlen(s)) return 0;
  char buf[128];
  if (pystr_read(m, l, k, buf, sizeof buf) < 0 || strcmp(buf, s) != 0) return 0;
  if (known) *known = k;
  return 1;
}

/* Look key up; the found value's slot ends the path. */
static int find_in(memsrc *m, const py_layout *l, const items *it, const char *key, uint64_t *keyobj, uint64_t *val,
                   tn_path *p) {
  int at = -1;
  /* Attribute names are interned: once the key object is known, its address decides, with no string reads. */
  if (keyobj && *keyobj) {
    for (int i = 0; i < it->n && at < 0; i++)
      if (it->keys[i] == *keyobj) at = i;
  } else {
    for (int i = 0; i < it->n && at < 0; i++)
      if (key_is(m, l, it->keys[i], key, keyobj)) at = i;
  }
  if (at < 0) return 1;
  *val = it->vals[at];
  path_add(p, it->slots[at], *val);
  return 0;
}

/* dict lookup over at most max entries. */
static int dict_get_n(memsrc *m, const py_layout *l, uint64_t d, const char *key, uint64_t *keyobj, uint64_t *val,
                      int64_t max, tn_path *p) {
  items it = {0};
  int rc = dict_items(m, l, d, max, &it, p);
  if (rc == 0) rc = find_in(m, l, &it, key, keyobj, val, p);
  items_free(&it);
  return rc;
}

int tn_dict_get(memsrc *m, const py_layout *l, uint64_t d, const char *key, uint64_t *keyobj, uint64_t *val) {
  return dict_get_n(m, l, d, key, keyobj, val, TN_MAX_DICT, 0);
}

int tn_dict_get_n(memsrc *m, const py_layout *l, uint64_t d, const char *key, uint64_t *keyobj, uint64_t *val,
                  int64_t max) {
  return dict_get_n(m, l, d, key, keyobj, val, max, 0);
}

static int split_get(memsrc *m, const py_layout *l, uint64_t type, uint64_t values, int64_t vcap,
                     const char *key, uint64_t *keyobj, uint64_t *val, tn_path *p) {
  uint64_t keys;
  if (l->ht_cached_keys < 0 || read_word(m, type + (uint64_t)l->ht_cached_keys, &keys, p) || !keys) return -1;
  items it = {0};
  int rc = keys_items(m, l, keys, values, vcap, TN_MAX_ATTRS, &it);
  if (rc == 0) rc = find_in(m, l, &it, key, keyobj, val, p);
  items_free(&it);
  return rc;
}

/* tn_attr_get, recording the words followed in p (when not NULL). */
static int attr_get(memsrc *m, const py_layout *l, uint64_t obj, const char *key, uint64_t *keyobj, uint64_t *val,
                    tn_path *path) {
  uint64_t type, p;
  uint8_t t[LAYOUT_TYPE_MAX]; /* layout_check: the type fields end within this */
  int64_t tlen = l->tp_flags;
  if (l->tp_dictoffset > tlen) tlen = l->tp_dictoffset;
  if (l->tp_basicsize > tlen) tlen = l->tp_basicsize;
  /* The type's flags and offsets never change for a type: only which type is on the path. */
  if (read_word(m, obj + (uint64_t)l->ob_type, &type, path) || mem_read(m, type, t, (size_t)tlen + 8)) return -1;
  uint64_t flags = ld_u64(t + l->tp_flags);
  int64_t dictoffset = (int64_t)ld_u64(t + l->tp_dictoffset), basicsize = (int64_t)ld_u64(t + l->tp_basicsize);
  uint64_t managed = obj + (uint64_t)l->managed_dict; /* the managed dict word, before the object's header */
  if (l->attr_kind == ATTR_INLINE_313 && (flags & TPFLAGS_INLINE_VALUES)) {
    /* Values live right after the object while valid; else in the dict before it. */
    if (basicsize < 16 || basicsize > 4096) return -1;
    uint64_t values = obj + (uint64_t)basicsize, w;
    /* The header's word (capacity, size, embedded, valid), whole: a path word. */
    if (read_word(m, values, &w, path)) return -1;
    uint8_t vh[8];
    memcpy(vh, &w, 8);
    if (vh[3]) return split_get(m, l, type, values + (uint64_t)l->values_header, vh[0], key, keyobj, val, path);
    if (read_word(m, managed, &p, path)) return -1;
    return p ? dict_get_n(m, l, p, key, keyobj, val, TN_MAX_ATTRS, path) : 1;
  }
  if (l->attr_kind >= ATTR_MANAGED_311 && (flags & TPFLAGS_MANAGED_DICT)) {
    if (read_word(m, managed, &p, path)) return -1;
    /* 3.12 stores the values pointer minus one: an odd word means values, not a dict. */
    if (l->attr_kind >= ATTR_MANAGED_312 && (p & 1)) return split_get(m, l, type, p + 1, -1, key, keyobj, val, path);
    if (p) return dict_get_n(m, l, p, key, keyobj, val, TN_MAX_ATTRS, path);
    if (l->attr_kind >= ATTR_MANAGED_312) return 1;
    if (read_word(m, managed - 8, &p, path)) return -1; /* 3.11: values pointer before the dict pointer */
    return p ? split_get(m, l, type, p, -1, key, keyobj, val, path) : 1;
  }
  if (dictoffset <= 0 || dictoffset > 4096) return 1;
  if (read_word(m, obj + (uint64_t)dictoffset, &p, path)) return -1;
  return p ? dict_get_n(m, l, p, key, keyobj, val, TN_MAX_ATTRS, path) : 1;
}

int tn_attr_get(memsrc *m, const py_layout *l, uint64_t obj, const char *key, uint64_t *keyobj, uint64_t *val) {
  return attr_get(m, l, obj, key, keyobj, val, 0);
}

int tn_int_read(memsrc *m, const py_layout *l, uint64_t obj, uint64_t *out) {
  uint8_t b[LAYOUT_OBJ_MAX]; /* layout_check: long_size and three digits end within this */
  int64_t need = l->long_digit + (l->int_kind == INT_PY2 ? 8 : 12);
  if (l->int_kind != INT_PY2 && l->long_size + 8 > need) need = l->long_size + 8;
  if (mem_read(m, obj, b, (size_t)need)) return -1;
  if (l->int_kind == INT_PY2) { /* PyIntObject: ob_ival */
    *out = ld_u64(b + l->long_digit);
    return 0;
  }
  int64_t ndigits;
  if (l->int_kind == INT_LONG_TAG) {
    uint64_t tag = ld_u64(b + l->long_size);
    if ((tag & 3) == 2) return -1; /* negative: not an ident */
    ndigits = (int64_t)(tag >> 3);
  } else {
    ndigits = (int64_t)ld_u64(b + l->long_size);
  }
  if (ndigits < 0 || ndigits > 3) return -1;
  uint64_t v = 0;
  for (int64_t i = ndigits - 1; i >= 0; i--) {
    uint32_t d = ld_u32(b + l->long_digit + 4 * i) & 0x3fffffff;
    if (i == 2 && d > 0xf) return -1; /* more than 64 bits */
    v = (v << 30) | d;
  }
  *out = v;
  return 0;
}

static int utf8_valid(const uint8_t *s, size_t n) {
  for (size_t i = 0; i < n;) {
    uint8_t c = s[i];
    size_t k = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
    if (!k || i + k > n) return 0;
    for (size_t j = 1; j < k; j++)
      if ((s[i + j] & 0xc0) != 0x80) return 0;
    i += k;
  }
  return 1;
}

static int read_name(memsrc *m, const py_layout *l, tn_cache *c, uint64_t s, char *out, size_t cap) {
  uint64_t type;
  if (mem_read_u64(m, s + (uint64_t)l->ob_type, &type)) return -1;
  if (type != c->str_type) {
    if (!type_is(m, l, s, "str")) return -1;
    c->str_type = type;
  }
  if (l->string_kind == STR_PY2) {
    /* 2.7 names are byte strings: keep them when they are UTF-8, else mark the non-ASCII bytes. */
    uint8_t *raw;
    size_t n;
    if (pybytes_read(m, l, s, &raw, &n, PYSTR_MAX_CHARS)) return -1;
    if (n >= cap) n = cap - 1;
    int ok = utf8_valid(raw, n);
    for (size_t i = 0; i < n; i++) out[i] = ok || raw[i] < 0x80 ? (char)raw[i] : '?';
    out[n] = 0;
    free(raw);
    return 0;
  }
  return pystr_read(m, l, s, out, cap) < 0 ? -1 : 0;
}

static int find_active(memsrc *m, const py_layout *l, uint64_t interp, uint64_t *active) {
  uint64_t modules, mod, mdict;
  if (l->is_modules < 0 || mem_read_u64(m, interp + (uint64_t)l->is_modules, &modules) || !modules) return -1;
  if (!type_is(m, l, modules, "dict")) return -1;
  int rc = tn_dict_get(m, l, modules, "threading", 0, &mod);
  if (rc) return rc;
  if (!type_is(m, l, mod, "module") || mem_read_u64(m, mod + (uint64_t)l->mod_dict, &mdict) ||
      !type_is(m, l, mdict, "dict"))
    return -1;
  if ((rc = tn_dict_get(m, l, mdict, "_active", 0, active))) return rc;
  return type_is(m, l, *active, "dict") ? 0 : -1;
}

/* Where the last refresh's entry for the Thread obj is (an index over the memo, by open addressing), or -1. */
static int memo_find(const tn_memo *mo, const int32_t *ix, int cap, uint64_t key, uint64_t obj) {
  for (int h = (int)(hash_mix(obj) & (uint64_t)(cap - 1)), k = 0; k < cap && ix[h] >= 0; h = (h + 1) & (cap - 1), k++) {
    const tn_known *e = &mo->v[ix[h]];
    if (e->obj == obj && e->key == key) return ix[h];
  }
  return -1;
}

/*
 * Which of _active's first lim entries the memo still names: for each, the
 * memo entry whose every path word reads as before, else -1. Every path is
 * read in one batch, level by level (each Thread's type word, then each
 * dict word, ...): objects made in turn lie in turn, so neighbouring words
 * merge into few remote ranges, and a word shared by all (the class's keys)
 * is read once. NULL when out of memory.
 */
static int *memo_check(memsrc *m, const tn_memo *mo, const items *it, int lim) {
  int cap = 16;
  while (cap < 2 * mo->n) cap <<= 1;
  int *known = malloc(((size_t)lim + 1) * sizeof *known);
  int32_t *ix = malloc((size_t)cap * sizeof *ix);
  size_t nmax = (size_t)lim * TN_PATH_MAX + 1;
  mem_req *reqs = malloc(nmax * sizeof *reqs);
  uint64_t *words = malloc(nmax * 8), *want = malloc(nmax * 8);
  int32_t *owner = malloc(nmax * sizeof *owner), *wi = malloc(nmax * sizeof *wi);
  uint8_t *ok = malloc(nmax);
  if (!known || !ix || !reqs || !words || !want || !owner || !wi || !ok) {
    free(known);
    known = 0;
    goto out;
  }
  memset(ix, 0xff, (size_t)cap * sizeof *ix);
  for (int j = 0; j < mo->n; j++) {
    int h = (int)(hash_mix(mo->v[j].obj) & (uint64_t)(cap - 1));
    while (ix[h] >= 0) h = (h + 1) & (cap - 1);
    ix[h] = j;
  }
  for (int i = 0; i < lim; i++) known[i] = memo_find(mo, ix, cap, it->keys[i], it->vals[i]);
  int nw = 0, nr = 0; /* path words to check, distinct reads */
  for (int k = 0; k < TN_PATH_MAX; k++)
    for (int i = 0; i < lim; i++) {
      if (known[i] < 0 || k >= mo->v[known[i]].path.n) continue;
      const tn_path *p = &mo->v[known[i]].path;
      if (!nr || reqs[nr - 1].addr != p->addr[k]) {
        reqs[nr] = (mem_req){p->addr[k], &words[nr], 8};
        nr++;
      }
      owner[nw] = i;
      want[nw] = p->val[k];
      wi[nw++] = nr - 1;
    }
  readv_each(m, reqs, nr, ok);
  for (int w = 0; w < nw; w++)
    if (!ok[wi[w]] || words[wi[w]] != want[w]) known[owner[w]] = -1;
out:
  free(ix);
  free(reqs);
  free(words);
  free(want);
  free(owner);
  free(wi);
  free(ok);
  return known;
}

/* The memo becomes next (n entries); names of threads gone are freed. */
static void memo_replace(tn_memo *mo, tn_known *next, int n) {
  for (int j = 0; j < mo->n; j++) free(mo->v[j].name);
  free(mo->v);
  mo->v = next;
  mo->n = n;
}

int threadnames_memo_on(tn_cache *c) {
  if (!c->memo) c->memo = calloc(1, sizeof *c->memo);
  return c->memo ? 0 : -1;
}

void threadnames_free(tn_cache *c) {
  if (!c || !c->memo) return;
  memo_replace(c->memo, 0, 0);
  free(c->memo);
  c->memo = 0;
}

/* One thread's name read in full (its path recorded when p is not NULL): 0 ok, 1 no name attribute, -1 unreadable. */
static int read_one(memsrc *m, const py_layout *l, tn_cache *c, uint64_t key, uint64_t obj, tn_entry *e,
                    tn_path *p) {
  const char *attr = l->string_kind == STR_PY2 ? "_Thread__name" : "_name";
  uint64_t name;
  if (tn_int_read(m, l, key, &e->ident)) return -1;
  if (attr_get(m, l, obj, attr, &c->name_key, &name, p)) return 1;
  return read_name(m, l, c, name, e->name, sizeof e->name) ? -1 : 0;
}

int threadnames_read(memsrc *m, const py_layout *l, tn_cache *c, uint64_t interp, tn_entry *out,
                     int max) {
  for (int attempt = 0; attempt < 2; attempt++) {
    if (!c->active) {
      int rc = find_active(m, l, interp, &c->active);
      if (rc == 1) return 0; /* threading not imported: no names to read */
      if (rc) return -1;
    }
    items it = {0};
    if (dict_items(m, l, c->active, TN_MAX_DICT, &it, 0) || !type_is(m, l, c->active, "dict")) {
      /* The dict moved or the cache is stale: look it up again once. */
      items_free(&it);
      c->active = 0;
      continue;
    }
    /* Bounded work whatever the target holds: a crafted dict of many Threads with many attributes must not stall us. */
    int lim = it.n < TN_MAX_THREADS ? it.n : TN_MAX_THREADS;
    int *known = c->memo ? memo_check(m, c->memo, &it, lim) : 0;
    tn_known *next = known ? calloc((size_t)lim + 1, sizeof *next) : 0;
    int n = 0, nn = 0, misses = 0;
    for (int i = 0; i < lim && n < max; i++) {
      tn_known *k = known && next && known[i] >= 0 ? &c->memo->v[known[i]] : 0;
      if (k && k->name) { /* unchanged since the last refresh: the name moves to the new memo */
        out[n].ident = k->ident;
        snprintf(out[n++].name, sizeof out->name, "%s", k->name);
        next[nn++] = *k;
        k->name = 0;
        continue;
      }
      tn_path path = {0};
      int rc = read_one(m, l, c, it.keys[i], it.vals[i], &out[n], next ? &path : 0);
      if (rc) {
        if (rc == 1 && !c->name_key && ++misses >= TN_MAX_MISSES) break;
        continue;
      }
      char *kept = next && path.n > 0 && path.n <= TN_PATH_MAX ? strdup(out[n].name) : 0;
      if (kept) next[nn++] = (tn_known){it.keys[i], it.vals[i], out[n].ident, path, kept};
      n++;
    }
    if (next) memo_replace(c->memo, next, nn);
    free(known);
    items_free(&it);
    return n;
  }
  return -1;
}
