/* pystr_read / pybytes_read against real objects and hostile headers.
 *
 * For every CPython found (same places as test_layout.c), tests/layout_dump.py
 * strings prints str and bytes objects: address, raw bytes (sys.getsizeof of
 * them) and the expected UTF-8 (s.encode()). Each object is placed in a
 * mem_image at its address and decoded with the layout pyprof would use for
 * that interpreter. Then synthetic headers check the bounds. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pyprof/common/error.h"
#include "pyprof/proc/mem_image.h"
#include "pyprof/python/layout.h"
#include "pyprof/python/pystr.h"
#include "test_support.h"

/* The first max code points of UTF-8 text s, plus "..." if it had more. */
static char *expect_truncated(const uint8_t *s, size_t n, size_t max) {
  size_t cps = 0, i = 0;
  for (; i < n; i++) {
    if ((s[i] & 0xc0) != 0x80) {
      if (cps == max)
        break;
      cps++;
    }
  }
  char *out = malloc(i + 4); /* owned by the caller */
  cr_assert(out);
  memcpy(out, s, i);
  strcpy(out + i, i < n ? "..." : "");
  return out;
}

static void check_interpreter(const char *python, int want_minor) {
  char cmd[1024];
  FILE *p = ts_layout_dump(python, "strings", cmd, sizeof cmd); /* owned: pclose below */
  char *line = NULL; /* owned: getline buffer */
  size_t cap = 0;
  struct py_layout L;
  int have_layout = 0, minor = 0, nstr = 0, nbytes = 0, ended = 0;
  while (getline(&line, &cap, p) > 0) {
    char *a[4];
    char *kw = ts_split(line, a, 4);
    if (!kw)
      continue;
    if (!strcmp(kw, "version")) {
      minor = atoi(a[1]);
      cr_assert_eq(minor, want_minor);
      if (minor <= 12) {
        cr_assert(layout_builtin(3, minor));
        L = *layout_builtin(3, minor);
        have_layout = 1;
      }
    } else if (!strcmp(kw, "debug_offsets") && minor >= 13) {
      size_t n = 0;
      uint8_t *dbg = ts_unhex_alloc(a[0], &n); /* owned */
      char why[256];
      int rc = layout_from_debug_offsets(dbg, n, &L, why, sizeof why);
      cr_assert_eq(rc, 0, "%s %s", pp_errname(rc), why);
      free(dbg);
      have_layout = 1;
    } else if (!strcmp(kw, "str") || !strcmp(kw, "bytes")) {
      cr_assert(have_layout && a[3]);
      uint64_t addr = strtoull(a[1], NULL, 10);
      size_t rawn = 0, wantn = 0;
      uint8_t *raw = ts_unhex_alloc(a[2], &rawn);   /* owned */
      uint8_t *want = ts_unhex_alloc(a[3], &wantn); /* owned */
      struct mem_reader r;
      struct mem_image *img = ts_image(addr, raw, rawn, &r); /* owned */
      if (!strcmp(kw, "str")) {
        char *got = NULL; /* owned */
        int rc = pystr_read(&r, &L, addr, &got);
        cr_assert_eq(rc, 0, "3.%d %s: %s", minor, a[0], pp_errname(rc));
        char *exp = expect_truncated(want, wantn, PYSTR_MAX_CHARS); /* owned */
        cr_expect_str_eq(got, exp, "3.%d %s", minor, a[0]);
        cr_expect_eq(mem_image_reads(img), strlen(exp) ? 2u : 1u, "3.%d %s: reads", minor, a[0]);
        free(exp);
        free(got);
        nstr++;
      } else {
        uint8_t *got = NULL; /* owned */
        size_t gotn = 0;
        int rc = pybytes_read(&r, &L, addr, &got, &gotn);
        cr_assert_eq(rc, 0, "3.%d %s: %s", minor, a[0], pp_errname(rc));
        cr_expect(gotn == wantn && !memcmp(got, want, wantn), "3.%d %s", minor, a[0]);
        free(got);
        nbytes++;
      }
      mem_image_free(img);
      free(raw);
      free(want);
    } else if (!strcmp(kw, "end")) {
      ended = 1;
    }
  }
  free(line);
  cr_assert_eq(pclose(p), 0, "%s", cmd);
  cr_assert(ended);
  cr_expect_eq(nstr, 8);
  cr_expect_eq(nbytes, 2);
}

