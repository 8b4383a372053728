/* Helpers shared by the Criterion unit tests (test_support.h). */
#include "test_support.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define GOLDEN_DIR PYPROF_SOURCE_DIR "/tests/golden"

/* ---- files in a temporary directory per test ---------------------------- */

static char tmpdir[64];

void ts_tmpdir_make(const char *prefix) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/%s-XXXXXX", prefix);
  cr_assert_not_null(mkdtemp(tmpdir));
}

void ts_tmpdir_remove(void) {
  DIR *d = opendir(tmpdir);
  if (!d)
    return;
  struct dirent *e;
  char p[512];
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
    unlink(p);
  }
  closedir(d);
  rmdir(tmpdir);
}

const char *ts_tmpdir(void) {
  return tmpdir;
}

char *ts_path(const char *name) {
  static char bufs[8][512];
  static int k;
  char *b = bufs[k++ & 7];
  snprintf(b, 512, "%s/%s", tmpdir, name);
  return b;
}

void *ts_slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb"); /* owned: fclose below */
  if (!f)
    return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1); /* owned by the caller */
  cr_assert_eq(fread(b, 1, (size_t)n, f), (size_t)n);
  b[n] = '\0';
  fclose(f);
  if (len)
    *len = (size_t)n;
  return b;
}

void *ts_slurp_existing(const char *path, size_t *len) {
  void *b = ts_slurp(path, len); /* owned by the caller */
  cr_assert_not_null(b, "open %s", path);
  return b;
}

void ts_spit(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb"); /* owned: fclose below */
  cr_assert_not_null(f);
  if (len)
    cr_assert_eq(fwrite(data, 1, len, f), len);
  cr_assert_eq(fclose(f), 0);
}

int ts_sh(const char *cmd, char **err) {
  char full[4096];
  snprintf(full, sizeof full, "%s 2>%s </dev/null", cmd, ts_path("sh-stderr"));
  int st = system(full);
  char *e = ts_slurp(ts_path("sh-stderr"), NULL); /* owned: to *err or freed */
  if (err)
    *err = e;
  else
    free(e);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- records and reports ------------------------------------------------- */

void ts_write_frames(struct record_writer *w, const char *const *strs, size_t nstrs,
                     const struct ts_frame *fd, size_t nframes, uint32_t *f) {
  uint32_t *s = malloc((nstrs + 1) * sizeof *s); /* owned: string ids, freed below */
  cr_assert_not_null(s);
  for (size_t i = 0; i < nstrs; i++)
    cr_assert_eq(record_writer_string(w, strs[i], strlen(strs[i]), &s[i]), 0);
  for (size_t i = 0; i < nframes; i++)
    cr_assert_eq(record_writer_frame(w, (enum record_frame_kind)fd[i].kind, s[fd[i].name],
                                     s[fd[i].file], fd[i].first, fd[i].line, &f[i]),
                 0);
  free(s);
}

struct profile *ts_load(const char *const *paths, size_t n, int skip_idle) {
  struct profile *p = NULL; /* owned by the caller */
  struct profile_options o = {skip_idle};
  cr_assert_eq(profile_create(&p, &o), 0);
  char msg[512];
  for (size_t i = 0; i < n; i++)
    cr_assert_eq(profile_add_file(p, paths[i], msg, sizeof msg), 0, "%s", msg);
  cr_assert_eq(profile_finish(p), 0);
  return p;
}

char *ts_render(const struct profile *p, const char *format, const struct report_options *o) {
  const struct report_format *fmt = report_format_find(format);
  cr_assert_not_null(fmt, "no format %s", format);
  char *buf = NULL; /* owned by the caller */
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len); /* owned: fclose below */
  cr_assert_not_null(f);
  cr_assert_eq(fmt->write(p, o, f), 0, "%s failed", format);
  cr_assert_eq(fclose(f), 0);
  return buf;
}

void ts_same_text(const char *got, const char *want, const char *what) {
  size_t i = 0;
  while (got[i] && got[i] == want[i])
    i++;
  size_t from = i > 60 ? i - 60 : 0;
  cr_assert(got[i] == want[i], "%s: first difference at byte %zu:\n got: %.160s\nwant: %.160s",
            what, i, got + from, want + from);
}

void ts_check_golden(const char *name, const char *got) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", GOLDEN_DIR, name);
  const char *upd = getenv("PYPROF_UPDATE_GOLDEN");
  if (upd && *upd == '1')
    ts_spit(path, got, strlen(got));
  char *want = ts_slurp(path, NULL); /* owned */
  cr_assert_not_null(want, "missing golden file %s (PYPROF_UPDATE_GOLDEN=1 creates it)", path);
  ts_same_text(got, want, path);
  free(want);
}

/* ---- interpreters and tests/layout_dump.py ------------------------------- */

/* Newest executable match of a glob pattern into out; 0 if none. */
static int glob_last(const char *pattern, char *out, size_t cap) {
  glob_t g;
  int found = 0;
  if (glob(pattern, 0, NULL, &g) == 0 && g.gl_pathc > 0) {
    for (size_t i = g.gl_pathc; i-- > 0;) {
      if (access(g.gl_pathv[i], X_OK) == 0) {
        snprintf(out, cap, "%s", g.gl_pathv[i]);
        found = 1;
        break;
      }
    }
  }
  globfree(&g);
  return found;
}

static int on_path(const char *name, char *out, size_t cap) {
  const char *path = getenv("PATH");
  if (!path)
    return 0;
  char *copy = strdup(path); /* owned */
  int found = 0;
  for (char *save = NULL, *dir = strtok_r(copy, ":", &save); dir && !found;
       dir = strtok_r(NULL, ":", &save)) {
    snprintf(out, cap, "%s/%s", dir, name);
    found = access(out, X_OK) == 0;
  }
  free(copy);
  return found;
}

