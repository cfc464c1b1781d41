/*
 * A thread's current OpenTelemetry span, read from the target (see
 * otelctx.h). The HAMT lookup follows CPython's hamt.c: the key's hash
 * folded to 32 bits picks 5 bits per level; a bitmap node holds key/value
 * pairs (a NULL key means the value is a child node), an array node 32
 * children, a collision node the pairs of keys whose 32-bit hashes are equal
 * (at most OTEL_MAX_COLLISION of them are searched).
 */
#include "otelctx.h"
#include "pystring.h"
#include "threadnames.h"
#include <string.h>

#define TPFLAGS_LONG_SUBCLASS (1ull << 24)
#define TPFLAGS_TUPLE_SUBCLASS (1ull << 26)
#define TPFLAGS_DICT_SUBCLASS (1ull << 29)
#define HAMT_MAX_LEVELS 7 /* 32 hash bits, 5 per level */
/* contextvars types: dotted names from 3.14; a type other than the one seen is checked by name again */
#define OTEL_TYPE (PYTYPE_DOTTED | PYTYPE_RECHECK)

static int type_named(memsrc *m, const py_layout *l, uint64_t obj, const char *want, uint64_t *seen) {
  uint64_t type;
  return !mem_read_u64(m, obj + (uint64_t)l->ob_type, &type) && pytype_named(m, l, type, want, OTEL_TYPE, seen);
}

/* The type at type has all of these tp_flags bits; c (may be NULL) remembers types' flags. */
static int flags_at(memsrc *m, const py_layout *l, otel_cache *c, uint64_t type, uint64_t bits) {
  uint64_t flags;
  if (!type) return 0;
  for (unsigned i = 0; c && i < 8; i++)
    if (c->ftype[i] == type) return (c->fflags[i] & bits) == bits;
  if (mem_read_u64(m, type + (uint64_t)l->tp_flags, &flags)) return 0;
  if (c) {
    c->ftype[c->fnext % 8] = type;
    c->fflags[c->fnext++ % 8] = flags;
  }
  return (flags & bits) == bits;
}

static int type_flags(memsrc *m, const py_layout *l, otel_cache *c, uint64_t obj, uint64_t bits) {
  uint64_t type;
  return !mem_read_u64(m, obj + (uint64_t)l->ob_type, &type) && flags_at(m, l, c, type, bits);
}

/* The first `upto` bytes of the object at obj (upto <= LAYOUT_OBJ_MAX: the fields passed layout_check's OBJ group). */
static int head(memsrc *m, uint64_t obj, uint8_t *buf, int64_t upto) {
  return upto <= 0 || upto > LAYOUT_OBJ_MAX || mem_read(m, obj, buf, (size_t)upto);
}

static int64_t max2(int64_t a, int64_t b) { return a > b ? a : b; }

static int module_global(memsrc *m, const py_layout *l, uint64_t modules, const char *mod, const char *name,
                         uint64_t *out) {
  uint64_t module, mdict;
  int rc = tn_dict_get(m, l, modules, mod, 0, &module);
  if (rc) return rc;
  if (mem_read_u64(m, module + (uint64_t)l->mod_dict, &mdict) || !mdict ||
      !type_flags(m, l, 0, mdict, TPFLAGS_DICT_SUBCLASS))
    return -1;
  return tn_dict_get_n(m, l, mdict, name, 0, out, TN_MAX_DICT);
}

int otel_discover(memsrc *m, const py_layout *l, otel_cache *c, uint64_t interp) {
  if (l->ts_context < 0) return 1;
  uint64_t modules, rt, cvar, key, hash;
  if (mem_read_u64(m, interp + (uint64_t)l->is_modules, &modules) || !modules ||
      !type_flags(m, l, 0, modules, TPFLAGS_DICT_SUBCLASS))
    return -1;
  int rc = module_global(m, l, modules, "opentelemetry.context", "_RUNTIME_CONTEXT", &rt);
  if (rc) return rc;
  /* Only the contextvars runtime context (the default and the only one OpenTelemetry ships) keeps a ContextVar. */
  if ((rc = tn_attr_get(m, l, rt, "_current_context", 0, &cvar))) return rc;
  uint64_t cvar_type = 0;
  if (!type_named(m, l, cvar, "ContextVar", &cvar_type)) return -1;
  if ((rc = module_global(m, l, modules, "opentelemetry.trace.propagation", "_SPAN_KEY", &key))) return rc;
  if (mem_read_u64(m, cvar + (uint64_t)l->cvar_hash, &hash)) return -1;
  int32_t h = (int32_t)(uint32_t)hash ^ (int32_t)(uint32_t)(hash >> 32);
  c->cvar = cvar;
  c->cvar_type = cvar_type;
  c->cvar_hash = (uint32_t)(h == -1 ? -2 : h);
  c->span_key = key;
  return 0;
}

