/* Line-number decoders for every CPython line-table format. Pure functions over bytes. */
#ifndef GAUGE_LINETABLE_H
#define GAUGE_LINETABLE_H
#include <stddef.h>
#include <stdint.h>

/*
 * Line executing at byte offset `addr` into the bytecode (-1 = not started).
 * kind: enum linetable_kind. Returns the line, firstlineno when addr < 0,
 * or -1 when the instruction has no line / the table is malformed.
 */
int linetable_line(int kind, const uint8_t *table, size_t len, int firstlineno, int64_t addr);
#endif