int ts_find_python(int minor, char *out, size_t cap, char *looked, size_t lcap) {
  char dummy[8];
  if (!looked) {
    looked = dummy;
    lcap = sizeof dummy;
  }
  const char *home = getenv("HOME");
  char pat[512];
  snprintf(pat, sizeof pat, "%s/.pyenv/versions/3.%d.*/bin/python3.%d", home ? home : "", minor,
           minor);
  snprintf(looked, lcap, "%s", pat);
  if (glob_last(pat, out, cap))
    return 1;
  if (minor < 14)
    return 0;
  char name[32];
  snprintf(name, sizeof name, "python3.%d", minor);
  if (on_path(name, out, cap))
    return 1;
  snprintf(pat, sizeof pat, "%s/.cache/pyprof-pythons*/3.%d/bin/python3.%d", home ? home : "",
           minor, minor);
  if (glob_last(pat, out, cap))
    return 1;
  snprintf(pat, sizeof pat, "/tmp/py3%d*/bin/python3.%d", minor, minor);
  if (glob_last(pat, out, cap))
    return 1;
  /* tools/provision-chroot.sh: a wrapper that runs the chroot's python */
  const char *root = getenv("PYPROF_CHROOT");
  if (root && *root)
    snprintf(pat, sizeof pat, "%s.bin/python3.%d", root, minor);
  else
    snprintf(pat, sizeof pat, "%s/.cache/pyprof-chroot/sid.bin/python3.%d", home ? home : "", minor);
  if (glob_last(pat, out, cap))
    return 1;
  snprintf(looked, lcap, "pyenv, PATH, ~/.cache/pyprof-pythons*/3.%d, /tmp/py3%d*, the sid chroot",
           minor, minor);
  return 0;
}

void ts_with_python(const char *who, int minor, ts_python_check_fn check) {
  char py[512], looked[512];
  if (!ts_find_python(minor, py, sizeof py, looked, sizeof looked)) {
    fprintf(stderr, "%s: skipping 3.%d: no interpreter (looked in %s)\n", who, minor, looked);
    cr_skip_test("no CPython 3.%d found (looked in %s)", minor, looked);
  }
  check(py, minor);
}

void ts_with_ft_python(const char *who, ts_python_check_fn check) {
  char py[512] = "";
  const char *env = getenv("PYPROF_FT_PYTHON");
  const char *home = getenv("HOME");
  char pat[512];
  snprintf(pat, sizeof pat, "%s/.cache/pyprof-pythons*/3.14t/bin/python3.14t", home ? home : "");
  if (env && *env && access(env, X_OK) == 0)
    snprintf(py, sizeof py, "%s", env);
  else if (!glob_last("/tmp/ft/3.14t/bin/python3.14t", py, sizeof py) &&
           !glob_last("/tmp/*/3.14t/bin/python3.14t", py, sizeof py) &&
           !glob_last(pat, py, sizeof py)) {
    fprintf(stderr, "%s: skipping 3.14t: no free-threaded build (set PYPROF_FT_PYTHON)\n", who);
    cr_skip_test("no free-threaded 3.14 build (PYPROF_FT_PYTHON, /tmp/*/3.14t, %s)", pat);
  }
  check(py, 14);
}

void ts_with_debian_python(const char *who, ts_python_check_fn check) {
  const char *py = "/usr/bin/python3.11";
  if (access(py, X_OK) != 0) {
    fprintf(stderr, "%s: skipping %s: not installed\n", who, py);
    cr_skip_test("%s not installed", py);
  }
  check(py, 11);
}

FILE *ts_layout_dump(const char *python, const char *args, char *cmd, size_t cmdcap) {
  snprintf(cmd, cmdcap, "%s %s/tests/layout_dump.py %s", python, PYPROF_SOURCE_DIR, args);
  FILE *p = popen(cmd, "r"); /* owned by the caller: pclose */
  cr_assert(p, "popen %s", cmd);
  return p;
}

char *ts_split(char *line, char **args, int nargs) {
  char *save = NULL;
  char *kw = strtok_r(line, " \n", &save);
  for (int i = 0; i < nargs; i++)
    args[i] = kw ? strtok_r(NULL, " \n", &save) : NULL;
  return kw;
}

size_t ts_unhex(const char *s, uint8_t *out, size_t cap) {
  size_t n = 0;
  if (strcmp(s, "-") == 0)
    return 0;
  while (s[0] && s[1] && n < cap) {
    unsigned v;
    if (sscanf(s, "%2x", &v) != 1)
      break;
    out[n++] = (uint8_t)v;
    s += 2;
  }
  return n;
}

uint8_t *ts_unhex_alloc(const char *s, size_t *n) {
  size_t len = strcmp(s, "-") ? strlen(s) / 2 : 0;
  uint8_t *out = malloc(len + 1); /* owned by the caller */
  cr_assert(out);
  cr_assert(ts_unhex(s, out, len) == len, "not hex: %.80s", s);
  out[len] = 0;
  *n = len;
  return out;
}

struct mem_image *ts_image(uint64_t addr, const void *data, size_t len, struct mem_reader *r) {
  struct mem_image *img = NULL; /* owned by the caller */
  cr_assert_eq(mem_image_new(&img), 0);
  if (len)
    cr_assert_eq(mem_image_add(img, addr, data, len), 0);
  mem_image_reader(img, r);
  return img;
}
