/* pystr_read / pybytes_read against real objects and hostile headers.
 *
 * For every CPython found (same places as test_layout.c), tests/layout_dump.py
 * strings prints str and bytes objects: address, raw bytes (sys.getsizeof of
 * them) and the expected UTF-8 (s.encode()). Each object is placed in a
 * mem_image at its address and decoded with the layout pyprof would use for
 * that interpreter. Then synthetic headers check the bounds. */
#include <criterion/criterion.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pyprof/common/error.h"
#include "pyprof/proc/mem_image.h"
#include "pyprof/python/layout.h"
#include "pyprof/python/pystr.h"

static int glob_last(const char *pattern, char *out, size_t cap) {
  glob_t g;
  int found = 0;
  if (glob(pattern, 0, NULL, &g) == 0) {
    for (size_t i = g.gl_pathc; i-- > 0 && !found;) {
      if (access(g.gl_pathv[i], X_OK) == 0) {
        snprintf(out, cap, "%s", g.gl_pathv[i]);
        found = 1;
      }
    }
  }
  globfree(&g);
  return found;
}

static int find_python(int minor, char *out, size_t cap) {
  const char *home = getenv("HOME");
  char pat[512];
  snprintf(pat, sizeof pat, "%s/.pyenv/versions/3.%d.*/bin/python3.%d", home ? home : "", minor,
           minor);
  if (glob_last(pat, out, cap))
    return 1;
  if (minor < 14)
    return 0;
  const char *path = getenv("PATH");
  if (path) {
    char *copy = strdup(path); /* owned */
    int found = 0;
    for (char *save = NULL, *dir = strtok_r(copy, ":", &save); dir && !found;
         dir = strtok_r(NULL, ":", &save)) {
      snprintf(out, cap, "%s/python3.%d", dir, minor);
      found = access(out, X_OK) == 0;
    }
    free(copy);
    if (found)
      return 1;
  }
  snprintf(pat, sizeof pat, "%s/.cache/pyprof-pythons*/3.%d/bin/python3.%d", home ? home : "",
           minor, minor);
  if (glob_last(pat, out, cap))
    return 1;
  snprintf(pat, sizeof pat, "/tmp/py3%d*/bin/python3.%d", minor, minor);
  return glob_last(pat, out, cap);
}

/* hex (or "-" for empty) into a malloc'd buffer */
static uint8_t *unhex(const char *s, size_t *n) {
  size_t len = strcmp(s, "-") ? strlen(s) / 2 : 0;
  uint8_t *out = malloc(len + 1); /* owned by the caller */
  cr_assert(out);
  for (size_t i = 0; i < len; i++) {
    unsigned v;
    cr_assert(sscanf(s + 2 * i, "%2x", &v) == 1);
    out[i] = (uint8_t)v;
  }
  out[len] = 0;
  *n = len;
  return out;
}

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
  snprintf(cmd, sizeof cmd, "%s %s/tests/layout_dump.py strings", python, PYPROF_SOURCE_DIR);
  FILE *p = popen(cmd, "r"); /* owned: pclose below */
  cr_assert(p);
  char *line = NULL; /* owned: getline buffer */
  size_t cap = 0;
  struct py_layout L;
  int have_layout = 0, minor = 0, nstr = 0, nbytes = 0, ended = 0;
  while (getline(&line, &cap, p) > 0) {
    char *save = NULL;
    char *kw = strtok_r(line, " \n", &save);
    char *a[4] = {0};
    for (int i = 0; i < 4; i++)
      a[i] = strtok_r(NULL, " \n", &save);
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
      uint8_t *dbg = unhex(a[0], &n); /* owned */
      char why[256];
      int rc = layout_from_debug_offsets(dbg, n, &L, why, sizeof why);
      cr_assert_eq(rc, 0, "%s %s", pp_errname(rc), why);
      free(dbg);
      have_layout = 1;
    } else if (!strcmp(kw, "str") || !strcmp(kw, "bytes")) {
      cr_assert(have_layout && a[3]);
      uint64_t addr = strtoull(a[1], NULL, 10);
      size_t rawn = 0, wantn = 0;
      uint8_t *raw = unhex(a[2], &rawn);  /* owned */
      uint8_t *want = unhex(a[3], &wantn); /* owned */
      struct mem_image *img = NULL;       /* owned */
      struct mem_reader r;
      cr_assert_eq(mem_image_new(&img), 0);
      cr_assert_eq(mem_image_add(img, addr, raw, rawn), 0);
      mem_image_reader(img, &r);
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

static void run_minor(int minor) {
  char py[512];
  if (!find_python(minor, py, sizeof py)) {
    fprintf(stderr, "test_pystr: skipping 3.%d: no interpreter found\n", minor);
    cr_skip_test("no CPython 3.%d found", minor);
  }
  check_interpreter(py, minor);
}

Test(pystr_real, py3_8) { run_minor(8); }
Test(pystr_real, py3_9) { run_minor(9); }
Test(pystr_real, py3_10) { run_minor(10); }
Test(pystr_real, py3_11) { run_minor(11); }
Test(pystr_real, py3_12) { run_minor(12); }
Test(pystr_real, py3_13) { run_minor(13); }
Test(pystr_real, py3_14) { run_minor(14); }
Test(pystr_real, debian_python3_11) {
  if (access("/usr/bin/python3.11", X_OK) != 0) {
    fprintf(stderr, "test_pystr: skipping /usr/bin/python3.11: not installed\n");
    cr_skip_test("/usr/bin/python3.11 not installed");
  }
  check_interpreter("/usr/bin/python3.11", 11);
}

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
  struct mem_image *img = NULL; /* owned */
  struct mem_reader r;
  cr_assert_eq(mem_image_new(&img), 0);
  cr_assert_eq(mem_image_add(img, BASE, buf, n), 0);
  mem_image_reader(img, &r);
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
  struct mem_image *img = NULL; /* owned */
  struct mem_reader r;
  cr_assert_eq(mem_image_new(&img), 0);
  mem_image_reader(img, &r);
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
  struct mem_image *img = NULL; /* owned */
  struct mem_reader r;
  cr_assert_eq(mem_image_new(&img), 0);
  cr_assert_eq(mem_image_add(img, BASE, buf, n), 0);
  mem_image_reader(img, &r);
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
