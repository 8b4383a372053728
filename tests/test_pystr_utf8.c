/* pystr_encode_utf8: PEP 393 latin-1 / UCS-2 / UCS-4 data to UTF-8. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pyprof/common/error.h"
#include "pyprof/python/pystr.h"

static void expect_utf8(unsigned kind, const void *data, size_t length, const char *want) {
  char out[256];
  memset(out, 'X', sizeof(out));
  int n = pystr_encode_utf8(kind, data, length, out, sizeof(out));
  cr_assert_eq(n, (int)strlen(want), "kind %u: %d bytes, want %zu", kind, n, strlen(want));
  cr_assert_eq(memcmp(out, want, strlen(want) + 1), 0, "kind %u: got '%s' want '%s'", kind, out,
               want);
}

Test(pystr_utf8, latin1) {
  static const uint8_t cafe[] = {'c', 'a', 'f', 0xE9};
  expect_utf8(1, cafe, 4, "caf\xC3\xA9");
  static const uint8_t edges[] = {'A', 0x7F, 0x80, 0xFF};
  expect_utf8(1, edges, 4, "A\x7F\xC2\x80\xC3\xBF");
  expect_utf8(1, cafe, 0, "");
}

Test(pystr_utf8, ucs2) {
  static const uint16_t keisan[] = {0x8A08, 0x7B97}; /* 計算 */
  expect_utf8(2, keisan, 2, "\xE8\xA8\x88\xE7\xAE\x97");
  static const uint16_t edges[] = {0x41, 0x7FF, 0x800, 0xFFFF, 0xE000};
  expect_utf8(2, edges, 5, "A\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF\xEE\x80\x80");
}

Test(pystr_utf8, ucs4) {
  static const uint32_t grin[] = {0x1F600}; /* 😀 */
  expect_utf8(4, grin, 1, "\xF0\x9F\x98\x80");
  static const uint32_t edges[] = {0x10000, 0x10FFFF, 0x41};
  expect_utf8(4, edges, 3, "\xF0\x90\x80\x80\xF4\x8F\xBF\xBF" "A");
}

Test(pystr_utf8, mixed) {
  static const uint32_t mixed[] = {'a', 0xE9, 0x8A08, 0x1F600, 'z'}; /* aé計😀z */
  expect_utf8(4, mixed, 5, "a\xC3\xA9\xE8\xA8\x88\xF0\x9F\x98\x80z");
  static const uint16_t mixed2[] = {'a', 0xE9, 0x8A08, 'z'};
  expect_utf8(2, mixed2, 4, "a\xC3\xA9\xE8\xA8\x88z");
}

