/*
 * threading.Thread.name of every thread, read from the target (see
 * threadnames.h). Dict layouts covered: 2.7 open addressing, 3.6-3.10
 * compact dicts, 3.11+ compact dicts with unicode-only entries; instance
 * attributes from plain instance dicts, 3.11/3.12 managed dicts and shared
 * values, 3.13 inline values. 64-bit targets only, like the rest of the reader.
 */
#include "threadnames.h"
#include "pystring.h"
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

/* Key/value pairs of a dict-keys table; values from vals (split) when non-NULL. */
typedef struct {
  uint64_t *keys, *vals;
  int n, cap;
} items;

static int items_push(items *it, uint64_t k, uint64_t v) {
  if (!k || !v) return 0;
  if (it->n == it->cap) {
    int cap = it->cap ? it->cap * 2 : 64;
    uint64_t *nk = realloc(it->keys, (size_t)cap * 8), *nv;
    if (!nk) return -1;
    it->keys = nk;
    if (!(nv = realloc(it->vals, (size_t)cap * 8))) return -1;
    it->vals = nv;
    it->cap = cap;
  }
  it->keys[it->n] = k;
  it->vals[it->n++] = v;
  return 0;
}

static void items_free(items *it) {
  free(it->keys);
  free(it->vals);
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
    rc = items_push(out, ld_u64(e + i * esize + koff), values ? v[i] : ld_u64(e + i * esize + voff));
out:
  free(e);
  free(v);
  return rc;
}

