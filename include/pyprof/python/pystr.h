/* Decoding of remote Python str (PEP 393) and bytes objects. */
#ifndef PYPROF_PYTHON_PYSTR_H
#define PYPROF_PYTHON_PYSTR_H

#include <stddef.h>
#include <stdint.h>

#include "pyprof/proc/reader.h"
#include "pyprof/python/layout.h"

/* Longest str pyprof decodes (code points); longer ones are truncated with "...". */
#define PYSTR_MAX_CHARS 4096
/* Longest bytes object read (line tables). */
#define PYBYTES_MAX 262144

/* Encode length code points of the given PEP 393 kind (1 = latin-1, 2 = UCS-2,
 * 4 = UCS-4) from data as UTF-8 into out (cap bytes, NUL-terminated). Invalid
 * code points (surrogates, > 0x10FFFF) become U+FFFD. Returns the number of
 * bytes written (excluding NUL) or a negative PP_E* code; output that does not
 * fit is cut at a character boundary. */
int pystr_encode_utf8(unsigned kind, const void *data, size_t length, char *out, size_t cap);

/* Read the str object at addr and return it as a malloc'd NUL-terminated UTF-8
 * string in *out (caller frees). Handles compact ASCII, compact latin-1/UCS-2/
 * UCS-4 per the layout; legacy (non-compact) strings are refused with
 * PP_ELAYOUT. Lengths are bounded by PYSTR_MAX_CHARS. */
int pystr_read(const struct mem_reader *r, const struct py_layout *L, uint64_t addr, char **out);

/* Read the bytes object at addr: *out is malloc'd (caller frees), *len its
 * size. PP_EBOUNDS when larger than PYBYTES_MAX. */
int pybytes_read(const struct mem_reader *r, const struct py_layout *L, uint64_t addr,
                 uint8_t **out, size_t *len);

#endif