Test(pystr_real, py3_8) { ts_with_python("test_pystr", 8, check_interpreter); }
Test(pystr_real, py3_9) { ts_with_python("test_pystr", 9, check_interpreter); }
Test(pystr_real, py3_10) { ts_with_python("test_pystr", 10, check_interpreter); }
Test(pystr_real, py3_11) { ts_with_python("test_pystr", 11, check_interpreter); }
Test(pystr_real, py3_12) { ts_with_python("test_pystr", 12, check_interpreter); }
Test(pystr_real, py3_13) { ts_with_python("test_pystr", 13, check_interpreter); }
Test(pystr_real, py3_14) { ts_with_python("test_pystr", 14, check_interpreter); }
Test(pystr_real, debian_python3_11) { ts_with_debian_python("test_pystr", check_interpreter); }

/* ---- synthetic objects (3.12 layout) ------------------------------------ */

#define BASE 0x7f0000001000ull

/* A compact str header for L with the given kind/ascii/compact bits and
 * length, followed by data bytes. */
static size_t make_str(const struct py_layout *L, unsigned char *buf, size_t cap, unsigned kind,
                       int ascii, int compact, int64_t length, const void *data, size_t dlen) {
  memset(buf, 0, cap);
  uint32_t state = (kind << L->state_kind_shift) | ((uint32_t)compact << L->state_compact_shift) |
                   ((uint32_t)ascii << L->state_ascii_shift);
  memcpy(buf + L->unicode_state, &state, 4);
  memcpy(buf + L->unicode_length, &length, 8);
  size_t at = (size_t)(ascii ? L->unicode_ascii_size : L->unicode_compact_size);
  cr_assert(at + dlen + 4 <= cap);
  memcpy(buf + at, data, dlen);
  return at + dlen + 4;
}

static int read_one(const unsigned char *buf, size_t n, const struct py_layout *L, char **out) {
  struct mem_reader r;
  struct mem_image *img = ts_image(BASE, buf, n, &r); /* owned */
  int rc = pystr_read(&r, L, BASE, out);
  mem_image_free(img);
  return rc;
}

Test(pystr_synthetic, kinds_and_bounds) {
  const struct py_layout *L = layout_builtin(3, 12);
  cr_assert(L);
  unsigned char buf[20000];
  char *s = NULL;
  size_t n;

  n = make_str(L, buf, sizeof buf, 1, 1, 1, 3, "abc", 3);
  cr_assert_eq(read_one(buf, n, L, &s), 0);
  cr_expect_str_eq(s, "abc");
  free(s);

  const uint16_t ucs2[] = {0x8a08, 0x7b97};
  n = make_str(L, buf, sizeof buf, 2, 0, 1, 2, ucs2, sizeof ucs2);
  cr_assert_eq(read_one(buf, n, L, &s), 0);
  cr_expect_str_eq(s, "\xe8\xa8\x88\xe7\xae\x97");
  free(s);

  const uint32_t ucs4[] = {0x1f600, 0x41};
  n = make_str(L, buf, sizeof buf, 4, 0, 1, 2, ucs4, sizeof ucs4);
  cr_assert_eq(read_one(buf, n, L, &s), 0);
  cr_expect_str_eq(s, "\xf0\x9f\x98\x80" "A");
  free(s);

  /* exactly PYSTR_MAX_CHARS: no "..."; one more: cut */
  static unsigned char xs[PYSTR_MAX_CHARS + 1];
  memset(xs, 'x', sizeof xs);
  n = make_str(L, buf, sizeof buf, 1, 1, 1, PYSTR_MAX_CHARS, xs, PYSTR_MAX_CHARS);
  cr_assert_eq(read_one(buf, n, L, &s), 0);
  cr_expect_eq(strlen(s), PYSTR_MAX_CHARS);
  free(s);
  n = make_str(L, buf, sizeof buf, 1, 1, 1, PYSTR_MAX_CHARS + 1, xs, PYSTR_MAX_CHARS + 1);
  cr_assert_eq(read_one(buf, n, L, &s), 0);
  cr_expect_eq(strlen(s), PYSTR_MAX_CHARS + 3);
  cr_expect_str_eq(s + PYSTR_MAX_CHARS, "...");
  free(s);
  /* long claimed length, only the first PYSTR_MAX_CHARS present: still fine */
  n = make_str(L, buf, sizeof buf, 1, 1, 1, (int64_t)1 << 30, xs, PYSTR_MAX_CHARS);
  cr_assert_eq(read_one(buf, n, L, &s), 0);
  cr_expect_str_eq(s + PYSTR_MAX_CHARS, "...");
  free(s);

  /* absurd lengths */
  s = (char *)1;
  n = make_str(L, buf, sizeof buf, 1, 1, 1, -1, "abc", 3);
  cr_expect_eq(read_one(buf, n, L, &s), PP_EBOUNDS);
  cr_expect_null(s);
  n = make_str(L, buf, sizeof buf, 4, 0, 1, (int64_t)1 << 62, "abc", 3);
  cr_expect_eq(read_one(buf, n, L, &s), PP_EBOUNDS);
  n = make_str(L, buf, sizeof buf, 2, 0, 1, INT64_MIN, "abc", 3);
  cr_expect_eq(read_one(buf, n, L, &s), PP_EBOUNDS);

  /* bad state words */
  n = make_str(L, buf, sizeof buf, 1, 1, 0, 3, "abc", 3); /* legacy, not compact */
  cr_expect_eq(read_one(buf, n, L, &s), PP_ELAYOUT);
  n = make_str(L, buf, sizeof buf, 3, 0, 1, 3, "abc", 3); /* kind 3 */
  cr_expect_eq(read_one(buf, n, L, &s), PP_ELAYOUT);
  n = make_str(L, buf, sizeof buf, 2, 1, 1, 3, "abc", 3); /* ascii with kind 2 */
  cr_expect_eq(read_one(buf, n, L, &s), PP_ELAYOUT);
  n = make_str(L, buf, sizeof buf, 0, 0, 1, 3, "abc", 3); /* kind 0 */
  cr_expect_eq(read_one(buf, n, L, &s), PP_ELAYOUT);

  /* data not mapped: header only */
  make_str(L, buf, sizeof buf, 1, 1, 1, 3, "abc", 3);
  cr_expect_eq(read_one(buf, (size_t)L->unicode_ascii_size, L, &s), PP_EFAULT);
  make_str(L, buf, sizeof buf, 2, 0, 1, 100, ucs2, sizeof ucs2); /* data runs off the end */
  cr_expect_eq(read_one(buf, (size_t)L->unicode_compact_size + 8, L, &s), PP_EFAULT);
  /* header not mapped / NULL */
  cr_expect_eq(read_one(buf, 8, L, &s), PP_EFAULT);
  struct mem_reader r;
  struct mem_image *img = ts_image(0, NULL, 0, &r); /* owned */
  cr_expect_eq(pystr_read(&r, L, 0, &s), PP_EFAULT);
  cr_expect_eq(pystr_read(&r, L, UINT64_MAX - 8, &s), PP_EFAULT);
  mem_image_free(img);

  /* a layout that makes no sense is refused before reading */
  struct py_layout bad = *L;
  bad.unicode_ascii_size = 100000;
  n = make_str(L, buf, sizeof buf, 1, 1, 1, 3, "abc", 3);
  cr_expect_eq(read_one(buf, n, &bad, &s), PP_ELAYOUT);
  bad = *L;
  bad.unicode_length = 36; /* straddles the end of a 40-byte header */
  cr_expect_eq(read_one(buf, n, &bad, &s), PP_ELAYOUT);
}

