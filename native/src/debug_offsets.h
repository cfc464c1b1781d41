/*
 * CPython 3.13+ publishes its own struct offsets in _Py_DebugOffsets, the
 * first member of _PyRuntime. This turns that block into a layout row: the
 * block is untrusted input, checked field by field before anything uses it.
 */
#ifndef GAUGE_DEBUG_OFFSETS_H
#define GAUGE_DEBUG_OFFSETS_H
#include <stddef.h>
#include <stdint.h>
#include "layouts.h"

/* Bytes to read from the start of _PyRuntime to decode any known version (and one newer). */
#define DEBUG_OFFSETS_READ 1024

typedef struct {
  uint64_t version;      /* PY_VERSION_HEX the block states */
  int free_threaded;
  int schema_minor;      /* the field table used (13, 14, 15) */
  int untested;          /* newer than every table gauge has: read with the newest, warn */
  int prerelease;        /* alpha/beta/rc: layouts may differ from the release's */
  uint64_t runtime_size; /* runtime_state.size */
} debug_offsets_info;

/* The stated version of a block (0 when the cookie is missing). */
uint64_t debug_offsets_version(const uint8_t *block, size_t len);

/*
 * Decode the block (len bytes read from &_PyRuntime) into a layout row.
 * 0 on success; else -1 with a one-line reason in why (no cookie, unknown
 * version, a field outside its struct, a size too large for gauge's reads).
 */
int debug_offsets_layout(const uint8_t *block, size_t len, py_layout *out, debug_offsets_info *info, char *why,
                         size_t whylen);
#endif
