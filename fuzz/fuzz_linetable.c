/* fuzz_linetable: the three line-table decoders and the lookups.
 *
 * Input: byte 0 picks the kind (& 3: 1 co_lnotab 3.8-3.9, 2 3.10
 * co_linetable, 3 3.11+ location table, 0 an invalid kind that must give
 * PP_EINVAL), bytes 1-4 co_firstlineno (little-endian int32), the rest is the
 * table. The decoded map must satisfy what linetable.h promises, whatever the
 * result: ranges non-empty, sorted, non-overlapping, contiguous from 0, no two
 * neighbours on the same line, lines >= -1, no more ranges than the table can
 * describe. Lookups at every range boundary and at offsets taken from the
 * table bytes are checked against a linear reference implementation of the
 * documented semantics. A violation aborts. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "pyprof/common/error.h"
#include "pyprof/python/linetable.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* line_map_lookup as documented, by a linear scan. */
static int32_t ref_lookup(const struct line_map *m, int64_t off) {
  if (off < 0 || !m->ranges)
    return m->firstlineno;
  int64_t best = -1;
  for (uint32_t i = 0; i < m->n; i++) {
    if ((uint64_t)m->ranges[i].start <= (uint64_t)off)
      best = i;
  }
  for (int64_t i = best; i >= 0; i--) {
    if (m->ranges[i].line != -1)
      return m->ranges[i].line;
  }
  return m->firstlineno;
}

static const struct line_range *ref_find(const struct line_map *m, int64_t off) {
  if (off < 0 || !m->ranges)
    return NULL;
  for (uint32_t i = 0; i < m->n; i++) {
    if ((uint64_t)off >= m->ranges[i].start && (uint64_t)off < m->ranges[i].end)
      return &m->ranges[i];
  }
  return NULL;
}

static void check_at(const struct line_map *m, int64_t off) {
  FUZZ_FAIL_IF(line_map_lookup(m, off) != ref_lookup(m, off));
  FUZZ_FAIL_IF(line_map_find(m, off) != ref_find(m, off));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 5)
    return 0;
  static const enum py_linetable_kind kinds[4] = {(enum py_linetable_kind)0, PY_LINETABLE_LNOTAB,
                                                  PY_LINETABLE_310, PY_LINETABLE_LOCATIONS};
  enum py_linetable_kind kind = kinds[data[0] & 3];
  int32_t first;
  uint32_t u = (uint32_t)data[1] | (uint32_t)data[2] << 8 | (uint32_t)data[3] << 16 |
               (uint32_t)data[4] << 24;
  memcpy(&first, &u, sizeof first);
  const uint8_t *t = data + 5;
  size_t len = size - 5;

  struct line_map m; /* owns m.ranges: freed below */
  memset(&m, 0xA5, sizeof m);
  int rc = line_map_decode(kind, len ? t : NULL, len, first, &m);
  if (kind == 0) {
    FUZZ_FAIL_IF(rc != PP_EINVAL || m.n != 0 || m.ranges);
  } else {
    FUZZ_FAIL_IF(rc != 0 && rc != PP_ECORRUPT && rc != PP_ENOMEM);
  }
  FUZZ_FAIL_IF(m.firstlineno != first || (m.n == 0) != (m.ranges == NULL));

  /* Shape of the map. */
  size_t max = kind == PY_LINETABLE_LNOTAB ? len / 2 + 1 : kind == PY_LINETABLE_310 ? len / 2 : len;
  FUZZ_FAIL_IF(m.n > max);
  for (uint32_t i = 0; i < m.n; i++) {
    const struct line_range *g = &m.ranges[i];
    FUZZ_FAIL_IF(g->start >= g->end || g->line < -1);
    FUZZ_FAIL_IF(i == 0 && g->start != 0);
    FUZZ_FAIL_IF(i > 0 && (m.ranges[i - 1].end != g->start || m.ranges[i - 1].line == g->line));
  }
  /* 3.10 and 3.11+ tables end where the table ends: nothing maps to UINT32_MAX. */
  FUZZ_FAIL_IF(m.n > 0 && kind == PY_LINETABLE_LNOTAB && rc == 0 &&
               m.ranges[m.n - 1].end != UINT32_MAX);

  /* Lookups: around every boundary (bounded), then offsets from the input. */
  for (uint32_t i = 0; i < m.n && i < 256; i++) {
    int64_t s = m.ranges[i].start, e = m.ranges[i].end;
    check_at(&m, s - 1);
    check_at(&m, s);
    check_at(&m, e - 1);
    check_at(&m, e);
  }
  check_at(&m, -1);
  check_at(&m, INT64_MIN);
  check_at(&m, INT64_MAX);
  check_at(&m, (int64_t)UINT32_MAX);
  for (size_t i = 0; i + 4 <= len && i < 64; i += 4) {
    int32_t off;
    memcpy(&off, t + i, sizeof off);
    check_at(&m, off);
    check_at(&m, off & 0xffff);
  }

  line_map_free(&m);
  FUZZ_FAIL_IF(m.ranges || m.n);
  line_map_free(&m); /* twice is fine */
  return 0;
}
