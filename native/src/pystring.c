#include "pystring.h"
#include "layouts.h"
#include <stdlib.h>
#include <string.h>

static size_t put_utf8(char *out, size_t pos, size_t cap, uint32_t c) {
  uint8_t b[4];
  size_t n;
  if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd; /* lone surrogates are not valid UTF-8 */
  if (c < 0x80) { b[0] = (uint8_t)c; n = 1; }
  else if (c < 0x800) { b[0] = 0xc0 | (c >> 6); b[1] = 0x80 | (c & 0x3f); n = 2; }
  else if (c < 0x10000) { b[0] = 0xe0 | (c >> 12); b[1] = 0x80 | ((c >> 6) & 0x3f); b[2] = 0x80 | (c & 0x3f); n = 3; }
  else if (c < 0x110000) {
    b[0] = 0xf0 | (c >> 18); b[1] = 0x80 | ((c >> 12) & 0x3f); b[2] = 0x80 | ((c >> 6) & 0x3f); b[3] = 0x80 | (c & 0x3f); n = 4;
  } else { return put_utf8(out, pos, cap, 0xfffd); }
  if (pos + n >= cap) return pos; /* no room: stop growing, caller sees truncation */
  memcpy(out + pos, b, n);
  return pos + n;
}

int pystr_read(memsrc *m, const py_layout *l, uint64_t addr, char *out, size_t outlen) {
  if (!outlen) return -1;
  out[0] = 0;
  uint8_t hdr[LAYOUT_OBJ_MAX]; /* layout_check: str_length and str_state end within this */
  size_t hlen = (size_t)(l->str_length + 8 > l->str_state + 4 ? l->str_length + 8 : l->str_state + 4);
  if (!addr || mem_read(m, addr, hdr, hlen)) return -1;
  int64_t length = (int64_t)ld_u64(hdr + l->str_length);
  if (length < 0 || length > PYSTR_MAX_CHARS) return -1;

  if (l->string_kind == STR_PY2) { /* PyStringObject: bytes inline */
    size_t n = (size_t)length < outlen - 1 ? (size_t)length : outlen - 1;
    if (mem_read(m, addr + (uint64_t)l->str_ascii_data, out, n)) return -1;
    out[n] = 0;
    /* Python 2 identifiers and paths are bytes; keep valid ASCII, mark the rest. */
    for (size_t i = 0; i < n; i++)
      if ((uint8_t)out[i] >= 0x80) out[i] = '?';
    return (int)n;
  }

  uint32_t state = ld_u32(hdr + l->str_state) >> l->str_state_shift;
  int ckind = (state >> 2) & 7, compact = (state >> 5) & 1, ascii = (state >> 6) & 1;
  if (ckind != 1 && ckind != 2 && ckind != 4) return -1;
  if (ascii && ckind != 1) return -1;
  uint64_t data;
  /* Compact: characters follow the header. Legacy (pre-3.12 only): the data pointer sits where they would. */
  if (compact) data = addr + (uint64_t)(ascii ? l->str_ascii_data : l->str_compact_data);
  else if (mem_read_u64(m, addr + (uint64_t)l->str_compact_data, &data) || !data) return -1;

  size_t nbytes = (size_t)length * (size_t)ckind;
  uint8_t stackbuf[1024];
  uint8_t *raw = nbytes <= sizeof stackbuf ? stackbuf : malloc(nbytes ? nbytes : 1);
  if (!raw) return -1;
  if (mem_read(m, data, raw, nbytes)) { if (raw != stackbuf) free(raw); return -1; }
  size_t pos = 0;
  for (int64_t i = 0; i < length; i++) {
    uint32_t c = ckind == 1 ? raw[i] : ckind == 2 ? (uint32_t)raw[2 * i] | (uint32_t)raw[2 * i + 1] << 8 : ld_u32(raw + 4 * i);
    pos = put_utf8(out, pos, outlen, c);
  }
  out[pos] = 0;
  if (raw != stackbuf) free(raw);
  return (int)pos;
}

int pybytes_read(memsrc *m, const py_layout *l, uint64_t addr, uint8_t **out, size_t *outlen, size_t maxlen) {
  uint8_t hdr[LAYOUT_OBJ_MAX];
  *out = 0;
  *outlen = 0;
  if (!addr || mem_read(m, addr, hdr, (size_t)l->bytes_size + 8)) return -1;
  int64_t n = (int64_t)ld_u64(hdr + l->bytes_size);
  if (n < 0 || (uint64_t)n > maxlen) return -1;
  uint8_t *buf = malloc((size_t)n + 1);
  if (!buf) return -1;
  if (mem_read(m, addr + (uint64_t)l->bytes_data, buf, (size_t)n)) { free(buf); return -1; }
  *out = buf;
  *outlen = (size_t)n;
  return 0;
}

int pytype_named(memsrc *m, const py_layout *l, uint64_t type, const char *want, int flags, uint64_t *seen) {
  if (!type) return 0;
  if (*seen && (type == *seen || !(flags & PYTYPE_RECHECK))) return type == *seen;
  char buf[64];
  size_t n = strlen(want) + 1;
  uint64_t name;
  if (n > sizeof buf || mem_read_u64(m, type + (uint64_t)l->tp_name, &name) || !name) return 0;
  int match;
  if ((flags & PYTYPE_DOTTED) && mem_read(m, name, buf, sizeof buf - 1) == 0) {
    buf[sizeof buf - 1] = 0;
    const char *dot = strrchr(buf, '.');
    match = !strcmp(buf, want) || (dot && !strcmp(dot + 1, want));
  } else {
    /* just enough for an exact match (a short name may end near the end of its mapping) */
    match = mem_read(m, name, buf, n) == 0 && !memcmp(buf, want, n);
  }
  if (match) *seen = type;
  return match;
}
