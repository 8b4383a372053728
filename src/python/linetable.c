/* Line-table decoders: CPython 3.8-3.9 co_lnotab, 3.10 co_linetable and the
 * 3.11+ location table, each turned into a sorted array of byte ranges.
 *
 * The table bytes are untrusted (they come from target memory): every read is
 * bounded by len, the range array never grows past a bound derived from len,
 * offsets and lines are computed in 64 bits and checked before they are
 * stored, and every loop advances through the table. */
#include "pyprof/python/linetable.h"

#include <stdlib.h>

#include "pyprof/common/error.h"

/* Line of a range whose code has no source line. */
#define NO_LINE (-1)

/* Growable array of ranges with a hard cap on its size. */
struct range_builder {
  struct line_range *v; /* owned: handed over to the line_map at the end */
  uint32_t n;
  uint32_t cap;
  uint32_t max; /* most ranges the table can describe */
};

static int builder_grow(struct range_builder *b) {
  uint32_t ncap = b->cap ? b->cap * 2 : 16;
  if (ncap > b->max || ncap < b->cap) {
    ncap = b->max;
  }
  if (ncap <= b->cap) {
    return PP_EBOUNDS;
  }
  struct line_range *nv = realloc(b->v, (size_t)ncap * sizeof(*nv)); /* owned: becomes b->v */
  if (!nv) {
    return PP_ENOMEM;
  }
  b->v = nv;
  b->cap = ncap;
  return 0;
}

/* Append [start, end) with line (NO_LINE or >= 0). Empty ranges are dropped
 * and a range continuing the previous one on the same line extends it. */
static int builder_push(struct range_builder *b, uint64_t start, uint64_t end, int64_t line) {
  if (end <= start) {
    return 0;
  }
  if (end > UINT32_MAX) {
    return PP_ECORRUPT;
  }
  if (line != NO_LINE && (line < 0 || line > INT32_MAX)) {
    return PP_ECORRUPT;
  }
  if (b->n > 0) {
    struct line_range *last = &b->v[b->n - 1];
    if (last->end == start && last->line == line) {
      last->end = (uint32_t)end;
      return 0;
    }
  }
  if (b->n == b->cap) {
    int rc = builder_grow(b);
    if (rc < 0) {
      return rc;
    }
  }
  b->v[b->n++] = (struct line_range){(uint32_t)start, (uint32_t)end, (int32_t)line};
  return 0;
}

/* 3.8-3.9 co_lnotab: (unsigned byte increment, signed line increment) pairs.
 * As in PyCode_Addr2Line, the line increment of a pair applies from the
 * address reached after its byte increment, so each non-zero byte increment
 * closes a range on the line accumulated so far. */
static int decode_lnotab(struct range_builder *b, const uint8_t *t, size_t len,
                         int32_t firstlineno) {
  uint64_t addr = 0;
  int64_t line = firstlineno;
  for (size_t i = 0; i + 1 < len; i += 2) {
    uint8_t incr = t[i];
    if (incr) {
      int rc = builder_push(b, addr, addr + incr, line);
      if (rc < 0) {
        return rc;
      }
      addr += incr;
    }
    line += (int8_t)t[i + 1];
  }
  /* The last line covers every later address. */
  int rc = builder_push(b, addr, UINT32_MAX, line);
  if (rc < 0) {
    return rc;
  }
  return (len % 2) ? PP_ECORRUPT : 0;
}

/* 3.10 co_linetable: (unsigned byte delta, signed line delta) pairs, each
 * describing the range that follows; a line delta of -128 means the range has
 * no line and leaves the running line unchanged. */
static int decode_310(struct range_builder *b, const uint8_t *t, size_t len,
                      int32_t firstlineno) {
  uint64_t addr = 0;
  int64_t line = firstlineno;
  for (size_t i = 0; i + 1 < len; i += 2) {
    uint8_t delta = t[i];
    int8_t ldelta = (int8_t)t[i + 1];
    int64_t range_line = NO_LINE;
    if (ldelta != -128) {
      line += ldelta;
      range_line = line;
    }
    int rc = builder_push(b, addr, addr + delta, range_line);
    if (rc < 0) {
      return rc;
    }
    addr += delta;
  }
  return (len % 2) ? PP_ECORRUPT : 0;
}

/* Location-table entry codes (Objects/locations.md). */
enum {
  LOC_SHORT_MAX = 9,    /* 0-9: short form, same line, one column byte */
  LOC_ONE_LINE0 = 10,   /* 10-12: one-line form, line delta code-10, two column bytes */
  LOC_ONE_LINE2 = 12,
  LOC_NO_COLUMNS = 13,  /* signed varint line delta */
  LOC_LONG = 14,        /* svarint line delta, varint end-line delta, col+1, endcol+1 */
  LOC_NONE = 15,        /* no location */
};

/* Most 6-bit chunks accepted in a varint (CPython's values fit 32 bits). */
#define VARINT_MAX_CHUNKS 6

/* Read a varint from t[*pos..end): 6-bit chunks, least significant first,
 * 0x40 meaning another chunk follows. */
static int read_varint(const uint8_t *t, size_t *pos, size_t end, uint64_t *val) {
  uint64_t v = 0;
  for (unsigned i = 0; i < VARINT_MAX_CHUNKS; i++) {
    if (*pos >= end) {
      return PP_ECORRUPT;
    }
    uint8_t byte = t[(*pos)++];
    v |= (uint64_t)(byte & 63) << (6 * i);
    if (!(byte & 64)) {
      *val = v;
      return 0;
    }
  }
  return PP_ECORRUPT;
}

