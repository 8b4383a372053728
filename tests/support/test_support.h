/* Helpers shared by the Criterion unit tests (tests/test_*.c), built once as
 * the static library pyprof_test_support. Failures are Criterion assertions
 * in the calling test; "owned by the caller" results are malloc'd. */
#ifndef PYPROF_TEST_SUPPORT_H
#define PYPROF_TEST_SUPPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pyprof/proc/mem_image.h"
#include "pyprof/record/writer.h"
#include "pyprof/report/formats.h"
#include "pyprof/report/profile.h"

/* ---- files in a temporary directory per test ---------------------------- */

/* Create /tmp/<prefix>-XXXXXX as the test's directory (a suite's .init). */
void ts_tmpdir_make(const char *prefix);
/* Remove the directory and the files in it (a suite's .fini). */
void ts_tmpdir_remove(void);
/* The test's directory. */
const char *ts_tmpdir(void);
/* "<directory>/<name>", in one of 8 static buffers used in turn. */
char *ts_path(const char *name);

/* The contents of a file, NUL-terminated (owned by the caller), the length
 * in *len unless len is NULL; NULL when the file cannot be opened. */
void *ts_slurp(const char *path, size_t *len);
/* The same, failing the test when the file cannot be opened. */
void *ts_slurp_existing(const char *path, size_t *len);
/* Write len bytes of data as the whole file. */
void ts_spit(const char *path, const void *data, size_t len);

/* Run a shell command (stdin /dev/null); its exit status, or -1 when it did
 * not exit. Its stderr in *err (owned by the caller) unless err is NULL. */
int ts_sh(const char *cmd, char **err);

/* ---- records and reports ------------------------------------------------- */

/* A frame to write: kind, string indexes of name and file, lines. */
struct ts_frame {
  int kind, name, file, first, line;
};

/* Intern the nstrs strings, then the nframes frames naming them, in w; the
 * frame ids in f. */
void ts_write_frames(struct record_writer *w, const char *const *strs, size_t nstrs,
                     const struct ts_frame *fd, size_t nframes, uint32_t *f);

/* The finished profile of n record files (owned by the caller: profile_free). */
struct profile *ts_load(const char *const *paths, size_t n, int skip_idle);
/* The profile written in a format (owned by the caller). */
char *ts_render(const struct profile *p, const char *format, const struct report_options *o);

/* got == want, else a failure naming the first difference (report outputs
 * are too long for an assertion message). */
void ts_same_text(const char *got, const char *want, const char *what);
/* got against tests/golden/<name>; PYPROF_UPDATE_GOLDEN=1 rewrites the file. */
void ts_check_golden(const char *name, const char *got);

/* ---- interpreters and tests/layout_dump.py ------------------------------- */

/* CPython 3.minor: the pyenv one, or for 3.14 and later also one on PATH, in
 * ~/.cache/pyprof-pythons*, or /tmp/py3<minor>*. 1 with its path in out, or
 * 0 with where it looked in looked (unless looked is NULL). */
int ts_find_python(int minor, char *out, size_t cap, char *looked, size_t lcap);

/* A test against one interpreter. */
typedef void (*ts_python_check_fn)(const char *python, int minor);
/* check(CPython 3.minor, minor), or the test skipped (and who says so on
 * stderr) when ts_find_python finds none. */
void ts_with_python(const char *who, int minor, ts_python_check_fn check);
/* The same for a free-threaded 3.14 build (PYPROF_FT_PYTHON, else
 * /tmp/ * /3.14t or ~/.cache/pyprof-pythons* /3.14t); skipped when none. */
void ts_with_ft_python(const char *who, ts_python_check_fn check);
/* check(Debian's /usr/bin/python3.11, 11), or the test skipped. */
void ts_with_debian_python(const char *who, ts_python_check_fn check);

/* `python tests/layout_dump.py args`, reading its output (owned by the
 * caller: pclose); the command line in cmd. */
FILE *ts_layout_dump(const char *python, const char *args, char *cmd, size_t cmdcap);
/* Split a line of the dump at blanks: the keyword (NULL for a blank line),
 * and the next nargs words in args (NULL past the end). line is modified. */
char *ts_split(char *line, char **args, int nargs);
/* Hex (or "-" for none) into out: the number of bytes, at most cap; stops at
 * the first pair that is not hex. */
size_t ts_unhex(const char *s, uint8_t *out, size_t cap);
/* The same into a buffer (owned by the caller) holding every byte, plus a NUL. */
uint8_t *ts_unhex_alloc(const char *s, size_t *n);

/* A mem_image (owned by the caller: mem_image_free) holding len bytes of data
 * at addr (nothing when len is 0), and a reader over it in *r. */
struct mem_image *ts_image(uint64_t addr, const void *data, size_t len, struct mem_reader *r);

#endif
