#include "linetable.h"
#include "layouts.h"

/* co_lnotab (<=3.9): (address delta, line delta) byte pairs; address in bytes. */
static int lnotab_line(const uint8_t *t, size_t len, int first, int64_t addr, int signed_lines) {
  int64_t line = first, a = 0;
  for (size_t i = 0; i + 1 < len; i += 2) {
    a += t[i];
    if (a > addr) break;
    line += signed_lines ? (int8_t)t[i + 1] : t[i + 1];
  }
  return (int)line;
}

/* co_linetable (3.10): (bytecode length, line delta) pairs; -128 = no line. */
static int linetable310_line(const uint8_t *t, size_t len, int first, int64_t addr) {
  int64_t line = first, end = 0;
  for (size_t i = 0; i + 1 < len; i += 2) {
    int64_t start = end;
    end += t[i];
    int8_t ld = (int8_t)t[i + 1];
    if (ld != -128) line += ld;
    if (start <= addr && addr < end) return ld == -128 ? -1 : (int)line;
  }
  return -1;
}

/* 3.11+ varints: 6-bit groups, little end first, 0x40 = more. */
static int read_varint(const uint8_t *t, size_t len, size_t *i, uint64_t *out) {
  uint64_t v = 0;
  int shift = 0;
  while (*i < len) {
    uint8_t b = t[(*i)++];
    v |= (uint64_t)(b & 0x3f) << shift;
    if (!(b & 0x40)) { *out = v; return 0; }
    shift += 6;
    if (shift > 60) return -1;
  }
  return -1;
}

static int read_svarint(const uint8_t *t, size_t len, size_t *i, int64_t *out) {
  uint64_t v;
  if (read_varint(t, len, i, &v)) return -1;
  *out = (v & 1) ? -(int64_t)(v >> 1) : (int64_t)(v >> 1);
  return 0;
}

/* 3.11+ location table: entries of (code, length) with varying payloads. */
static int locations_line(const uint8_t *t, size_t len, int first, int64_t addr) {
  int64_t line = first, end = 0;
  size_t i = 0;
  while (i < len) {
    uint8_t h = t[i++];
    if (!(h & 0x80)) return -1; /* not an entry start: malformed */
    int code = (h >> 3) & 15;
    int64_t units = (h & 7) + 1;
    int64_t delta = 0;
    int has_line = 1;
    if (code <= 9) {            /* short form: one column byte */
      i++;
    } else if (code <= 12) {    /* one-line form: two column bytes */
      delta = code - 10;
      i += 2;
    } else if (code == 13) {    /* no columns */
      if (read_svarint(t, len, &i, &delta)) return -1;
    } else if (code == 14) {    /* long form */
      uint64_t skip;
      if (read_svarint(t, len, &i, &delta)) return -1;
      for (int k = 0; k < 3; k++)
        if (read_varint(t, len, &i, &skip)) return -1;
    } else {                    /* 15: no location */
      has_line = 0;
    }
    if (delta > INT32_MAX || delta < -(int64_t)INT32_MAX) return -1;
    line += delta;
    if (line > INT32_MAX || line < -(int64_t)INT32_MAX) return -1;
    int64_t start = end;
    end += units * 2;
    if (start <= addr && addr < end) return has_line ? (int)line : -1;
  }
  return -1;
}

int linetable_line(int kind, const uint8_t *table, size_t len, int firstlineno, int64_t addr) {
  if (addr < 0) return firstlineno;
  switch (kind) {
  case LT_LNOTAB27: return lnotab_line(table, len, firstlineno, addr, 0);
  case LT_LNOTAB36: return lnotab_line(table, len, firstlineno, addr, 1);
  case LT_LINETABLE310: return linetable310_line(table, len, firstlineno, addr);
  case LT_LOCATIONS311: return locations_line(table, len, firstlineno, addr);
  default: return -1;
  }
}