static int dict_items(memsrc *m, const py_layout *l, uint64_t d, int64_t max, items *out) {
  if (l->dict_kind == DICT_27) { /* ma_mask at 32, ma_table at 40 */
    uint8_t h[48];
    if (mem_read(m, d, h, sizeof h)) return -1;
    int64_t mask = (int64_t)ld_u64(h + 32);
    uint64_t table = ld_u64(h + 40);
    if (mask < 0 || mask + 1 > max || ((mask + 1) & mask)) return -1;
    size_t bytes = (size_t)(mask + 1) * 24;
    uint8_t *e = malloc(bytes);
    if (!e) return -1;
    int rc = mem_read(m, table, e, bytes) ? -1 : 0;
    for (int64_t i = 0; i <= mask && rc == 0; i++) rc = items_push(out, ld_u64(e + i * 24 + 8), ld_u64(e + i * 24 + 16));
    free(e);
    return rc;
  }
  uint64_t keys, values;
  if (mem_read_u64(m, d + (uint64_t)l->dict_keys, &keys) || mem_read_u64(m, d + (uint64_t)l->dict_values, &values) ||
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

static int find_in(memsrc *m, const py_layout *l, const items *it, const char *key, uint64_t *keyobj, uint64_t *val) {
  /* Attribute names are interned: once the key object is known, its address decides, with no string reads. */
  if (keyobj && *keyobj) {
    for (int i = 0; i < it->n; i++)
      if (it->keys[i] == *keyobj) { *val = it->vals[i]; return 0; }
    return 1;
  }
  for (int i = 0; i < it->n; i++)
    if (key_is(m, l, it->keys[i], key, keyobj)) { *val = it->vals[i]; return 0; }
  return 1;
}

/* dict lookup over at most max entries. */
static int dict_get_n(memsrc *m, const py_layout *l, uint64_t d, const char *key, uint64_t *keyobj, uint64_t *val,
                      int64_t max) {
  items it = {0};
  int rc = dict_items(m, l, d, max, &it);
  if (rc == 0) rc = find_in(m, l, &it, key, keyobj, val);
  items_free(&it);
  return rc;
}

int tn_dict_get(memsrc *m, const py_layout *l, uint64_t d, const char *key, uint64_t *keyobj, uint64_t *val) {
  return dict_get_n(m, l, d, key, keyobj, val, TN_MAX_DICT);
}

int tn_dict_get_n(memsrc *m, const py_layout *l, uint64_t d, const char *key, uint64_t *keyobj, uint64_t *val,
                  int64_t max) {
  return dict_get_n(m, l, d, key, keyobj, val, max);
}

static int split_get(memsrc *m, const py_layout *l, uint64_t type, uint64_t values, int64_t vcap,
                     const char *key, uint64_t *keyobj, uint64_t *val) {
  uint64_t keys;
  if (l->ht_cached_keys < 0 || mem_read_u64(m, type + (uint64_t)l->ht_cached_keys, &keys) || !keys) return -1;
  items it = {0};
  int rc = keys_items(m, l, keys, values, vcap, TN_MAX_ATTRS, &it);
  if (rc == 0) rc = find_in(m, l, &it, key, keyobj, val);
  items_free(&it);
  return rc;
}

int tn_attr_get(memsrc *m, const py_layout *l, uint64_t obj, const char *key, uint64_t *keyobj, uint64_t *val) {
  uint64_t type, p;
  uint8_t t[LAYOUT_TYPE_MAX]; /* layout_check: the type fields end within this */
  int64_t tlen = l->tp_flags;
  if (l->tp_dictoffset > tlen) tlen = l->tp_dictoffset;
  if (l->tp_basicsize > tlen) tlen = l->tp_basicsize;
  if (mem_read_u64(m, obj + (uint64_t)l->ob_type, &type) || mem_read(m, type, t, (size_t)tlen + 8)) return -1;
  uint64_t flags = ld_u64(t + l->tp_flags);
  int64_t dictoffset = (int64_t)ld_u64(t + l->tp_dictoffset), basicsize = (int64_t)ld_u64(t + l->tp_basicsize);
  uint64_t managed = obj + (uint64_t)l->managed_dict; /* the managed dict word, before the object's header */
  if (l->attr_kind == ATTR_INLINE_313 && (flags & TPFLAGS_INLINE_VALUES)) {
    /* Values live right after the object while valid; else in the dict before it. */
    if (basicsize < 16 || basicsize > 4096) return -1;
    uint64_t values = obj + (uint64_t)basicsize;
    uint8_t vh[4];
    if (mem_read(m, values, vh, sizeof vh)) return -1;
    if (vh[3]) return split_get(m, l, type, values + (uint64_t)l->values_header, vh[0], key, keyobj, val);
    if (mem_read_u64(m, managed, &p)) return -1;
    return p ? dict_get_n(m, l, p, key, keyobj, val, TN_MAX_ATTRS) : 1;
  }
  if (l->attr_kind >= ATTR_MANAGED_311 && (flags & TPFLAGS_MANAGED_DICT)) {
    if (mem_read_u64(m, managed, &p)) return -1;
    /* 3.12 stores the values pointer minus one: an odd word means values, not a dict. */
    if (l->attr_kind >= ATTR_MANAGED_312 && (p & 1)) return split_get(m, l, type, p + 1, -1, key, keyobj, val);
    if (p) return dict_get_n(m, l, p, key, keyobj, val, TN_MAX_ATTRS);
    if (l->attr_kind >= ATTR_MANAGED_312) return 1;
    if (mem_read_u64(m, managed - 8, &p)) return -1; /* 3.11: values pointer before the dict pointer */
    return p ? split_get(m, l, type, p, -1, key, keyobj, val) : 1;
  }
  if (dictoffset <= 0 || dictoffset > 4096) return 1;
  if (mem_read_u64(m, obj + (uint64_t)dictoffset, &p)) return -1;
  return p ? dict_get_n(m, l, p, key, keyobj, val, TN_MAX_ATTRS) : 1;
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

int threadnames_read(memsrc *m, const py_layout *l, tn_cache *c, uint64_t interp, tn_entry *out,
                     int max) {
  for (int attempt = 0; attempt < 2; attempt++) {
    if (!c->active) {
      int rc = find_active(m, l, interp, &c->active);
      if (rc == 1) return 0; /* threading not imported: no names to read */
      if (rc) return -1;
    }
    items it = {0};
    if (dict_items(m, l, c->active, TN_MAX_DICT, &it) || !type_is(m, l, c->active, "dict")) {
      /* The dict moved or the cache is stale: look it up again once. */
      items_free(&it);
      c->active = 0;
      continue;
    }
    int n = 0, misses = 0;
    const char *attr = l->string_kind == STR_PY2 ? "_Thread__name" : "_name";
    /* Bounded work whatever the target holds: a crafted dict of many Threads with many attributes must not stall us. */
    for (int i = 0; i < it.n && i < TN_MAX_THREADS && n < max; i++) {
      uint64_t ident, name;
      if (tn_int_read(m, l, it.keys[i], &ident)) continue;
      if (tn_attr_get(m, l, it.vals[i], attr, &c->name_key, &name)) {
        if (!c->name_key && ++misses >= TN_MAX_MISSES) break;
        continue;
      }
      if (read_name(m, l, c, name, out[n].name, sizeof out[n].name)) continue;
      out[n++].ident = ident;
    }
    items_free(&it);
    return n;
  }
  return -1;
}
