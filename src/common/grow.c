/* Array growth by doubling (common/grow.h). */
#include "pyprof/common/grow.h"

#include <stdint.h>
#include <stdlib.h>

#include "pyprof/common/error.h"

int pp_grow(void **p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap)
    return 0;
  size_t ncap = *cap ? *cap : 16;
  while (ncap < need) {
    if (ncap > SIZE_MAX / 2 / elem)
      return PP_ENOMEM;
    ncap *= 2;
  }
  void *np = realloc(*p, ncap * elem); /* owned by the caller's array */
  if (!np)
    return PP_ENOMEM;
  *p = np;
  *cap = ncap;
  return 0;
}