Test(pystr_utf8, invalid_code_points_become_replacement) {
  static const uint16_t lone[] = {'a', 0xD800, 'b', 0xDFFF, 0xD83D, 0xDE00};
  /* Surrogates are never paired: PEP 393 strings hold code points. */
  expect_utf8(2, lone, 6, "a\xEF\xBF\xBD" "b\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  static const uint32_t bad[] = {0xD800, 0xDBFF, 0xDC00, 0x110000, 0xFFFFFFFF, 0x80000000};
  expect_utf8(4, bad, 6,
              "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

Test(pystr_utf8, embedded_nul_is_encoded) {
  static const uint8_t s[] = {'a', 0, 'b'};
  char out[8];
  cr_assert_eq(pystr_encode_utf8(1, s, 3, out, sizeof(out)), 3);
  cr_assert_eq(memcmp(out, "a\0b\0", 4), 0);
}

/* Every cap from 0 to past the full size: the output is the longest prefix of
 * whole characters that fits in cap - 1 bytes, NUL-terminated, and nothing is
 * written at or past out[cap]. */
Test(pystr_utf8, truncation_at_character_boundaries) {
  static const uint32_t s[] = {'a', 0xE9, 0x8A08, 0x1F600, 'z', 0xD800}; /* 1,2,3,4,1,3 bytes */
  static const char full[] = "a\xC3\xA9\xE8\xA8\x88\xF0\x9F\x98\x80z\xEF\xBF\xBD";
  static const size_t ends[] = {0, 1, 3, 6, 10, 11, 14}; /* character boundaries */
  for (size_t cap = 0; cap <= sizeof(full) + 2; cap++) {
    char buf[64];
    memset(buf, 'X', sizeof(buf));
    int n = pystr_encode_utf8(4, s, 6, buf, cap);
    size_t want = 0;
    for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
      if (cap > 0 && ends[i] <= cap - 1) {
        want = ends[i];
      }
    }
    cr_assert_eq(n, (int)want, "cap %zu: %d bytes, want %zu", cap, n, want);
    if (cap > 0) {
      cr_assert_eq(memcmp(buf, full, want), 0, "cap %zu", cap);
      cr_assert_eq(buf[want], '\0', "cap %zu: not terminated", cap);
    }
    for (size_t i = (cap > 0 ? want + 1 : 0); i < sizeof(buf); i++) {
      cr_assert_eq(buf[i], 'X', "cap %zu: byte %zu written", cap, i);
    }
  }
}

Test(pystr_utf8, cap_edge_cases) {
  static const uint8_t s[] = {'h', 'i'};
  cr_assert_eq(pystr_encode_utf8(1, s, 2, NULL, 0), 0);
  char one[1] = {'X'};
  cr_assert_eq(pystr_encode_utf8(1, s, 2, one, 1), 0);
  cr_assert_eq(one[0], '\0');
  static const uint16_t wide[] = {0x8A08};
  char three[3] = {'X', 'X', 'X'};
  cr_assert_eq(pystr_encode_utf8(2, wide, 1, three, 3), 0); /* 3-byte char needs cap 4 */
  cr_assert_eq(three[0], '\0');
  cr_assert_eq(three[1], 'X');
  char four[4];
  cr_assert_eq(pystr_encode_utf8(2, wide, 1, four, 4), 3);
  cr_assert_str_eq(four, "\xE8\xA8\x88");
}

Test(pystr_utf8, bad_arguments) {
  static const uint8_t s[] = {'x'};
  char out[8];
  cr_assert_eq(pystr_encode_utf8(3, s, 1, out, sizeof(out)), PP_EINVAL);
  cr_assert_eq(pystr_encode_utf8(0, s, 1, out, sizeof(out)), PP_EINVAL);
  cr_assert_eq(pystr_encode_utf8(8, s, 1, out, sizeof(out)), PP_EINVAL);
  cr_assert_eq(pystr_encode_utf8(1, NULL, 1, out, sizeof(out)), PP_EINVAL);
  cr_assert_eq(pystr_encode_utf8(1, s, 1, NULL, 8), PP_EINVAL);
  cr_assert_eq(pystr_encode_utf8(1, NULL, 0, out, sizeof(out)), 0);
  cr_assert_eq(out[0], '\0');
}

Test(pystr_utf8, unaligned_input) {
  uint8_t raw[1 + 3 * 4];
  const uint32_t cps[] = {0x1F600, 0xE9, 'q'};
  memcpy(raw + 1, cps, sizeof(cps));
  expect_utf8(4, raw + 1, 3, "\xF0\x9F\x98\x80\xC3\xA9q");
  const uint16_t u16[] = {0x8A08, 0x7B97};
  memcpy(raw + 1, u16, sizeof(u16));
  expect_utf8(2, raw + 1, 2, "\xE8\xA8\x88\xE7\xAE\x97");
}

/* Ground truth from CPython: the script prints, for each test string, its
 * PEP 393 kind, its code points in that kind (little-endian, as in memory on
 * this machine) and the UTF-8 Python produces with every surrogate replaced
 * by U+FFFD. */
static const char PY_SCRIPT[] =
    "import random, sys\n"
    "rng = random.Random(7)\n"
    "tests = ['caf\\u00e9', '\\u8a08\\u7b97', '\\U0001f600', 'a\\u00e9\\u8a08\\U0001f600z',\n"
    "         'x\\ud800y', '\\udfff', '\\ud83d\\ude00', ''.join(map(chr, range(1, 256))),\n"
    "         '\\u0800\\uffff\\U00010000\\U0010ffff', 'plain ascii']\n"
    "pools = [(1, 255), (0x100, 0xffff), (0x10000, 0x10ffff), (0xd700, 0xe100)]\n"
    "for i in range(200):\n"
    "    lo, hi = pools[i % 4]\n"
    "    s = ''.join(chr(rng.choice([rng.randrange(1, 128), rng.randrange(lo, hi + 1)]))\n"
    "                for _ in range(rng.randrange(0, 40)))\n"
    "    tests.append(s)\n"
    "for s in tests:\n"
    "    m = max(map(ord, s), default=0)\n"
    "    kind = 1 if m < 256 else 2 if m < 65536 else 4\n"
    "    enc = {1: 'latin-1', 2: 'utf-16-le', 4: 'utf-32-le'}[kind]\n"
    "    raw = s.encode(enc, 'surrogatepass')\n"
    "    fixed = ''.join('\\ufffd' if 0xd800 <= ord(c) <= 0xdfff else c for c in s)\n"
    "    print(kind, len(s), raw.hex() or '-', fixed.encode('utf-8').hex() or '-')\n";

static int hexval(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  return -1;
}

static size_t unhex(const char *hex, uint8_t *out, size_t cap) {
  if (strcmp(hex, "-") == 0) {
    return 0;
  }
  size_t n = strlen(hex) / 2;
  cr_assert(n <= cap);
  for (size_t i = 0; i < n; i++) {
    int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
    cr_assert(hi >= 0 && lo >= 0);
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  return n;
}

Test(pystr_utf8, agrees_with_cpython) {
  const char *python = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : NULL;
  if (!python) {
    cr_skip_test("no /usr/bin/python3 to produce reference encodings");
  }
  char path[] = "/tmp/pyprof-utf8-XXXXXX";
  int fd = mkstemp(path);
  cr_assert(fd >= 0);
  cr_assert_eq(write(fd, PY_SCRIPT, sizeof(PY_SCRIPT) - 1), (ssize_t)(sizeof(PY_SCRIPT) - 1));
  close(fd);
  char cmd[256];
  snprintf(cmd, sizeof(cmd), "%s %s", python, path);
  FILE *f = popen(cmd, "r"); /* owned: pclose below */
  cr_assert(f);
  static uint8_t raw[4096], want[4096];
  static char got[4096];
  char *line = NULL; /* owned: getline buffer, freed below */
  size_t cap = 0;
  unsigned count = 0;
  while (getline(&line, &cap, f) > 0) {
    unsigned kind = 0;
    size_t len = 0;
    char rawhex[8192], wanthex[8192];
    cr_assert_eq(sscanf(line, "%u %zu %8191s %8191s", &kind, &len, rawhex, wanthex), 4);
    size_t nraw = unhex(rawhex, raw, sizeof(raw));
    cr_assert_eq(nraw, len * kind);
    size_t nwant = unhex(wanthex, want, sizeof(want));
    int n = pystr_encode_utf8(kind, raw, len, got, sizeof(got));
    cr_assert_eq(n, (int)nwant, "string %u (kind %u): %d bytes, want %zu", count, kind, n, nwant);
    cr_assert_eq(memcmp(got, want, nwant), 0, "string %u (kind %u) differs", count, kind);
    cr_assert_eq(got[n], '\0');
    count++;
  }
  free(line);
  int status = pclose(f);
  unlink(path);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "python failed: %d", status);
  cr_assert_eq(count, 210, "read %u strings", count);
}
