/* Read Python str (and 2.7 str / bytes) objects out of the target as UTF-8. */
#ifndef GAUGE_PYSTRING_H
#define GAUGE_PYSTRING_H
#include "layouts.h"
#include "memsrc.h"

/* Longest string gauge accepts; longer lengths mean garbage or a torn read. */
#define PYSTR_MAX_CHARS 4096

/*
 * Decode the str at addr into out (NUL-terminated UTF-8), with the layout's
 * string offsets. Returns bytes written (without NUL) or -1 on a failed read
 * or an implausible header.
 */
int pystr_read(memsrc *m, const py_layout *l, uint64_t addr, char *out, size_t outlen);

/* pytype_named: also a name ending in ".want" (3.14 names contextvars types "_contextvars.X") */
#define PYTYPE_DOTTED 1
/* pytype_named: a type other than the one remembered is checked by name too (and remembered when it matches) */
#define PYTYPE_RECHECK 2

/*
 * 1 when the type object at type is named want (its tp_name). *seen keeps
 * the type once matched: static types never move, so without
 * PYTYPE_RECHECK later calls compare addresses only.
 */
int pytype_named(memsrc *m, const py_layout *l, uint64_t type, const char *want, int flags, uint64_t *seen);

/* Read a bytes object (2.7: str) into a fresh malloc'd buffer; caps at maxlen. */
int pybytes_read(memsrc *m, const py_layout *l, uint64_t addr, uint8_t **out, size_t *outlen, size_t maxlen);
#endif
