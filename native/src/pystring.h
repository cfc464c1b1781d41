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

/* Read a bytes object (2.7: str) into a fresh malloc'd buffer; caps at maxlen. */
int pybytes_read(memsrc *m, const py_layout *l, uint64_t addr, uint8_t **out, size_t *outlen, size_t maxlen);
#endif
