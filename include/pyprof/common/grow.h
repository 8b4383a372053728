/* Growing a malloc'd array by doubling (the record reader and writer and the
 * report's profile model all keep their data in such arrays). */
#ifndef PYPROF_COMMON_GROW_H
#define PYPROF_COMMON_GROW_H

#include <stddef.h>

/* Make room for need elements of elem bytes in the array *p of capacity *cap
 * elements: the capacity doubles (from 16) until it holds need. 0, or
 * PP_ENOMEM with *p and *cap unchanged. */
int pp_grow(void **p, size_t *cap, size_t need, size_t elem);

#endif
