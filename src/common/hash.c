/* Hash functions and the id index (common/hash.h). */
#include "pyprof/common/hash.h"

#include <stdlib.h>

#include "pyprof/common/error.h"

uint32_t pp_hash_bytes(const void *data, size_t len) {
  const uint8_t *p = data;
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < len; i++)
    h = (h ^ p[i]) * 0x100000001b3ull;
  return (uint32_t)(h ^ (h >> 32));
}

uint32_t pp_hash_words(const uint32_t *w, size_t n, uint64_t seed) {
  uint64_t h = seed * 0x9e3779b97f4a7c15ull + n;
  for (size_t i = 0; i < n; i++) {
    h = (h ^ w[i]) * 0x9e3779b97f4a7c15ull;
    h ^= h >> 29;
  }
  return (uint32_t)(h ^ (h >> 32));
}

int pp_idtab_init(struct pp_idtab *t, size_t cap) {
  if (cap < 2 || (cap & (cap - 1)))
    return PP_EINVAL;
  struct pp_idslot *s = calloc(cap, sizeof *s); /* owned by t */
  if (!s)
    return PP_ENOMEM;
  free(t->slots);
  t->slots = s;
  t->mask = cap - 1;
  t->used = 0;
  return 0;
}

int pp_idtab_reserve(struct pp_idtab *t) {
  if (!t->slots)
    return pp_idtab_init(t, 64);
  if ((t->used + 1) * 2 <= t->mask + 1)
    return 0;
  if (t->mask >= UINT32_MAX / 4)
    return PP_ENOMEM;
  size_t nmask = t->mask * 2 + 1;
  struct pp_idslot *ns = calloc(nmask + 1, sizeof *ns); /* owned by t after the swap */
  if (!ns)
    return PP_ENOMEM;
  for (size_t i = 0; i <= t->mask; i++) {
    struct pp_idslot s = t->slots[i];
    if (!s.id1)
      continue;
    size_t j = s.hash & nmask;
    while (ns[j].id1)
      j = (j + 1) & nmask;
    ns[j] = s;
  }
  free(t->slots);
  t->slots = ns;
  t->mask = nmask;
  return 0;
}

void pp_idtab_put(struct pp_idtab *t, uint32_t hash, uint32_t id) {
  size_t j = hash & t->mask;
  while (t->slots[j].id1)
    j = (j + 1) & t->mask;
  t->slots[j] = (struct pp_idslot){hash, id + 1};
  t->used++;
}

int pp_idtab_insert(struct pp_idtab *t, uint32_t hash, uint32_t id) {
  int rc = pp_idtab_reserve(t);
  if (rc < 0)
    return rc;
  pp_idtab_put(t, hash, id);
  return 0;
}

int pp_idtab_next(const struct pp_idtab *t, uint32_t hash, size_t *pos, uint32_t *id) {
  if (!t->slots)
    return 0;
  /* *pos is 0 before the first call, else 1 + the slot to look at next */
  for (size_t i = *pos ? *pos - 1 : hash & t->mask;; i = (i + 1) & t->mask) {
    struct pp_idslot s = t->slots[i];
    if (!s.id1)
      return 0;
    if (s.hash == hash) {
      *pos = ((i + 1) & t->mask) + 1;
      *id = s.id1 - 1;
      return 1;
    }
  }
}

void pp_idtab_free(struct pp_idtab *t) {
  free(t->slots);
  t->slots = NULL;
  t->mask = t->used = 0;
}
