/* Output formats of `pyprof report`. Each format is one module (src/report/
 * <name>.c) exporting a writer over the finished profile model, listed once in
 * report_formats[] (src/report/formats.c). Adding a format = one module + one
 * table row. */
#ifndef PYPROF_REPORT_FORMATS_H
#define PYPROF_REPORT_FORMATS_H

#include <stddef.h>
#include <stdio.h>

#include "pyprof/report/profile.h"

enum report_sort {
  REPORT_SORT_OWN = 0,
  REPORT_SORT_TOTAL = 1,
};

struct report_options {
  enum report_sort sort; /* top */
  size_t limit;          /* top: rows to show, 0 = all */
  int threads;           /* folded: a root frame per thread */
};

/* Write the profile to out. 0, PP_EIO when out reports an error, PP_ENOMEM. */
typedef int (*report_write_fn)(const struct profile *p, const struct report_options *o, FILE *out);

struct report_format {
  const char *name;     /* value of -f */
  const char *summary;  /* one line for --help */
  int binary;           /* not for a terminal: needs -o */
  report_write_fn write;
};

extern const struct report_format report_formats[];
extern const size_t report_nformats;

/* NULL when no format has that name. */
const struct report_format *report_format_find(const char *name);

int report_write_top(const struct profile *p, const struct report_options *o, FILE *out);
int report_write_folded(const struct profile *p, const struct report_options *o, FILE *out);
int report_write_pstats(const struct profile *p, const struct report_options *o, FILE *out);
int report_write_flamegraph(const struct profile *p, const struct report_options *o, FILE *out);
int report_write_speedscope(const struct profile *p, const struct report_options *o, FILE *out);

/* Function ids sorted for display: by own (or total) samples descending, then
 * the other count, then name, file, line. *out is malloc'd (caller frees) and
 * holds p->nfuncs ids. Shared by top and pstats so that their rankings agree. */
int report_rank_funcs(const struct profile *p, enum report_sort sort, uint32_t **out);

struct textbuf; /* report/escape.h */

/* Append the label of thread t ("MainThread (tid 12)", "tid 12"; with several
 * files prefixed "rank R pid P: ") to b, unescaped: the name comes from the
 * target, so the caller escapes it for its format. 0 or PP_ENOMEM. */
int report_thread_label(struct textbuf *b, const struct profile *p, uint32_t t);

#endif
