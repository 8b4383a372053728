/* The table of report formats and helpers shared by them. */
#include "pyprof/report/formats.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "pyprof/common/error.h"
#include "pyprof/report/escape.h"

const struct report_format report_formats[] = {
    {"top", "table of the functions with the most samples (default)", 0, report_write_top},
    {"folded", "folded stacks, one line per stack, for flamegraph.pl / speedscope / inferno", 0,
     report_write_folded},
    {"pstats", "cProfile-compatible stats file for pstats, snakeviz, gprof2dot (needs -o)", 1,
     report_write_pstats},
    {"flamegraph", "interactive flamegraph, one self-contained HTML page (-o app.html)", 0,
     report_write_flamegraph},
    {"speedscope", "JSON for speedscope.app, one profile per thread (-o app.json)", 0,
     report_write_speedscope},
};
const size_t report_nformats = sizeof report_formats / sizeof report_formats[0];

const struct report_format *report_format_find(const char *name) {
  for (size_t i = 0; i < report_nformats; i++)
    if (strcmp(report_formats[i].name, name) == 0)
      return &report_formats[i];
  return NULL;
}

struct rank_ctx {
  const struct profile *p;
  enum report_sort sort;
};

/* qsort has no context argument; glibc's qsort_r does. */
static int cmp_func(const void *a, const void *b, void *ctx) {
  const struct rank_ctx *c = ctx;
  const struct profile_func *x = &c->p->funcs[*(const uint32_t *)a];
  const struct profile_func *y = &c->p->funcs[*(const uint32_t *)b];
  uint64_t x1 = c->sort == REPORT_SORT_TOTAL ? x->total : x->own;
  uint64_t y1 = c->sort == REPORT_SORT_TOTAL ? y->total : y->own;
  uint64_t x2 = c->sort == REPORT_SORT_TOTAL ? x->own : x->total;
  uint64_t y2 = c->sort == REPORT_SORT_TOTAL ? y->own : y->total;
  if (x1 != y1)
    return x1 > y1 ? -1 : 1;
  if (x2 != y2)
    return x2 > y2 ? -1 : 1;
  int k = strcmp(profile_str(c->p, x->name), profile_str(c->p, y->name));
  if (k)
    return k;
  k = strcmp(profile_str(c->p, x->file), profile_str(c->p, y->file));
  if (k)
    return k;
  if (x->firstline != y->firstline)
    return x->firstline < y->firstline ? -1 : 1;
  return x->kind < y->kind ? -1 : x->kind > y->kind;
}

int report_rank_funcs(const struct profile *p, enum report_sort sort, uint32_t **out) {
  uint32_t *ids = malloc((p->nfuncs + 1) * sizeof *ids); /* owned by the caller via *out */
  if (!ids)
    return PP_ENOMEM;
  for (size_t i = 0; i < p->nfuncs; i++)
    ids[i] = (uint32_t)i;
  struct rank_ctx c = {p, sort};
  qsort_r(ids, p->nfuncs, sizeof *ids, cmp_func, &c);
  *out = ids;
  return 0;
}

int report_thread_label(struct textbuf *b, const struct profile *p, uint32_t t) {
  const struct profile_thread *th = &p->threads[t];
  const struct profile_file *f = &p->files[th->file];
  if (p->nfiles > 1) {
    if (f->hdr.rank >= 0)
      tb_printf(b, "rank %" PRId32 " ", f->hdr.rank);
    tb_printf(b, "pid %" PRIu32 ": ", f->hdr.pid);
  }
  if (th->name != UINT32_MAX) {
    tb_str(b, profile_str(p, th->name));
    return tb_printf(b, " (tid %" PRIu32 ")", th->tid);
  }
  return tb_printf(b, "tid %" PRIu32, th->tid);
}
