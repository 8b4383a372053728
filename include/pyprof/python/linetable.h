/* Line-number decoders for every CPython line-table encoding.
 *
 * A code object's table is decoded once (when the code object is first seen)
 * into a sorted array of [start, end) byte-offset ranges with their line, and
 * each sample then looks its instruction offset up by binary search. The input
 * bytes come from target memory: decoding is bounded by len and never reads
 * past it; malformed tables give PP_ECORRUPT or a best-effort partial map. */
#ifndef PYPROF_PYTHON_LINETABLE_H
#define PYPROF_PYTHON_LINETABLE_H

#include <stddef.h>
#include <stdint.h>

#include "pyprof/python/layout.h"

struct line_range {
  uint32_t start; /* byte offset of the first code byte (inclusive) */
  uint32_t end;   /* byte offset past the last code byte (exclusive) */
  int32_t line;   /* source line; -1 when the range has no line (artificial code) */
};

struct line_map {
  struct line_range *ranges; /* owned; sorted by start, non-overlapping */
  uint32_t n;
  int32_t firstlineno;
};

/* Decode table[0..len) of the given kind into *out (caller frees with
 * line_map_free). firstlineno is co_firstlineno. */
int line_map_decode(enum py_linetable_kind kind, const uint8_t *table, size_t len,
                    int32_t firstlineno, struct line_map *out);
/* Line for a byte offset into the code (instruction index * 2 on 3.10+);
 * negative offsets (a frame that has not started) give firstlineno; an offset
 * in no range or in a range with no line gives the nearest preceding line, or
 * firstlineno. */
int32_t line_map_lookup(const struct line_map *m, int64_t offset);
void line_map_free(struct line_map *m);

#endif
