/* Thread-local bytecode of free-threaded CPython 3.14+: which copy of a code
 * object's bytecode a frame runs, so that its instruction pointer becomes an
 * offset into the code (and so a line). A small cache keeps the answer per
 * (code object, copy index): a hit costs no read. */
#ifndef PYPROF_PYTHON_TLBC_CACHE_H
#define PYPROF_PYTHON_TLBC_CACHE_H

#include <stdint.h>

#include "pyprof/proc/reader.h"
#include "pyprof/python/layout.h"

/* Bounds on what a target may claim (a _PyCodeArray holds one entry per
 * thread index in use; code objects are far below 2^28 bytes). */
#define TLBC_INDEX_MAX 65536
#define TLBC_CODE_BYTES_MAX ((uint64_t)1 << 28)

struct tlbc_cache;

int tlbc_cache_new(struct tlbc_cache **out);
void tlbc_cache_free(struct tlbc_cache *c);
/* Forget every entry (code objects were freed: an address may now hold
 * another code object with other copies). */
void tlbc_cache_clear(struct tlbc_cache *c);

/* The remote address of the first code unit of copy idx (> 0) of the code
 * object at code, checked to hold instr (the frame's instruction pointer):
 * base <= instr <= base + size of the bytecode. c may be NULL (no caching).
 * A hit whose range does not hold instr is re-read. PP_ETORN when the copy
 * does not hold instr or idx is not in the code's array (the frame changed
 * while read, or another code object now lives at code), PP_EBOUNDS when the
 * target claims an implausible size, a read error otherwise. Reads at most
 * two batches (code object fields, then the array's size and entry). */
int tlbc_base(struct tlbc_cache *c, const struct mem_reader *r, const struct py_layout *L,
              uint64_t code, int32_t idx, uint64_t instr, uint64_t *base);

/* Reads made on misses so far. */
uint64_t tlbc_cache_misses(const struct tlbc_cache *c);

#endif
