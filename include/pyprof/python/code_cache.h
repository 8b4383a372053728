/* Cache of decoded code objects by remote address: function name, file name,
 * first line and decoded line table are read once per code object, not once
 * per sample. */
#ifndef PYPROF_PYTHON_CODE_CACHE_H
#define PYPROF_PYTHON_CODE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "pyprof/proc/reader.h"
#include "pyprof/python/layout.h"
#include "pyprof/python/linetable.h"

/* Most bytes of a code object kept as its fingerprint. */
#define CODE_FP_MAX 64

struct code_info {
  uint64_t addr;          /* remote code object address (the key) */
  unsigned char fp[CODE_FP_MAX]; /* the code's name/file/line-table pointers when loaded */
  char *name;             /* owned; qualified name where the version has one */
  char *file;             /* owned; co_filename */
  int32_t firstline;      /* co_firstlineno */
  struct line_map lines;  /* owned; decoded line table */
  uint32_t user[2];       /* free for the caller (e.g. record string ids) */
  int user_set;           /* caller sets when user[] is filled */
};

struct code_cache;

/* max_entries bounds memory; when full the cache is emptied and refilled. */
int code_cache_new(size_t max_entries, struct code_cache **out);
void code_cache_free(struct code_cache *c);
/* Decoded info for the code object at addr, reading and decoding it on a
 * miss. code_type is the address of PyCode_Type (0: not checked). The entry is
 * owned by the cache and valid until the next code_cache_get. */
int code_cache_get(struct code_cache *c, const struct mem_reader *r, const struct py_layout *L,
                   uint64_t code_type, uint64_t addr, struct code_info **out);
/* Stale entries. A code object can be freed and another allocated at the
 * same address (module bodies after import, exec'd code), so a cached entry
 * must be re-checked against memory. Its fingerprint is the span of the code
 * object holding its name, file name and line-table pointers (a new object
 * has new ones). code_fp_span gives that span for a layout; callers read it
 * (batched with their other reads) and pass the bytes to code_cache_check,
 * which drops the entry when they differ. 1: still valid or not cached, 0:
 * dropped (the next code_cache_get reloads it). */
void code_fp_span(const struct py_layout *L, int32_t *off, size_t *len);
int code_cache_check(struct code_cache *c, const struct py_layout *L, uint64_t addr,
                     const void *fp);
/* The cached entry for addr, or NULL; never reads. */
struct code_info *code_cache_peek(struct code_cache *c, uint64_t addr);

/* Entries currently held / misses so far. */
size_t code_cache_size(const struct code_cache *c);
uint64_t code_cache_misses(const struct code_cache *c);
/* Entries dropped as stale so far. */
uint64_t code_cache_stale(const struct code_cache *c);
/* Changes whenever entries are dropped (stale, or the cache emptied when
 * full): anything a caller derived from earlier entries is then suspect. */
uint64_t code_cache_epoch(const struct code_cache *c);

#endif