/* Signed varint: the low bit of the unsigned value is the sign. */
static int read_svarint(const uint8_t *t, size_t *pos, size_t end, int64_t *val) {
  uint64_t u = 0;
  int rc = read_varint(t, pos, end, &u);
  if (rc < 0) {
    return rc;
  }
  *val = (u & 1) ? -(int64_t)(u >> 1) : (int64_t)(u >> 1);
  return 0;
}

/* 3.11+ location table. An entry is a byte with the high bit set followed by
 * its payload, bytes with the high bit clear; the payload must have exactly
 * the shape its code calls for. Offsets count 2-byte code units. */
static int decode_locations(struct range_builder *b, const uint8_t *t, size_t len,
                            int32_t firstlineno) {
  uint64_t addr = 0;
  int64_t line = firstlineno;
  size_t pos = 0;
  while (pos < len) {
    uint8_t head = t[pos];
    if (!(head & 0x80)) {
      return PP_ECORRUPT;
    }
    unsigned code = (head >> 3) & 15;
    uint64_t nbytes = ((uint64_t)(head & 7) + 1) * 2;
    size_t p = pos + 1;
    size_t end = p;
    while (end < len && !(t[end] & 0x80)) {
      end++;
    }

    int64_t range_line = NO_LINE;
    int rc = 0;
    if (code == LOC_NONE) {
      /* no payload, running line unchanged */
    } else if (code == LOC_LONG || code == LOC_NO_COLUMNS) {
      int64_t delta = 0;
      rc = read_svarint(t, &p, end, &delta);
      for (int i = 0; rc == 0 && code == LOC_LONG && i < 3; i++) {
        uint64_t ignored = 0; /* end-line delta, column + 1, end column + 1 */
        rc = read_varint(t, &p, end, &ignored);
      }
      if (rc < 0) {
        return rc;
      }
      line += delta;
      range_line = line;
    } else if (code >= LOC_ONE_LINE0 && code <= LOC_ONE_LINE2) {
      p += 2; /* start column, end column */
      line += code - LOC_ONE_LINE0;
      range_line = line;
    } else {
      p += 1; /* packed column and width; code <= LOC_SHORT_MAX */
      range_line = line;
    }
    if (p != end) {
      return PP_ECORRUPT;
    }
    /* Lines are checked where they are stored; bound the running value so a
     * long run of large deltas cannot overflow it before then. */
    if (line < INT32_MIN || line > INT32_MAX) {
      return PP_ECORRUPT;
    }
    rc = builder_push(b, addr, addr + nbytes, range_line);
    if (rc < 0) {
      return rc;
    }
    addr += nbytes;
    pos = end;
  }
  return 0;
}

int line_map_decode(enum py_linetable_kind kind, const uint8_t *table, size_t len,
                    int32_t firstlineno, struct line_map *out) {
  if (!out) {
    return PP_EINVAL;
  }
  *out = (struct line_map){.ranges = NULL, .n = 0, .firstlineno = firstlineno};
  if (!table && len > 0) {
    return PP_EINVAL;
  }
  if (len > LINE_TABLE_MAX_BYTES) {
    return PP_EBOUNDS;
  }

  /* Each pair (or location entry) yields at most one range; LNOTAB adds the
   * trailing open-ended one. */
  struct range_builder b = {.v = NULL, .n = 0, .cap = 0, .max = 0};
  int rc;
  switch (kind) {
  case PY_LINETABLE_LNOTAB:
    b.max = (uint32_t)(len / 2 + 1);
    rc = decode_lnotab(&b, table, len, firstlineno);
    break;
  case PY_LINETABLE_310:
    b.max = (uint32_t)(len / 2);
    rc = decode_310(&b, table, len, firstlineno);
    break;
  case PY_LINETABLE_LOCATIONS:
    b.max = (uint32_t)len;
    rc = decode_locations(&b, table, len, firstlineno);
    break;
  default:
    return PP_EINVAL;
  }

  /* Give back the unused tail; keeping the larger block is fine if this fails. */
  if (b.n > 0 && b.n < b.cap) {
    struct line_range *shrunk = realloc(b.v, (size_t)b.n * sizeof(*shrunk)); /* owned: becomes b.v */
    if (shrunk) {
      b.v = shrunk;
    }
  }
  if (b.n == 0) {
    free(b.v);
    b.v = NULL;
  }
  out->ranges = b.v;
  out->n = b.n;
  return rc;
}

/* Index of the last range starting at or before offset (>= 0), or -1. */
static int64_t last_range_at_or_before(const struct line_map *m, uint64_t offset) {
  uint32_t lo = 0;
  uint32_t hi = m->n;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (m->ranges[mid].start <= offset) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return (int64_t)lo - 1;
}

int32_t line_map_lookup(const struct line_map *m, int64_t offset) {
  if (!m) {
    return NO_LINE;
  }
  if (offset < 0 || !m->ranges) {
    return m->firstlineno;
  }
  /* Ranges are contiguous and merged, so a range without a line is followed
   * and preceded by ones with a line: this walk takes at most one step back
   * for decoded maps (and stays correct for any sorted array). */
  for (int64_t i = last_range_at_or_before(m, (uint64_t)offset); i >= 0; i--) {
    if (m->ranges[i].line != NO_LINE) {
      return m->ranges[i].line;
    }
  }
  return m->firstlineno;
}

const struct line_range *line_map_find(const struct line_map *m, int64_t offset) {
  if (!m || !m->ranges || offset < 0) {
    return NULL;
  }
  int64_t i = last_range_at_or_before(m, (uint64_t)offset);
  if (i < 0 || (uint64_t)offset >= m->ranges[i].end) {
    return NULL;
  }
  return &m->ranges[i];
}

void line_map_free(struct line_map *m) {
  if (!m) {
    return;
  }
  free(m->ranges);
  m->ranges = NULL;
  m->n = 0;
}
