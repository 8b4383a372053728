/* Line-table decoders against real interpreters, hand-built tables, and
 * malformed input.
 *
 * The interpreter cases run tests/linetable_vectors.py with each CPython found
 * on this machine; the script prints every code object's raw table with the
 * line CPython's own PyCode_Addr2Line gives at every offset, and the decoder
 * must agree everywhere. A missing interpreter skips its case; a present one
 * must pass. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pyprof/common/error.h"
#include "pyprof/python/linetable.h"

#define VECTORS_SCRIPT PYPROF_SOURCE_DIR "/tests/linetable_vectors.py"

/* ---- helpers ---------------------------------------------------------- */

/* Every structural promise of a map, whatever table it came from. */
static void check_map_invariants(const struct line_map *m, size_t table_len, const char *what) {
  cr_assert(m->n == 0 || m->ranges != NULL, "%s: n=%u without ranges", what, m->n);
  cr_assert(m->n <= table_len + 1, "%s: %u ranges from %zu bytes", what, m->n, table_len);
  for (uint32_t i = 0; i < m->n; i++) {
    const struct line_range *r = &m->ranges[i];
    cr_assert(r->start < r->end, "%s: empty range %u [%u,%u)", what, i, r->start, r->end);
    cr_assert(r->line >= -1, "%s: range %u line %d", what, i, r->line);
    if (i == 0) {
      cr_assert_eq(r->start, 0, "%s: first range starts at %u", what, r->start);
    } else {
      const struct line_range *p = &m->ranges[i - 1];
      cr_assert_eq(p->end, r->start, "%s: ranges %u/%u not contiguous", what, i - 1, i);
      cr_assert(p->line != r->line, "%s: ranges %u/%u not merged", what, i - 1, i);
    }
  }
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

/* Decode hex text into a malloc'd buffer (caller frees); "-" is empty. */
static uint8_t *unhex(const char *hex, size_t *len) {
  size_t n = strcmp(hex, "-") == 0 ? 0 : strlen(hex);
  cr_assert(n % 2 == 0, "odd hex length %zu", n);
  uint8_t *buf = malloc(n / 2 + 1); /* owned: returned to the caller */
  cr_assert(buf);
  for (size_t i = 0; i < n / 2; i++) {
    int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
    cr_assert(hi >= 0 && lo >= 0, "bad hex digit");
    buf[i] = (uint8_t)(hi << 4 | lo);
  }
  *len = n / 2;
  return buf;
}

/* Parse the space-separated integers after a record tag. */
static size_t parse_ints(char *text, long *vals, size_t max) {
  size_t n = 0;
  char *save = NULL;
  for (char *tok = strtok_r(text, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
    cr_assert(n < max, "too many values");
    char *end = NULL;
    vals[n++] = strtol(tok, &end, 10);
    cr_assert(end && *end == '\0', "bad integer '%s'", tok);
  }
  return n;
}

/* ---- interpreter ground truth ---------------------------------------- */

/* First existing interpreter among the glob patterns, copied into path. */
static int find_python(const char *const *patterns, char *path, size_t cap) {
  for (const char *const *p = patterns; *p; p++) {
    glob_t g;
    if (glob(*p, 0, NULL, &g) == 0) {
      for (size_t i = 0; i < g.gl_pathc; i++) {
        if (access(g.gl_pathv[i], X_OK) == 0) {
          snprintf(path, cap, "%s", g.gl_pathv[i]);
          globfree(&g);
          return 1;
        }
      }
    }
    globfree(&g);
  }
  return 0;
}

/* Look name up on PATH (for python3.14). */
static int find_on_path(const char *name, char *path, size_t cap) {
  const char *env = getenv("PATH");
  if (!env) {
    return 0;
  }
  char *copy = strdup(env); /* owned: freed below */
  cr_assert(copy);
  int found = 0;
  char *save = NULL;
  for (char *dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
    snprintf(path, cap, "%s/%s", dir, name);
    found = access(path, X_OK) == 0;
  }
  free(copy);
  return found;
}

struct vec_state {
  const char *python;
  enum py_linetable_kind kind;
  long step;
  struct line_map map;    /* owned: the current CODE record's map */
  uint8_t *table;         /* owned: its raw table */
  size_t table_len;
  char name[256];
  long firstlineno;
  long *raw;              /* owned: RAW values of the current record */
  size_t nraw;
  unsigned codes, offsets_checked, frames_checked, mismatches;
};

static void note_mismatch(struct vec_state *s, const char *what, long offset, long want, long got) {
  if (s->mismatches++ < 20) {
    cr_log_error("%s: %s offset %ld: %s want %ld got %ld", s->python, s->name, offset, what, want,
                 got);
  }
}

static void vec_code(struct vec_state *s, char *rest) {
  char *save = NULL;
  char *name = strtok_r(rest, " \n", &save);
  char *first = strtok_r(NULL, " \n", &save);
  char *step = strtok_r(NULL, " \n", &save);
  char *hex = strtok_r(NULL, " \n", &save);
  cr_assert(name && first && step && hex, "bad CODE record");
  line_map_free(&s->map);
  free(s->table);
  snprintf(s->name, sizeof(s->name), "%s", name);
  s->firstlineno = strtol(first, NULL, 10);
  cr_assert_eq(strtol(step, NULL, 10), s->step);
  s->table = unhex(hex, &s->table_len);
  int rc = line_map_decode(s->kind, s->table, s->table_len, (int32_t)s->firstlineno, &s->map);
  cr_assert_eq(rc, 0, "%s: %s: decode gave %s", s->python, s->name, pp_errname(rc));
  check_map_invariants(&s->map, s->table_len, s->name);
  s->codes++;
}

static void vec_raw(struct vec_state *s, char *rest) {
  free(s->raw);
  size_t max = strlen(rest) / 2 + 1;
  s->raw = malloc(max * sizeof(long)); /* owned: by s until the next RAW */
  cr_assert(s->raw);
  s->nraw = parse_ints(rest, s->raw, max);
  for (size_t i = 0; i < s->nraw; i++) {
    long off = (long)i * s->step;
    const struct line_range *r = line_map_find(&s->map, off);
    if (!r) {
      note_mismatch(s, "range", off, s->raw[i], -999);
      continue;
    }
    if (r->line != s->raw[i]) {
      note_mismatch(s, "raw line", off, s->raw[i], r->line);
    }
    s->offsets_checked++;
  }
}

static void vec_lookup(struct vec_state *s, char *rest) {
  size_t max = strlen(rest) / 2 + 1;
  long *want = malloc(max * sizeof(long)); /* owned: freed below */
  cr_assert(want);
  size_t n = parse_ints(rest, want, max);
  cr_assert_eq(n, s->nraw, "%s: LOOKUP/RAW length mismatch", s->name);
  for (size_t i = 0; i < n; i++) {
    long off = (long)i * s->step;
    long got = line_map_lookup(&s->map, off);
    if (got != want[i]) {
      note_mismatch(s, "lookup", off, want[i], got);
    }
    /* Every byte inside an instruction maps like its first byte. */
    for (long k = 1; k < s->step; k++) {
      long inner = line_map_lookup(&s->map, off + k);
      if (inner != want[i]) {
        note_mismatch(s, "lookup (odd byte)", off + k, want[i], inner);
      }
    }
  }
  free(want);
}

static void vec_neg(struct vec_state *s, char *rest) {
  long v[2];
  cr_assert_eq(parse_ints(rest, v, 2), 2);
  if (line_map_lookup(&s->map, -2) != v[0]) {
    note_mismatch(s, "lookup", -2, v[0], line_map_lookup(&s->map, -2));
  }
  if (line_map_lookup(&s->map, -1) != v[1]) {
    note_mismatch(s, "lookup", -1, v[1], line_map_lookup(&s->map, -1));
  }
  cr_assert_null(line_map_find(&s->map, -1));
}

/* A live frame: the sampler's offset must give the line CPython showed. */
static void vec_frame(struct vec_state *s, char *rest) {
  long v[2];
  cr_assert_eq(parse_ints(rest, v, 2), 2);
  long got = line_map_lookup(&s->map, v[0]);
  if (got != v[1]) {
    note_mismatch(s, "live frame", v[0], v[1], got);
  }
  s->frames_checked++;
}

/* Run the vector script with python and check every record. */
static void run_vectors(const char *python, int minor) {
  char cmd[4096];
  snprintf(cmd, sizeof(cmd), "'%s' '%s'", python, VECTORS_SCRIPT);
  FILE *f = popen(cmd, "r"); /* owned: pclose below */
  cr_assert(f, "popen %s failed", cmd);

  struct vec_state s;
  memset(&s, 0, sizeof(s));
  s.python = python;
  char *line = NULL; /* owned: getline buffer, freed below */
  size_t cap = 0;
  long end_count = -1;
  int have_version = 0;
  while (getline(&line, &cap, f) > 0) {
    char *sp = strchr(line, ' ');
    cr_assert(sp, "bad record '%.40s'", line);
    *sp = '\0';
    char *rest = sp + 1;
    if (strcmp(line, "VERSION") == 0) {
      long v[4];
      cr_assert_eq(parse_ints(rest, v, 4), 4);
      cr_assert_eq(v[0], 3);
      cr_assert_eq(v[1], minor, "%s is 3.%ld, expected 3.%d", python, v[1], minor);
      s.kind = (enum py_linetable_kind)v[3];
      s.step = s.kind == PY_LINETABLE_LNOTAB ? 1 : 2;
      cr_assert_eq(s.kind, minor < 10 ? PY_LINETABLE_LNOTAB
                           : minor == 10 ? PY_LINETABLE_310 : PY_LINETABLE_LOCATIONS);
      cr_log_info("%s: CPython 3.%ld.%ld", python, v[1], v[2]);
      have_version = 1;
    } else {
      cr_assert(have_version, "record before VERSION");
      if (strcmp(line, "CODE") == 0) {
        vec_code(&s, rest);
      } else if (strcmp(line, "RAW") == 0) {
        vec_raw(&s, rest);
      } else if (strcmp(line, "LOOKUP") == 0) {
        vec_lookup(&s, rest);
      } else if (strcmp(line, "NEG") == 0) {
        vec_neg(&s, rest);
      } else if (strcmp(line, "FRAME") == 0) {
        vec_frame(&s, rest);
      } else if (strcmp(line, "END") == 0) {
        end_count = strtol(rest, NULL, 10);
      } else {
        cr_assert_fail("unknown record %s", line);
      }
    }
  }
  free(line);
  int status = pclose(f);
  line_map_free(&s.map);
  free(s.table);
  free(s.raw);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: script failed (status %d)",
            python, status);
  cr_assert_eq(end_count, (long)s.codes, "%s: END %ld but %u CODE records", python, end_count,
               s.codes);
  cr_assert_gt(s.codes, 20);
  cr_assert_gt(s.frames_checked, 15);
  cr_assert_eq(s.mismatches, 0, "%s: %u mismatches (first ones logged)", python, s.mismatches);
  cr_log_info("%s: %u code objects, %u offsets and %u live frames agree", python, s.codes,
              s.offsets_checked, s.frames_checked);
}

static void python_case(int minor, const char *const *patterns) {
  char path[1024];
  if (!find_python(patterns, path, sizeof(path))) {
    cr_skip_test("no CPython 3.%d interpreter found (looked for %s ...)", minor, patterns[0]);
  }
  run_vectors(path, minor);
}

static const char *home_pattern(const char *fmt, char *buf, size_t cap) {
  const char *home = getenv("HOME");
  snprintf(buf, cap, fmt, home ? home : "/nonexistent");
  return buf;
}

static void pyenv_case(int minor) {
  char pat[1024], ver[16];
  snprintf(ver, sizeof(ver), "3.%d", minor);
  char fmt[256];
  snprintf(fmt, sizeof(fmt), "%%s/.pyenv/versions/%s.*/bin/python%s", ver, ver);
  const char *patterns[] = {home_pattern(fmt, pat, sizeof(pat)), NULL};
  python_case(minor, patterns);
}

Test(linetable_python, cpython_3_8) { pyenv_case(8); }
Test(linetable_python, cpython_3_9) { pyenv_case(9); }
Test(linetable_python, cpython_3_10) { pyenv_case(10); }
Test(linetable_python, cpython_3_11) { pyenv_case(11); }
Test(linetable_python, cpython_3_11_system) {
  const char *patterns[] = {"/usr/bin/python3.11", NULL};
  python_case(11, patterns);
}
Test(linetable_python, cpython_3_12) { pyenv_case(12); }
Test(linetable_python, cpython_3_13) { pyenv_case(13); }
Test(linetable_python, cpython_3_14) {
  char path[1024];
  if (find_on_path("python3.14", path, sizeof(path))) {
    run_vectors(path, 14);
    return;
  }
  char pat1[1024], pat2[1024];
  const char *patterns[] = {
      home_pattern("%s/.cache/pyprof-pythons*/3.14/bin/python3.14", pat1, sizeof(pat1)),
      home_pattern("%s/.pyenv/versions/3.14*/bin/python3.14", pat2, sizeof(pat2)),
      "/tmp/py314*/bin/python3.14", NULL};
  python_case(14, patterns);
}

/* ---- hand-built tables ------------------------------------------------ */

static void decode_ok(enum py_linetable_kind kind, const uint8_t *t, size_t len, int32_t first,
                      struct line_map *m) {
  int rc = line_map_decode(kind, t, len, first, m);
  cr_assert_eq(rc, 0, "decode gave %s", pp_errname(rc));
  check_map_invariants(m, len, "hand-built");
}

static void expect_range(const struct line_map *m, uint32_t i, uint32_t start, uint32_t end,
                         int32_t line) {
  cr_assert_lt(i, m->n, "range %u missing (n=%u)", i, m->n);
  cr_assert_eq(m->ranges[i].start, start, "range %u start %u", i, m->ranges[i].start);
  cr_assert_eq(m->ranges[i].end, end, "range %u end %u", i, m->ranges[i].end);
  cr_assert_eq(m->ranges[i].line, line, "range %u line %d", i, m->ranges[i].line);
}

Test(linetable, lnotab_semantics) {
  struct line_map m;
  /* Empty: everything is firstlineno. */
  decode_ok(PY_LINETABLE_LNOTAB, NULL, 0, 7, &m);
  cr_assert_eq(m.n, 1);
  expect_range(&m, 0, 0, UINT32_MAX, 7);
  cr_assert_eq(line_map_lookup(&m, -1), 7);
  cr_assert_eq(line_map_lookup(&m, 1000000), 7);
  line_map_free(&m);

  /* (0,+1) at address 0, then 6 bytes, then +2 split as (0,+1)(0,+1), then a
   * 300-byte gap as (255,0)(45,-3) and a -128 line increment. */
  static const uint8_t t[] = {0, 1, 6, 1, 0, 1, 255, 0, 45, 0xfd, 4, 0x80};
  decode_ok(PY_LINETABLE_LNOTAB, t, sizeof(t), 200, &m);
  expect_range(&m, 0, 0, 6, 201);
  expect_range(&m, 1, 6, 306, 203);
  expect_range(&m, 2, 306, 310, 200);
  expect_range(&m, 3, 310, UINT32_MAX, 72);
  cr_assert_eq(m.n, 4);
  cr_assert_eq(line_map_lookup(&m, -1), 200);
  cr_assert_eq(line_map_lookup(&m, 0), 201);
  cr_assert_eq(line_map_lookup(&m, 5), 201);
  cr_assert_eq(line_map_lookup(&m, 6), 203);
  cr_assert_eq(line_map_lookup(&m, 309), 200);
  cr_assert_eq(line_map_lookup(&m, 310), 72);
  cr_assert_eq(line_map_lookup(&m, 1 << 30), 72);
  line_map_free(&m);
  line_map_free(&m); /* idempotent */
  cr_assert_null(m.ranges);
}

Test(linetable, py310_semantics) {
  struct line_map m;
  /* 4 bytes +1, 0-byte +127 +3 (line jump, no code), 8 bytes no line,
   * 2 bytes -5, 254+4 bytes same line, 2 bytes no line at the end. */
  static const uint8_t t[] = {4, 1, 0, 127, 0, 3, 8, 0x80, 2, 0xfb, 254, 0, 4, 0, 2, 0x80};
  decode_ok(PY_LINETABLE_310, t, sizeof(t), 10, &m);
  expect_range(&m, 0, 0, 4, 11);
  expect_range(&m, 1, 4, 12, -1);
  expect_range(&m, 2, 12, 272, 136);
  expect_range(&m, 3, 272, 274, -1);
  cr_assert_eq(m.n, 4);
  cr_assert_eq(line_map_lookup(&m, -2), 10);
  cr_assert_eq(line_map_lookup(&m, 0), 11);
  cr_assert_eq(line_map_lookup(&m, 4), 11); /* no line: the previous one */
  cr_assert_eq(line_map_lookup(&m, 12), 136);
  cr_assert_eq(line_map_lookup(&m, 272), 136);
  cr_assert_eq(line_map_lookup(&m, 5000), 136); /* past the table */
  cr_assert_null(line_map_find(&m, 274));
  cr_assert_eq(line_map_find(&m, 6)->line, -1);
  line_map_free(&m);

  /* A table starting with no-line code looks up as firstlineno. */
  static const uint8_t t2[] = {2, 0x80, 2, 1};
  decode_ok(PY_LINETABLE_310, t2, sizeof(t2), 3, &m);
  expect_range(&m, 0, 0, 2, -1);
  expect_range(&m, 1, 2, 4, 4);
  cr_assert_eq(line_map_lookup(&m, 0), 3);
  cr_assert_eq(line_map_lookup(&m, 2), 4);
  line_map_free(&m);
}

Test(linetable, locations_every_form) {
  struct line_map m;
  static const uint8_t t[] = {
      0x80 | (14 << 3) | 0, 0x02, 0x00, 0x05, 0x09, /* long: +1, 1 unit */
      0x80 | (3 << 3) | 1, 0x12,                    /* short form, 2 units, same line */
      0x80 | (12 << 3) | 0, 4, 9,                   /* one-line +2 */
      0x80 | (15 << 3) | 2,                         /* no location, 3 units */
      0x80 | (13 << 3) | 7, 0x40 | 0x11, 0x03,      /* no columns, 8 units: 17 | 3 << 6 = 209 → -104 */
      0x80 | (14 << 3) | 0, 0x50, 0x01, 0x00, 0x7f, 0x01, 0x01, /* long: 16 | 1 << 6 = 80 → +40 */
      0x80 | (10 << 3) | 0, 1, 2,                   /* one-line +0 */
  };
  /* The second long entry's start column is a two-chunk varint (0x7f 0x01). */
  decode_ok(PY_LINETABLE_LOCATIONS, t, sizeof(t), 300, &m);
  expect_range(&m, 0, 0, 6, 301);  /* long + short merge: 1 + 2 units */
  expect_range(&m, 1, 6, 8, 303);
  expect_range(&m, 2, 8, 14, -1);
  expect_range(&m, 3, 14, 30, 199);
  expect_range(&m, 4, 30, 34, 239);
  cr_assert_eq(m.n, 5);
  cr_assert_eq(line_map_lookup(&m, 8), 303);
  cr_assert_eq(line_map_lookup(&m, 12), 303);
  cr_assert_eq(line_map_lookup(&m, 14), 199);
  cr_assert_eq(line_map_lookup(&m, -2), 300);
  line_map_free(&m);
}

Test(linetable, locations_line_zero_and_no_location_start) {
  struct line_map m;
  /* 3.12 module code: RESUME at line 0 (delta -1 from firstlineno 1). */
  static const uint8_t t[] = {0x80 | (15 << 3) | 0, 0x80 | (13 << 3) | 0, 0x03,
                              0x80 | (13 << 3) | 0, 0x04};
  decode_ok(PY_LINETABLE_LOCATIONS, t, sizeof(t), 1, &m);
  expect_range(&m, 0, 0, 2, -1);
  expect_range(&m, 1, 2, 4, 0);
  expect_range(&m, 2, 4, 6, 2);
  cr_assert_eq(line_map_lookup(&m, 0), 1);
  cr_assert_eq(line_map_lookup(&m, 2), 0);
  line_map_free(&m);
}

Test(linetable, malformed_tables) {
  struct line_map m;
  /* Odd-length pair tables: the whole pairs are kept. */
  static const uint8_t odd[] = {4, 1, 9};
  cr_assert_eq(line_map_decode(PY_LINETABLE_310, odd, sizeof(odd), 1, &m), PP_ECORRUPT);
  cr_assert_eq(m.n, 1);
  expect_range(&m, 0, 0, 4, 2);
  line_map_free(&m);
  cr_assert_eq(line_map_decode(PY_LINETABLE_LNOTAB, odd, sizeof(odd), 1, &m), PP_ECORRUPT);
  cr_assert_eq(m.n, 2);
  line_map_free(&m);

  /* Locations: first byte without the high bit, truncated varint, varint too
   * long, short-form payload missing, payload on a no-location entry, one-line
   * and long forms cut short. (Later bytes without the high bit are payload
   * of the entry before them, so a bad head can only be the first byte.) */
  static const uint8_t bad_head[] = {0x05, 0x80 | (13 << 3), 0x02};
  static const uint8_t trunc_varint[] = {0x80 | (13 << 3), 0x02, 0x80 | (13 << 3), 0x42};
  static const uint8_t long_varint[] = {0x80 | (13 << 3), 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x01};
  static const uint8_t short_missing[] = {0x80 | (13 << 3), 0x02, 0x80 | (2 << 3)};
  static const uint8_t extra[] = {0x80 | (13 << 3), 0x02, 0x80 | (15 << 3), 0x01};
  static const uint8_t oneline_short[] = {0x80 | (11 << 3), 0x01};
  static const uint8_t long_missing[] = {0x80 | (14 << 3), 0x02, 0x00, 0x01};
  const struct {
    const uint8_t *t;
    size_t len;
    uint32_t keep;
  } cases[] = {
      {bad_head, sizeof(bad_head), 0},          {trunc_varint, sizeof(trunc_varint), 1},
      {long_varint, sizeof(long_varint), 0},    {short_missing, sizeof(short_missing), 1},
      {extra, sizeof(extra), 1},                {oneline_short, sizeof(oneline_short), 0},
      {long_missing, sizeof(long_missing), 0},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    int rc = line_map_decode(PY_LINETABLE_LOCATIONS, cases[i].t, cases[i].len, 5, &m);
    cr_assert_eq(rc, PP_ECORRUPT, "case %zu gave %s", i, pp_errname(rc));
    cr_assert_eq(m.n, cases[i].keep, "case %zu kept %u ranges", i, m.n);
    cr_assert_eq(m.firstlineno, 5);
    cr_assert_eq(line_map_lookup(&m, 0), cases[i].keep ? 6 : 5);
    line_map_free(&m);
  }

  /* Lines leaving int32 or going below 0 are corrupt. */
  static const uint8_t neg[] = {2, 0xfb};
  cr_assert_eq(line_map_decode(PY_LINETABLE_310, neg, sizeof(neg), 1, &m), PP_ECORRUPT);
  cr_assert_eq(m.n, 0);
  line_map_free(&m);
  static const uint8_t big[] = {0x80 | (13 << 3), 0x7e, 0x7f, 0x7f, 0x7f, 0x7f, 0x07};
  cr_assert_eq(line_map_decode(PY_LINETABLE_LOCATIONS, big, sizeof(big), INT32_MAX - 5, &m),
               PP_ECORRUPT);
  cr_assert_eq(m.n, 0);
  cr_assert_eq(line_map_lookup(&m, 0), INT32_MAX - 5);
  line_map_free(&m);

  /* Bad arguments. */
  cr_assert_eq(line_map_decode((enum py_linetable_kind)9, odd, sizeof(odd), 1, &m), PP_EINVAL);
  cr_assert_eq(m.n, 0);
  cr_assert_eq(line_map_decode(PY_LINETABLE_310, NULL, 4, 1, &m), PP_EINVAL);
  cr_assert_eq(line_map_decode(PY_LINETABLE_310, odd, LINE_TABLE_MAX_BYTES + 1, 1, &m),
               PP_EBOUNDS);
  cr_assert_eq(line_map_decode(PY_LINETABLE_310, odd, 0, 1, NULL), PP_EINVAL);
  cr_assert_eq(line_map_lookup(NULL, 0), -1);
  cr_assert_null(line_map_find(NULL, 0));
  line_map_free(NULL);
}

/* ---- robustness ------------------------------------------------------- */

/* Real tables (the vectors' "tries" function) from each format. */
static const char *const REAL_TABLES[] = {
    /* 3.8 co_lnotab */
    "000104010c0110012001040102ff0c0208020c02060102010a010e0106010a0106ff02010201",
    /* 3.10 co_linetable */
    "04010c010e0114010607088004fa02010aff020202fe0a040c0202010a010c01040102ff0a02060102ff0201"
    "120152fe",
    /* 3.12 location table */
    "8000f0020a0514dc0c1090148b4a8801f00e00090a8f0789078d09e00f138804f00203050dd80f1090318975"
    "880cf8f415000c1df200010516dc0f1290318b768c0df00e0010148904fbf40d000d14dc0c16f003010c18f2"
    "0002050ee0080df00502050efbf00c0010148904fbf406000c1df20001050dd9080cf00301050dfae4090d8c"
    "688b1ef0000205259831dc0c1094188b4ef003020525d81e1fd80f108f76897690618b7998319f369936a021"
    "9b39d10f24f705020525f700020525f700020525f300020525faf700020525f700020525f100020525fa",
};
static const enum py_linetable_kind REAL_KINDS[] = {PY_LINETABLE_LNOTAB, PY_LINETABLE_310,
                                                    PY_LINETABLE_LOCATIONS};

Test(linetable_robust, truncated_real_tables) {
  for (size_t k = 0; k < 3; k++) {
    size_t len = 0;
    uint8_t *full_t = unhex(REAL_TABLES[k], &len); /* owned: freed below */
    struct line_map full;
    decode_ok(REAL_KINDS[k], full_t, len, 30, &full);
    for (size_t cut = 0; cut <= len; cut++) {
      /* A fresh heap copy of exactly cut bytes, so ASan sees any overread. */
      uint8_t *t = malloc(cut ? cut : 1); /* owned: freed below */
      cr_assert(t);
      memcpy(t, full_t, cut);
      struct line_map m;
      int rc = line_map_decode(REAL_KINDS[k], t, cut, 30, &m);
      cr_assert(rc == 0 || rc == PP_ECORRUPT, "kind %d cut %zu: %s", REAL_KINDS[k], cut,
                pp_errname(rc));
      check_map_invariants(&m, cut, "truncated");
      /* What was decoded agrees with the full table (the open-ended last
       * lnotab range excepted). */
      uint32_t nchk = m.n;
      if (REAL_KINDS[k] == PY_LINETABLE_LNOTAB && nchk > 0) {
        nchk--;
      }
      for (uint32_t i = 0; i < nchk; i++) {
        for (uint32_t off = m.ranges[i].start; off < m.ranges[i].end; off++) {
          const struct line_range *r = line_map_find(&full, off);
          cr_assert(r && r->line == m.ranges[i].line, "kind %d cut %zu off %u", REAL_KINDS[k],
                    cut, off);
        }
      }
      line_map_free(&m);
      free(t);
    }
    line_map_free(&full);
    free(full_t);
  }
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 16);
}

