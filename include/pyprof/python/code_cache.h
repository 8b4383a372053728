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

struct code_info {
  uint64_t addr;          /* remote code object address (the key) */
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
/* Entries currently held / misses so far. */
size_t code_cache_size(const struct code_cache *c);
uint64_t code_cache_misses(const struct code_cache *c);

#endif