static int read_bytes(const unsigned char *buf, size_t n, const struct py_layout *L, uint8_t **out,
                      size_t *len) {
  struct mem_reader r;
  struct mem_image *img = ts_image(BASE, buf, n, &r); /* owned */
  int rc = pybytes_read(&r, L, BASE, out, len);
  mem_image_free(img);
  return rc;
}

Test(pystr_synthetic, bytes_bounds) {
  const struct py_layout *L = layout_builtin(3, 12);
  cr_assert(L);
  static unsigned char buf[PYBYTES_MAX + 64];
  uint8_t *out = NULL;
  size_t len = 0;
  int64_t size = 5;
  memset(buf, 0, sizeof buf);
  memcpy(buf + L->var_ob_size, &size, 8);
  memcpy(buf + L->bytes_ob_sval, "hello", 6);
  cr_assert_eq(read_bytes(buf, (size_t)L->bytes_ob_sval + 6, L, &out, &len), 0);
  cr_expect(len == 5 && !memcmp(out, "hello", 5));
  free(out);

  size = PYBYTES_MAX;
  memcpy(buf + L->var_ob_size, &size, 8);
  cr_assert_eq(read_bytes(buf, sizeof buf, L, &out, &len), 0);
  cr_expect_eq(len, PYBYTES_MAX);
  free(out);

  size = PYBYTES_MAX + 1;
  memcpy(buf + L->var_ob_size, &size, 8);
  cr_expect_eq(read_bytes(buf, sizeof buf, L, &out, &len), PP_EBOUNDS);
  cr_expect_null(out);
  size = -5;
  memcpy(buf + L->var_ob_size, &size, 8);
  cr_expect_eq(read_bytes(buf, sizeof buf, L, &out, &len), PP_EBOUNDS);
  size = 100;
  memcpy(buf + L->var_ob_size, &size, 8);
  cr_expect_eq(read_bytes(buf, (size_t)L->bytes_ob_sval + 10, L, &out, &len), PP_EFAULT);
  cr_expect_eq(read_bytes(buf, 8, L, &out, &len), PP_EFAULT);
}