/* Random tables: pure noise, and for locations noise shaped like entries
 * (a head byte then 0-7 payload bytes) so decoding gets past the first entry. */
Test(linetable_robust, random_bytes) {
  const enum py_linetable_kind kinds[] = {PY_LINETABLE_LNOTAB, PY_LINETABLE_310,
                                          PY_LINETABLE_LOCATIONS};
  unsigned ok = 0, corrupt = 0;
  for (int iter = 0; iter < 30000; iter++) {
    enum py_linetable_kind kind = kinds[iter % 3];
    size_t len = rnd() % 400;
    uint8_t *t = malloc(len ? len : 1); /* owned: freed below */
    cr_assert(t);
    int shaped = kind == PY_LINETABLE_LOCATIONS && (iter / 3) % 2;
    for (size_t i = 0; i < len;) {
      if (shaped) {
        t[i++] = (uint8_t)(0x80 | rnd());
        for (unsigned p = rnd() % 8; p > 0 && i < len; p--) {
          t[i++] = (uint8_t)(rnd() & 0x7f);
        }
      } else {
        t[i++] = (uint8_t)rnd();
      }
    }
    int32_t first = (int32_t)(rnd() % 100000);
    struct line_map m;
    int rc = line_map_decode(kind, t, len, first, &m);
    cr_assert(rc == 0 || rc == PP_ECORRUPT, "iter %d: %s", iter, pp_errname(rc));
    rc == 0 ? ok++ : corrupt++;
    check_map_invariants(&m, len, "random");
    for (int q = 0; q < 16; q++) {
      int64_t off = (int64_t)(rnd() % 8000) - 4;
      int32_t line = line_map_lookup(&m, off);
      const struct line_range *r = line_map_find(&m, off);
      cr_assert(line >= 0);
      if (r && r->line >= 0) {
        cr_assert_eq(line, r->line);
      }
      if (off < 0) {
        cr_assert_eq(line, first);
      }
    }
    line_map_free(&m);
    free(t);
  }
  cr_log_info("random tables: %u decoded fully, %u corrupt (prefix kept)", ok, corrupt);
  cr_assert_gt(ok, 1000);
  cr_assert_gt(corrupt, 1000);
}

