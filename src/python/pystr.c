/* Remote str (PEP 393) and bytes objects.
 *
 * A str is read in two bounded reads: the PyASCIIObject header (state word
 * and length), then at most PYSTR_MAX_CHARS code points of data, which sit
 * right after the header: at unicode_ascii_size for compact ASCII, at
 * unicode_compact_size for other compact strings. Legacy (non-compact)
 * strings keep their data elsewhere; pyprof does not follow that pointer.
 *
 * Lengths are untrusted. A length that no real object can have (negative, or
 * more data bytes than a 47-bit user address space holds) is PP_EBOUNDS; a
 * merely long string is cut to PYSTR_MAX_CHARS code points plus "...". */
#include "pyprof/python/pystr.h"

#include <stdlib.h>
#include <string.h>

#include "pyprof/common/error.h"

/* Largest header we accept from a layout table (PyASCIIObject is 40-48). */
#define PYSTR_HEADER_MAX 256
/* Beyond this many data bytes a length field is corrupt, not long. */
#define PYSTR_ABSURD_BYTES ((uint64_t)1 << 47)

static const char ellipsis[] = "...";

int pystr_read(const struct mem_reader *r, const struct py_layout *L, uint64_t addr, char **out) {
  unsigned char hdr[PYSTR_HEADER_MAX];
  unsigned char *data = NULL; /* owned: raw code units, freed at out */
  char *text = NULL;          /* owned until handed to *out */
  uint32_t state = 0;
  uint64_t length = 0;
  int rc = 0;

  *out = NULL;
  if (L->unicode_ascii_size <= 0 || L->unicode_ascii_size > PYSTR_HEADER_MAX ||
      L->unicode_compact_size < L->unicode_ascii_size) {
    rc = PP_ELAYOUT;
    goto out;
  }
  size_t hlen = (size_t)L->unicode_ascii_size;
  rc = mem_read(r, addr, hdr, hlen);
  if (rc < 0)
    goto out;
  if (!buf_u32(hdr, hlen, L->unicode_state, &state) ||
      !buf_u64(hdr, hlen, L->unicode_length, &length)) {
    rc = PP_ELAYOUT;
    goto out;
  }

  unsigned kind = (state >> L->state_kind_shift) & 7u;
  unsigned compact = (state >> L->state_compact_shift) & 1u;
  unsigned ascii = (state >> L->state_ascii_shift) & 1u;
  if (!compact || (kind != 1 && kind != 2 && kind != 4) || (ascii && kind != 1)) {
    rc = PP_ELAYOUT;
    goto out;
  }
  if ((int64_t)length < 0 || length > PYSTR_ABSURD_BYTES / kind) {
    rc = PP_EBOUNDS;
    goto out;
  }

  size_t n = length > PYSTR_MAX_CHARS ? PYSTR_MAX_CHARS : (size_t)length;
  int truncated = n < length;
  uint64_t data_addr = addr + (uint64_t)(ascii ? L->unicode_ascii_size : L->unicode_compact_size);
  if (data_addr < addr) {
    rc = PP_EFAULT;
    goto out;
  }
  if (n > 0) {
    data = malloc(n * kind);
    if (!data) {
      rc = PP_ENOMEM;
      goto out;
    }
    rc = mem_read(r, data_addr, data, n * kind);
    if (rc < 0)
      goto out;
  }

  /* At most 4 UTF-8 bytes per code point, then "..." and NUL. */
  size_t cap = n * 4 + sizeof ellipsis;
  text = malloc(cap);
  if (!text) {
    rc = PP_ENOMEM;
    goto out;
  }
  int w = 0;
  text[0] = '\0';
  if (n > 0) {
    w = pystr_encode_utf8(kind, data, n, text, cap - (sizeof ellipsis - 1));
    if (w < 0) {
      rc = w;
      goto out;
    }
  }
  if (truncated)
    memcpy(text + w, ellipsis, sizeof ellipsis);
  *out = text;
  text = NULL;
  rc = 0;
out:
  free(text);
  free(data);
  return rc;
}

int pybytes_read(const struct mem_reader *r, const struct py_layout *L, uint64_t addr,
                 uint8_t **out, size_t *len) {
  unsigned char hdr[PYSTR_HEADER_MAX];
  uint8_t *data = NULL; /* owned until handed to *out */
  uint64_t size = 0;
  int rc = 0;

  *out = NULL;
  *len = 0;
  if (L->bytes_ob_sval <= 0 || L->bytes_ob_sval > PYSTR_HEADER_MAX) {
    rc = PP_ELAYOUT;
    goto out;
  }
  size_t hlen = (size_t)L->bytes_ob_sval;
  rc = mem_read(r, addr, hdr, hlen);
  if (rc < 0)
    goto out;
  if (!buf_u64(hdr, hlen, L->var_ob_size, &size)) {
    rc = PP_ELAYOUT;
    goto out;
  }
  if ((int64_t)size < 0 || size > PYBYTES_MAX) {
    rc = PP_EBOUNDS;
    goto out;
  }
  if (addr + hlen < addr) {
    rc = PP_EFAULT;
    goto out;
  }
  data = malloc(size ? (size_t)size : 1);
  if (!data) {
    rc = PP_ENOMEM;
    goto out;
  }
  if (size > 0) {
    rc = mem_read(r, addr + hlen, data, (size_t)size);
    if (rc < 0)
      goto out;
  }
  *out = data;
  *len = (size_t)size;
  data = NULL;
out:
  free(data);
  return rc;
}
