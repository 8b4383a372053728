/* fuzz_pystr: str and bytes objects with arbitrary headers, and the UTF-8
 * encoder on arbitrary code units.
 *
 * Input: byte 0 picks the layout (fuzz_layout(), modulo the count), byte 1
 * the mode and an address skew, the rest are the bytes of a remote object
 * placed at a fixed address (OBJ_ADDR), followed by an unmapped gap and a
 * second copy of the same bytes, so that lengths pointing past the object
 * fault instead of reading the copy (and lengths that reach the copy work).
 *
 * Checks: pystr_read returns 0 with a NUL-terminated, valid UTF-8 string of
 * bounded length (at most PYSTR_MAX_CHARS code points, plus "..."), or a known
 * error with *out NULL; pybytes_read returns 0 with at most PYBYTES_MAX bytes
 * equal to the image's bytes, or a known error with *out NULL. Then
 * pystr_encode_utf8 on the payload as every kind, with output buffers of
 * several sizes: valid UTF-8, NUL-terminated, within cap, a prefix of the
 * full encoding, equal to a reference encoder when it fits. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "pyprof/common/error.h"
#include "pyprof/proc/mem_image.h"
#include "pyprof/python/pystr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OBJ_ADDR 0x7f0000100000ull
#define COPY_GAP 0x10000ull

static const int str_errors[] = {PP_EFAULT, PP_ELAYOUT, PP_EBOUNDS, PP_ENOMEM};

/* Reference: UTF-8 of code point cp (U+FFFD for surrogates / > U+10FFFF). */
static size_t ref_utf8(uint32_t cp, char *b) {
  if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
    cp = 0xFFFD;
  if (cp < 0x80) {
    b[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    b[0] = (char)(0xC0 | cp >> 6);
    b[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    b[0] = (char)(0xE0 | cp >> 12);
    b[1] = (char)(0x80 | (cp >> 6 & 0x3F));
    b[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  b[0] = (char)(0xF0 | cp >> 18);
  b[1] = (char)(0x80 | (cp >> 12 & 0x3F));
  b[2] = (char)(0x80 | (cp >> 6 & 0x3F));
  b[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

static void check_encode(unsigned kind, const uint8_t *p, size_t bytes) {
  size_t length = bytes / kind;
  if (length > 2048)
    length = 2048;
  /* The full reference encoding. */
  size_t refcap = length * 4 + 1;
  char *ref = malloc(refcap);     /* owned: freed below */
  char *out = malloc(refcap + 8); /* owned: freed below */
  FUZZ_FAIL_IF(!ref || !out);
  size_t rl = 0;
  for (size_t i = 0; i < length; i++) {
    uint32_t cp;
    if (kind == 1) {
      cp = p[i];
    } else if (kind == 2) {
      uint16_t v;
      memcpy(&v, p + 2 * i, 2);
      cp = v;
    } else {
      memcpy(&cp, p + 4 * i, 4);
    }
    rl += ref_utf8(cp, ref + rl);
  }
  size_t caps[] = {0, 1, 2, 3, 4, 5, 7, rl / 2 + 1, rl, rl + 1, refcap + 8};
  for (size_t k = 0; k < sizeof caps / sizeof caps[0]; k++) {
    size_t cap = caps[k];
    memset(out, 0x5A, refcap + 8);
    int w = pystr_encode_utf8(kind, length ? p : NULL, length, out, cap);
    FUZZ_FAIL_IF(w < 0);
    if (cap == 0) {
      FUZZ_FAIL_IF(w != 0 || out[0] != 0x5A); /* nothing may be written */
      continue;
    }
    FUZZ_FAIL_IF((size_t)w >= cap || out[w] != 0 || !fuzz_utf8_valid(out, (size_t)w));
    FUZZ_FAIL_IF((size_t)w > rl || memcmp(out, ref, (size_t)w) != 0);
    FUZZ_FAIL_IF(cap > rl && (size_t)w != rl); /* everything fits: nothing may be cut */
    FUZZ_FAIL_IF(cap <= rl && rl - (size_t)w > 0 &&
                 cap - 1 - (size_t)w >= 4); /* cut although the next character fitted */
  }
  /* Invalid kinds are refused. */
  FUZZ_FAIL_IF(pystr_encode_utf8(3, p, length, out, 16) != PP_EINVAL ||
               pystr_encode_utf8(0, p, length, out, 16) != PP_EINVAL);
  free(ref);
  free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 3)
    return 0;
  const struct py_layout *L = fuzz_layout(data[0] % fuzz_layout_count());
  unsigned mode = data[1];
  const uint8_t *obj = data + 2;
  size_t olen = size - 2;

  struct mem_image *img = NULL; /* owned: freed below */
  struct mem_reader r;
  FUZZ_FAIL_IF(mem_image_new(&img) < 0);
  uint64_t copy_addr = OBJ_ADDR + olen + COPY_GAP;
  FUZZ_FAIL_IF(mem_image_add(img, OBJ_ADDR, obj, olen) < 0 ||
               mem_image_add(img, copy_addr, obj, olen) < 0);
  mem_image_reader(img, &r);
  /* Read at the object, or a few bytes into it (bits 0-2 of the mode). */
  uint64_t addr = OBJ_ADDR + (mode & 7);

  char *s = (char *)1; /* owned after pystr_read: freed below */
  int rc = pystr_read(&r, L, addr, &s);
  fuzz_expect_rc(rc, str_errors, sizeof str_errors / sizeof str_errors[0]);
  if (rc < 0) {
    FUZZ_FAIL_IF(s);
  } else {
    FUZZ_FAIL_IF(!s);
    size_t n = strnlen(s, PYSTR_MAX_CHARS * 4 + 8);
    FUZZ_FAIL_IF(n > PYSTR_MAX_CHARS * 4 + 3 || !fuzz_utf8_valid(s, n));
  }
  free(s);

  uint8_t *b = (uint8_t *)1; /* owned after pybytes_read: freed below */
  size_t blen = 12345;
  rc = pybytes_read(&r, L, addr, &b, &blen);
  fuzz_expect_rc(rc, str_errors, sizeof str_errors / sizeof str_errors[0]);
  if (rc < 0) {
    FUZZ_FAIL_IF(b || blen);
  } else {
    FUZZ_FAIL_IF(!b || blen > PYBYTES_MAX);
    /* The payload is the bytes after the header, from the object or its copy. */
    uint64_t at = addr + (uint64_t)L->bytes_ob_sval;
    if (blen > 0) {
      const uint8_t *src = NULL;
      if (at >= OBJ_ADDR && at + blen <= OBJ_ADDR + olen)
        src = obj + (at - OBJ_ADDR);
      else if (at >= copy_addr && at + blen <= copy_addr + olen)
        src = obj + (at - copy_addr);
      FUZZ_FAIL_IF(!src || memcmp(src, b, blen) != 0);
    }
  }
  free(b);
  mem_image_free(img);

  /* The encoder on the raw payload, every kind (bits 3-4 pick a start). */
  size_t skip = (mode >> 3) & 3;
  if (olen > skip) {
    check_encode(1, obj + skip, olen - skip);
    check_encode(2, obj + skip, olen - skip);
    check_encode(4, obj + skip, olen - skip);
  }
  return 0;
}
