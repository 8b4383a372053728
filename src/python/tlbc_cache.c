/* Thread-local bytecode bases (tlbc_cache.h): resolves, for a frame of a
 * free-threaded 3.14+ interpreter, the copy of its code object's bytecode it
 * runs (code->co_tlbc->entries[frame->tlbc_index]) and caches it per (code,
 * index). Knows CPython only through struct py_layout. Must never trust what
 * it reads: the array size, the index and the code size are bounded, and an
 * answer is used only if the frame's instruction pointer lies inside it. */
#include "pyprof/python/tlbc_cache.h"

#include <stdlib.h>
#include <string.h>

#include "pyprof/common/error.h"

#define TLBC_SLOTS 1024 /* direct-mapped; a miss costs two small reads */

struct tlbc_entry {
  uint64_t code;  /* key: remote code object (0: empty slot) */
  int32_t idx;    /* key: copy index */
  uint64_t base;  /* the copy's first code unit */
  uint64_t bytes; /* size of the bytecode (same for every copy) */
};

struct tlbc_cache {
  struct tlbc_entry slot[TLBC_SLOTS];
  uint64_t misses;
};

int tlbc_cache_new(struct tlbc_cache **out) {
  *out = calloc(1, sizeof **out);
  return *out ? 0 : PP_ENOMEM;
}

void tlbc_cache_free(struct tlbc_cache *c) { free(c); }

void tlbc_cache_clear(struct tlbc_cache *c) {
  if (c)
    memset(c->slot, 0, sizeof c->slot);
}

uint64_t tlbc_cache_misses(const struct tlbc_cache *c) { return c ? c->misses : 0; }

static size_t slot_of(uint64_t code, int32_t idx) {
  uint64_t h = (code >> 4) ^ ((uint64_t)(uint32_t)idx * 0x9e3779b97f4a7c15ULL);
  h ^= h >> 29;
  return (size_t)(h % TLBC_SLOTS);
}

static int holds(uint64_t base, uint64_t bytes, uint64_t instr) {
  return instr >= base && instr - base <= bytes;
}

/* Read the copy's base and the code's size from the target. */
static int tlbc_read(const struct mem_reader *r, const struct py_layout *L, uint64_t code,
                     int32_t idx, uint64_t *base, uint64_t *bytes) {
  int64_t units;
  uint64_t arr, size;
  struct mem_read_req q1[2] = {
      {code + (uint64_t)L->var_ob_size, &units, sizeof units},
      {code + (uint64_t)L->code_tlbc, &arr, sizeof arr},
  };
  int rc = mem_readv(r, q1, 2);
  if (rc < 0)
    return rc;
  if (units < 0 || (uint64_t)units * 2 > TLBC_CODE_BYTES_MAX)
    return PP_EBOUNDS;
  if (arr == 0)
    return PP_ETORN;
  struct mem_read_req q2[2] = {
      {arr, &size, sizeof size},
      {arr + (uint64_t)L->codearray_entries + 8 * (uint64_t)idx, base, sizeof *base},
  };
  rc = mem_readv(r, q2, 2);
  if (rc < 0)
    return rc;
  if (size > TLBC_INDEX_MAX)
    return PP_EBOUNDS;
  if ((uint64_t)idx >= size || *base == 0)
    return PP_ETORN; /* the entry read lies past the array: not this code's copy */
  *bytes = (uint64_t)units * 2;
  return 0;
}

int tlbc_base(struct tlbc_cache *c, const struct mem_reader *r, const struct py_layout *L,
              uint64_t code, int32_t idx, uint64_t instr, uint64_t *base) {
  *base = 0;
  if (L->code_tlbc <= 0 || L->codearray_entries <= 0 || L->var_ob_size < 0)
    return PP_ELAYOUT;
  if (idx <= 0 || idx >= TLBC_INDEX_MAX)
    return PP_EBOUNDS;
  struct tlbc_entry *e = c ? &c->slot[slot_of(code, idx)] : NULL;
  if (e && e->code == code && e->idx == idx && holds(e->base, e->bytes, instr)) {
    *base = e->base;
    return 0;
  }
  uint64_t b, bytes;
  if (c)
    c->misses++;
  int rc = tlbc_read(r, L, code, idx, &b, &bytes);
  if (rc < 0)
    return rc;
  if (!holds(b, bytes, instr))
    return PP_ETORN;
  if (e)
    *e = (struct tlbc_entry){.code = code, .idx = idx, .base = b, .bytes = bytes};
  *base = b;
  return 0;
}