/* The value keyed by the ContextVar in the HAMT at hamt. 0 found, 1 absent, -1 unreadable. */
static int hamt_find(memsrc *m, const py_layout *l, otel_cache *c, uint64_t hamt, uint64_t *val) {
  uint8_t h[LAYOUT_OBJ_MAX]; /* layout_check: ob_type, hamt_root, var_size and hamt_bitmap end within this */
  if (head(m, hamt, h, max2(l->ob_type, l->hamt_root) + 8) ||
      !pytype_named(m, l, ld_u64(h + l->ob_type), "hamt", OTEL_TYPE, &c->t_hamt))
    return -1;
  uint64_t node = ld_u64(h + l->hamt_root);
  int64_t need = max2(max2(l->ob_type, l->var_size) + 8, l->hamt_bitmap + 4);
  for (int level = 0, shift = 0; level < HAMT_MAX_LEVELS && node; level++, shift += 5) {
    uint32_t idx = (c->cvar_hash >> shift) & 0x1f;
    if (head(m, node, h, need)) return -1;
    uint64_t type = ld_u64(h + l->ob_type), pair[2];
    if (pytype_named(m, l, type, "hamt_bitmap_node", OTEL_TYPE, &c->t_bitmap)) {
      uint32_t bitmap = ld_u32(h + l->hamt_bitmap), bit = 1u << idx;
      int64_t size = (int64_t)ld_u64(h + l->var_size);
      if (!(bitmap & bit)) return 1;
      int64_t at = 2 * __builtin_popcount(bitmap & (bit - 1));
      /* ob_size counts key and value slots: at most two per bit, and the pair must be inside it. */
      if (size < 2 || size > 64 || at + 2 > size) return -1;
      if (mem_read(m, node + (uint64_t)l->hamt_entries + (uint64_t)at * 8, pair, sizeof pair)) return -1;
      if (!pair[0]) { node = pair[1]; continue; } /* a child node */
      if (pair[0] != c->cvar) return 1;          /* ContextVars compare by identity */
      *val = pair[1];
      return pair[1] ? 0 : -1;
    }
    if (pytype_named(m, l, type, "hamt_array_node", OTEL_TYPE, &c->t_array)) {
      if (mem_read_u64(m, node + (uint64_t)l->hamt_nodes + (uint64_t)idx * 8, &node)) return -1;
      continue;
    }
    if (pytype_named(m, l, type, "hamt_collision_node", OTEL_TYPE, &c->t_collision)) {
      /* Shaped as a bitmap node (CPython 3.7-3.15): the shared hash where the bitmap is, then the pairs. */
      uint64_t kv[2 * OTEL_MAX_COLLISION];
      int64_t size = (int64_t)ld_u64(h + l->var_size);
      if (ld_u32(h + l->hamt_bitmap) != c->cvar_hash) return 1;
      if (size < 4 || size > 2 * OTEL_MAX_COLLISION || size % 2) return -1;
      if (mem_read(m, node + (uint64_t)l->hamt_entries, kv, (size_t)size * 8)) return -1;
      for (int64_t i = 0; i < size; i += 2)
        if (kv[i] == c->cvar) return (*val = kv[i + 1]) ? 0 : -1;
      return 1;
    }
    return 1; /* not a node at all */
  }
  return node ? -1 : 1;
}

