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

/* Longest table line_map_decode accepts (PP_EBOUNDS beyond); the number of
 * ranges it builds is bounded by len, so memory is bounded by this too. */
#define LINE_TABLE_MAX_BYTES ((size_t)1 << 24)

/* Decode table[0..len) of the given kind into *out (caller frees with
 * line_map_free). firstlineno is co_firstlineno.
 *
 * *out is always left valid, whatever the result (safe to look up and to
 * free): 0 means the whole table decoded; PP_ECORRUPT means the table is
 * malformed and *out holds the ranges of its well-formed prefix (possibly
 * none, in which case every lookup gives firstlineno); PP_EINVAL (bad kind or
 * arguments), PP_EBOUNDS (len > LINE_TABLE_MAX_BYTES) and PP_ENOMEM leave an
 * empty map or, for PP_ENOMEM, the prefix decoded so far.
 *
 * Adjacent ranges with the same line are merged, and ranges are contiguous
 * from offset 0. For PY_LINETABLE_LNOTAB, which does not record the code size,
 * the last range ends at UINT32_MAX (CPython applies the last line to every
 * later offset). For the other kinds the map ends where the table ends. */
int line_map_decode(enum py_linetable_kind kind, const uint8_t *table, size_t len,
                    int32_t firstlineno, struct line_map *out);
/* Line for a byte offset into the code (instruction index * 2 on 3.10+);
 * negative offsets (a frame that has not started) give firstlineno; an offset
 * in no range or in a range with no line gives the nearest preceding line (the
 * line of the closest range below it that has one), or firstlineno when there
 * is none. Returns -1 only for a NULL map or a firstlineno of -1. */
int32_t line_map_lookup(const struct line_map *m, int64_t offset);
/* The range containing offset, or NULL when offset is negative or in no
 * range. Unlike line_map_lookup this reports line -1 for code without a line. */
const struct line_range *line_map_find(const struct line_map *m, int64_t offset);
void line_map_free(struct line_map *m);

#endif
