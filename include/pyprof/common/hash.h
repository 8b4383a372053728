/* Hashing and the id index used for interning: the record writer (strings,
 * frames, stacks, threads) and the report's profile model keep their items
 * in dense arrays and find them again through a pp_idtab.
 *
 * A pp_idtab is an open-addressing table (linear probing, load factor at
 * most 1/2) whose slots hold (hash, id + 1); it never sees the keys. To look
 * a key up, walk the ids stored under its hash with pp_idtab_next and compare
 * each with the key; to add one, pp_idtab_insert (or pp_idtab_reserve, then
 * pp_idtab_put once the caller's own arrays have room). */
#ifndef PYPROF_COMMON_HASH_H
#define PYPROF_COMMON_HASH_H

#include <stddef.h>
#include <stdint.h>

/* FNV-1a of len bytes, folded to 32 bits. */
uint32_t pp_hash_bytes(const void *data, size_t len);
/* Hash of n 32-bit words; different seeds give unrelated hashes of the same
 * words (one seed per kind of key). */
uint32_t pp_hash_words(const uint32_t *w, size_t n, uint64_t seed);

struct pp_idslot {
  uint32_t hash;
  uint32_t id1; /* id + 1; 0 marks an empty slot */
};

/* Zero-initialised it is empty; the first reserve allocates 64 slots. */
struct pp_idtab {
  struct pp_idslot *slots; /* owned; mask + 1 entries, NULL before the first insert */
  size_t mask;
  size_t used;
};

/* Allocate cap slots (a power of two) for an empty table: 0 or PP_ENOMEM. */
int pp_idtab_init(struct pp_idtab *t, size_t cap);
/* Make room for one more id: 0 or PP_ENOMEM (the table is unchanged). */
int pp_idtab_reserve(struct pp_idtab *t);
/* Store id under hash; the id must be absent and room reserved. */
void pp_idtab_put(struct pp_idtab *t, uint32_t hash, uint32_t id);
/* Reserve and put: 0 or PP_ENOMEM. */
int pp_idtab_insert(struct pp_idtab *t, uint32_t hash, uint32_t id);
/* Next id stored under hash: set *pos = 0 before the first call; returns 1
 * with *id, or 0 when there is none left (the key is absent). */
int pp_idtab_next(const struct pp_idtab *t, uint32_t hash, size_t *pos, uint32_t *id);
/* Release the slots; the table is then empty and usable again. */
void pp_idtab_free(struct pp_idtab *t);

#endif