/* otel_int128 with the type's flags remembered in c (may be NULL). */
static int int128(memsrc *m, const py_layout *l, otel_cache *c, uint64_t obj, uint64_t *hi, uint64_t *lo) {
  uint8_t b[LAYOUT_OBJ_MAX]; /* layout_check: ob_type, long_size and five digits end within this */
  int64_t need = max2(max2(l->long_digit + 20, l->long_size + 8), l->ob_type + 8);
  if (l->int_kind == INT_PY2 || head(m, obj, b, need) || !flags_at(m, l, c, ld_u64(b + l->ob_type), TPFLAGS_LONG_SUBCLASS))
    return -1;
  int64_t ndigits;
  if (l->int_kind == INT_LONG_TAG) {
    uint64_t tag = ld_u64(b + l->long_size);
    if ((tag & 3) == 2) return -1;
    ndigits = (int64_t)(tag >> 3);
  } else {
    ndigits = (int64_t)ld_u64(b + l->long_size);
  }
  if (ndigits < 0 || ndigits > 5) return -1;
  unsigned __int128 v = 0;
  for (int64_t i = ndigits - 1; i >= 0; i--) {
    uint32_t d = ld_u32(b + l->long_digit + 4 * i) & 0x3fffffff;
    if (i == 4 && d > 0xff) return -1; /* more than 128 bits */
    v = (v << 30) | d;
  }
  *hi = (uint64_t)(v >> 64);
  *lo = (uint64_t)v;
  return 0;
}

int otel_int128(memsrc *m, const py_layout *l, uint64_t obj, uint64_t *hi, uint64_t *lo) {
  return int128(m, l, 0, obj, hi, lo);
}

int otel_thread(memsrc *m, const py_layout *l, otel_cache *c, uint64_t tstate, otel_ids *out) {
  if (l->ts_context < 0 || !c->cvar) return 1;
  uint8_t h[LAYOUT_OBJ_MAX]; /* layout_check: ob_type, ctx_vars and var_size end within this */
  uint64_t ctx, context, span, sc, items[2], type;
  if (mem_read_u64(m, tstate + (uint64_t)l->ts_context, &ctx)) return -1;
  if (!ctx) return 1; /* the thread never touched a context variable */
  /* The module globals are alive as long as the module: a ContextVar of another type means it went away. */
  if (mem_read_u64(m, c->cvar + (uint64_t)l->ob_type, &type) || type != c->cvar_type) {
    c->cvar = 0;
    return 1;
  }
  if (head(m, ctx, h, max2(l->ob_type, l->ctx_vars) + 8) ||
      !pytype_named(m, l, ld_u64(h + l->ob_type), "Context", OTEL_TYPE, &c->t_context) || !ld_u64(h + l->ctx_vars))
    return -1;
  int rc = hamt_find(m, l, c, ld_u64(h + l->ctx_vars), &context);
  if (rc) return rc;
  /* OpenTelemetry's Context is a dict subclass; the current span is keyed by the _SPAN_KEY object itself. */
  if (!type_flags(m, l, c, context, TPFLAGS_DICT_SUBCLASS)) return -1;
  uint64_t key = c->span_key;
  if ((rc = tn_dict_get_n(m, l, context, "", &key, &span, OTEL_MAX_CONTEXT))) return rc;
  if ((rc = tn_attr_get(m, l, span, "_context", &c->attr_key, &sc))) return rc;
  /* The span's SpanContext: a tuple subclass (trace_id, span_id, ...). */
  if (head(m, sc, h, max2(l->ob_type, l->var_size) + 8) ||
      !flags_at(m, l, c, ld_u64(h + l->ob_type), TPFLAGS_TUPLE_SUBCLASS))
    return -1;
  uint64_t size = ld_u64(h + l->var_size), span_hi;
  if (size < 2 || size > 64 || mem_read(m, sc + (uint64_t)l->tuple_item, items, sizeof items)) return -1;
  if (int128(m, l, c, items[0], &out->trace_hi, &out->trace_lo) || int128(m, l, c, items[1], &span_hi, &out->span) ||
      span_hi)
    return -1;
  /* INVALID_SPAN (no span started) carries zero ids. */
  return (out->trace_hi | out->trace_lo) && out->span ? 0 : 1;
}
