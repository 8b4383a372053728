#include "pyprof/python/code_cache.h"

#include <stdlib.h>
#include <string.h>

#include "pyprof/common/error.h"
#include "pyprof/python/pystr.h"

#define CODE_BUF_MAX 4096

struct code_cache {
  struct code_info *slots; /* owned; open addressing, cap entries, addr 0 = empty */
  size_t cap;              /* power of two, >= 2 * max */
  size_t max, used;
  uint64_t misses, stale, epoch;
};

static size_t hash_addr(uint64_t a) {
  a ^= a >> 33;
  a *= 0xff51afd7ed558ccdULL;
  a ^= a >> 33;
  return (size_t)a;
}

int code_cache_new(size_t max_entries, struct code_cache **out) {
  struct code_cache *c = calloc(1, sizeof *c);
  if (!c)
    return PP_ENOMEM;
  size_t cap = 64;
  while (cap < max_entries * 2)
    cap *= 2;
  c->slots = calloc(cap, sizeof *c->slots);
  if (!c->slots) {
    free(c);
    return PP_ENOMEM;
  }
  c->cap = cap;
  c->max = max_entries;
  *out = c;
  return 0;
}

static void entry_clear(struct code_info *e) {
  free(e->name);
  free(e->file);
  line_map_free(&e->lines);
  memset(e, 0, sizeof *e);
}

static void cache_clear(struct code_cache *c) {
  c->epoch++;
  for (size_t i = 0; i < c->cap; i++) {
    if (c->slots[i].addr)
      entry_clear(&c->slots[i]);
  }
  c->used = 0;
}

void code_cache_free(struct code_cache *c) {
  if (!c)
    return;
  cache_clear(c);
  free(c->slots);
  free(c);
}

size_t code_cache_size(const struct code_cache *c) { return c->used; }
uint64_t code_cache_stale(const struct code_cache *c) { return c->stale; }
uint64_t code_cache_epoch(const struct code_cache *c) { return c->epoch; }

void code_fp_span(const struct py_layout *L, int32_t *off, size_t *len) {
  const int32_t f[4] = {L->code_filename, L->code_name, L->code_qualname, L->code_linetable};
  int32_t lo = INT32_MAX, hi = -1;
  for (int i = 0; i < 4; i++) {
    if (f[i] < 0)
      continue;
    if (f[i] < lo)
      lo = f[i];
    if (f[i] + 8 > hi)
      hi = f[i] + 8;
  }
  if (hi < 0 || hi - lo > CODE_FP_MAX) {
    /* Pointers too far apart for one span: the name pointer alone. */
    lo = L->code_name;
    hi = L->code_name + 8;
  }
  *off = lo;
  *len = (size_t)(hi - lo);
}

uint64_t code_cache_misses(const struct code_cache *c) { return c->misses; }

/* Read and decode one code object into e (all fields owned by e on success). */
static int code_load(const struct mem_reader *r, const struct py_layout *L, uint64_t code_type,
                     uint64_t addr, struct code_info *e) {
  unsigned char buf[CODE_BUF_MAX];
  uint8_t *table = NULL; /* owned: raw line table bytes */
  size_t tlen = 0;
  int rc;
  size_t len = (size_t)L->code_size;
  if (L->code_size <= 0 || len > sizeof buf)
    return PP_ELAYOUT;
  rc = mem_read(r, addr, buf, len);
  if (rc < 0)
    return rc;
  uint64_t type, fname, name, tab;
  int32_t first;
  buf_u64(buf, len, L->ob_type, &type);
  if (code_type && type != code_type)
    return PP_ELAYOUT;
  buf_u64(buf, len, L->code_filename, &fname);
  buf_u64(buf, len, L->code_qualname >= 0 ? L->code_qualname : L->code_name, &name);
  buf_u64(buf, len, L->code_linetable, &tab);
  buf_i32(buf, len, L->code_firstlineno, &first);
  int32_t fp_off;
  size_t fp_len;
  code_fp_span(L, &fp_off, &fp_len);
  if (fp_off < 0 || (size_t)fp_off + fp_len > len)
    return PP_ELAYOUT;
  memcpy(e->fp, buf + fp_off, fp_len);
  e->addr = addr;
  e->firstline = first;
  rc = pystr_read(r, L, fname, &e->file);
  if (rc < 0)
    goto out;
  rc = pystr_read(r, L, name, &e->name);
  if (rc < 0)
    goto out;
  rc = pybytes_read(r, L, tab, &table, &tlen);
  if (rc < 0)
    goto out;
  rc = line_map_decode(L->linetable_kind, table, tlen, first, &e->lines);
  if (rc < 0) {
    /* A table we cannot decode still leaves a usable function name. Free
     * what the decoder left (PP_ECORRUPT keeps the ranges of the well-formed
     * prefix: zeroing the map without freeing them leaked them, found by
     * fuzz_frame_walk, fuzz/corpus/frame_walk/regress-linetable-leak). */
    line_map_free(&e->lines);
    e->lines.firstlineno = first;
    rc = 0;
  }
out:
  free(table);
  if (rc < 0)
    entry_clear(e);
  return rc;
}

static size_t slot_of(const struct code_cache *c, uint64_t addr, int *found) {
  size_t mask = c->cap - 1;
  size_t i = hash_addr(addr) & mask;
  while (c->slots[i].addr) {
    if (c->slots[i].addr == addr) {
      *found = 1;
      return i;
    }
    i = (i + 1) & mask;
  }
  *found = 0;
  return i;
}

/* Remove slot i, shifting later entries of the probe run back (linear
 * probing needs no tombstones this way). */
static void slot_remove(struct code_cache *c, size_t i) {
  size_t mask = c->cap - 1;
  entry_clear(&c->slots[i]);
  c->used--;
  size_t j = i;
  for (;;) {
    j = (j + 1) & mask;
    if (!c->slots[j].addr)
      return;
    size_t home = hash_addr(c->slots[j].addr) & mask;
    /* Move j back to i when its home is not in the cyclic range (i, j]. */
    int in_range = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (!in_range) {
      c->slots[i] = c->slots[j];
      memset(&c->slots[j], 0, sizeof c->slots[j]);
      i = j;
    }
  }
}

struct code_info *code_cache_peek(struct code_cache *c, uint64_t addr) {
  int found;
  size_t i = slot_of(c, addr, &found);
  return found ? &c->slots[i] : NULL;
}

int code_cache_check(struct code_cache *c, const struct py_layout *L, uint64_t addr,
                     const void *fp) {
  int found;
  int32_t off;
  size_t len;
  size_t i = slot_of(c, addr, &found);
  if (!found)
    return 1;
  code_fp_span(L, &off, &len);
  if (memcmp(c->slots[i].fp, fp, len) == 0)
    return 1;
  c->stale++;
  c->epoch++;
  slot_remove(c, i);
  return 0;
}

int code_cache_get(struct code_cache *c, const struct mem_reader *r, const struct py_layout *L,
                   uint64_t code_type, uint64_t addr, struct code_info **out) {
  int found;
  size_t i = slot_of(c, addr, &found);
  if (found) {
    *out = &c->slots[i];
    return 0;
  }
  c->misses++;
  struct code_info tmp;
  memset(&tmp, 0, sizeof tmp);
  int rc = code_load(r, L, code_type, addr, &tmp);
  if (rc < 0)
    return rc;
  if (c->used >= c->max) {
    cache_clear(c);
    i = slot_of(c, addr, &found);
  }
  c->slots[i] = tmp;
  c->used++;
  *out = &c->slots[i];
  return 0;
}