/* The range count is bounded by the table size even for a table of only
 * tiny, alternating entries. */
Test(linetable_robust, range_count_bounded) {
  enum { N = 100000 };
  uint8_t *t = malloc(N); /* owned: freed below */
  cr_assert(t);
  /* Alternate one-unit no-location and one-line (+0) entries. */
  static const uint8_t pattern[4] = {0x80 | (15 << 3), 0x80 | (10 << 3), 5, 6};
  for (size_t i = 0; i < N; i++) {
    t[i] = pattern[i % 4];
  }
  struct line_map m;
  cr_assert_eq(line_map_decode(PY_LINETABLE_LOCATIONS, t, N, 1, &m), 0);
  cr_assert_eq(m.n, N / 2);
  check_map_invariants(&m, N, "bounded");
  cr_assert_eq(line_map_lookup(&m, 0), 1);
  cr_assert_eq(line_map_lookup(&m, N - 2), 1);
  line_map_free(&m);
  for (size_t i = 0; i + 1 < N; i += 2) {
    t[i] = 1;
    t[i + 1] = (i / 2) % 2 ? 0x80 : 1;
  }
  cr_assert_eq(line_map_decode(PY_LINETABLE_310, t, N, 1, &m), 0);
  cr_assert_eq(m.n, N / 2);
  check_map_invariants(&m, N, "bounded");
  line_map_free(&m);
  free(t);
}
