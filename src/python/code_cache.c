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
  uint64_t misses;
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
    /* A table we cannot decode still leaves a usable function name. */
    memset(&e->lines, 0, sizeof e->lines);
    e->lines.firstlineno = first;
    rc = 0;
  }
out:
  free(table);
  if (rc < 0)
    entry_clear(e);
  return rc;
}

int code_cache_get(struct code_cache *c, const struct mem_reader *r, const struct py_layout *L,
                   uint64_t code_type, uint64_t addr, struct code_info **out) {
  size_t mask = c->cap - 1;
  size_t i = hash_addr(addr) & mask;
  while (c->slots[i].addr) {
    if (c->slots[i].addr == addr) {
      *out = &c->slots[i];
      return 0;
    }
    i = (i + 1) & mask;
  }
  c->misses++;
  struct code_info tmp;
  memset(&tmp, 0, sizeof tmp);
  int rc = code_load(r, L, code_type, addr, &tmp);
  if (rc < 0)
    return rc;
  if (c->used >= c->max) {
    cache_clear(c);
    i = hash_addr(addr) & mask;
  }
  c->slots[i] = tmp;
  c->used++;
  *out = &c->slots[i];
  return 0;
}
