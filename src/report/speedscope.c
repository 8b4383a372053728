/* `-f speedscope`: speedscope's own JSON format
 * (https://www.speedscope.app/file-format-schema.json), "sampled" profiles.
 *
 * One profile per thread, named like the thread roots of folded --threads.
 * The record is aggregated per (thread, stack), so each profile holds one
 * sample per distinct stack, root first, weighted by samples x interval in
 * seconds; stacks are sorted by their frames so that speedscope's "time
 * order" view reads like a flamegraph (it is not the order the samples were
 * taken in). Frames are (function, file, line being executed), as in folded;
 * native frames have no line. The profile shown first is the thread with the
 * most samples. Every name is escaped by esc_json (valid UTF-8, no raw
 * control characters). */
#include <float.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "pyprof/common/error.h"
#include "pyprof/report/escape.h"
#include "pyprof/report/formats.h"

#define NO_FRAMES_KEY UINT32_MAX /* the synthetic frame of a sample without frames */

static int cmp_frame(const struct profile *p, uint32_t a, uint32_t b) {
  if (a == b)
    return 0;
  const struct profile_frame *x = &p->frames[a], *y = &p->frames[b];
  const struct profile_func *fx = &p->funcs[x->func], *fy = &p->funcs[y->func];
  int k = strcmp(profile_str(p, fx->name), profile_str(p, fy->name));
  if (k)
    return k;
  if ((k = strcmp(profile_str(p, fx->file), profile_str(p, fy->file))))
    return k;
  if (x->line != y->line)
    return x->line < y->line ? -1 : 1;
  if (fx->firstline != fy->firstline)
    return fx->firstline < fy->firstline ? -1 : 1;
  if (fx->kind != fy->kind)
    return fx->kind < fy->kind ? -1 : 1;
  return a < b ? -1 : 1;
}

/* tstack ids ordered by thread, then by their frames, root first. */
static int cmp_tstack(const void *a, const void *b, void *ctx) {
  const struct profile *p = ctx;
  const struct profile_tstack *x = &p->tstacks[*(const uint32_t *)a];
  const struct profile_tstack *y = &p->tstacks[*(const uint32_t *)b];
  if (x->thread != y->thread)
    return x->thread < y->thread ? -1 : 1;
  const struct profile_stack *sx = &p->stacks[x->stack], *sy = &p->stacks[y->stack];
  for (uint32_t i = 0; i < sx->n && i < sy->n; i++) {
    int k = cmp_frame(p, p->stack_frames[sx->off + i], p->stack_frames[sy->off + i]);
    if (k)
      return k;
  }
  if (sx->n != sy->n)
    return sx->n < sy->n ? -1 : 1;
  return x->stack < y->stack ? -1 : x->stack > y->stack;
}

/* Shortest decimal that reads back as v (JSON has no NaN or infinity). */
static void put_double(struct textbuf *b, double v) {
  char num[40];
  if (!(v == v) || v > DBL_MAX || v < -DBL_MAX) {
    tb_put(b, "0", 1);
    return;
  }
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(num, sizeof num, "%.*g", prec, v);
    if (strtod(num, NULL) == v)
      break;
  }
  tb_str(b, num);
}

/* Index in shared.frames of frame key, appending its definition to defs on
 * first use. */
static uint32_t frame_index(const struct profile *p, uint32_t key, uint32_t *map, uint32_t *n,
                            struct textbuf *defs) {
  uint32_t slot = key == NO_FRAMES_KEY ? (uint32_t)p->nframes : key;
  if (map[slot] != UINT32_MAX)
    return map[slot];
  map[slot] = (*n)++;
  if (map[slot])
    tb_put(defs, ",", 1);
  if (key == NO_FRAMES_KEY) {
    tb_str(defs, "{\"name\":\"(no frames)\"}");
    return map[slot];
  }
  const struct profile_frame *fr = &p->frames[key];
  const struct profile_func *fn = &p->funcs[fr->func];
  const char *name = profile_str(p, fn->name), *file = profile_str(p, fn->file);
  tb_str(defs, "{\"name\":");
  esc_json(defs, name, strlen(name), 0);
  if (file[0]) {
    tb_str(defs, ",\"file\":");
    esc_json(defs, file, strlen(file), 0);
  }
  if (fr->line > 0)
    tb_printf(defs, ",\"line\":%" PRId32, fr->line);
  tb_put(defs, "}", 1);
  return map[slot];
}

int report_write_speedscope(const struct profile *p, const struct report_options *o,
                            FILE *out) {
  int rc = 0;
  uint32_t *order = NULL;     /* owned: tstack ids, sorted */
  uint32_t *fmap = NULL;      /* owned: frame key -> shared.frames index */
  uint64_t *per_thread = NULL; /* owned: kept samples per thread */
  struct textbuf defs = {0};  /* owns shared.frames text */
  struct textbuf profs = {0}; /* owns profiles text */
  struct textbuf tmp = {0};   /* owns scratch text */
  struct textbuf head = {0};  /* owns the text before the frames */
  uint32_t nout = 0;

  order = malloc((p->ntstacks + 1) * sizeof *order);
  fmap = malloc((p->nframes + 1) * sizeof *fmap);
  per_thread = calloc(p->nthreads + 1, sizeof *per_thread);
  if (!order || !fmap || !per_thread) {
    rc = PP_ENOMEM;
    goto out;
  }
  for (size_t i = 0; i <= p->nframes; i++)
    fmap[i] = UINT32_MAX;
  size_t n = 0;
  for (size_t i = 0; i < p->ntstacks; i++) {
    if (!p->tstacks[i].count)
      continue;
    order[n++] = (uint32_t)i;
    per_thread[p->tstacks[i].thread] += p->tstacks[i].count;
  }
  if (n)
    qsort_r(order, n, sizeof *order, cmp_tstack, (void *)p);

  size_t active = 0, nprof = 0;
  uint64_t best = 0;
  for (size_t i = 0; i < n;) {
    uint32_t t = p->tstacks[order[i]].thread;
    if (per_thread[t] > best) {
      best = per_thread[t];
      active = nprof;
    }
    tmp.len = 0;
    report_thread_label(&tmp, p, t);
    tb_str(&profs, nprof ? ",\n" : "\n");
    tb_str(&profs, "{\"type\":\"sampled\",\"name\":");
    esc_json(&profs, tmp.p ? tmp.p : "", tmp.len, 0);
    tb_str(&profs, ",\"unit\":\"seconds\",\"startValue\":0,\"endValue\":");
    size_t end = i;
    uint64_t count = 0;
    while (end < n && p->tstacks[order[end]].thread == t)
      count += p->tstacks[order[end++]].count;
    put_double(&profs, (double)count * p->interval_s);
    tb_str(&profs, ",\n \"samples\":[");
    for (size_t j = i; j < end; j++) {
      const struct profile_stack *s = &p->stacks[p->tstacks[order[j]].stack];
      tb_str(&profs, j > i ? ",[" : "[");
      if (s->n == 0)
        tb_printf(&profs, "%" PRIu32, frame_index(p, NO_FRAMES_KEY, fmap, &nout, &defs));
      for (uint32_t k = 0; k < s->n; k++)
        tb_printf(&profs, k ? ",%" PRIu32 : "%" PRIu32,
                  frame_index(p, p->stack_frames[s->off + k], fmap, &nout, &defs));
      tb_put(&profs, "]", 1);
    }
    tb_str(&profs, "],\n \"weights\":[");
    for (size_t j = i; j < end; j++) {
      if (j > i)
        tb_put(&profs, ",", 1);
      put_double(&profs, (double)p->tstacks[order[j]].count * p->interval_s);
    }
    tb_str(&profs, "]}");
    nprof++;
    i = end;
  }
  if (!nprof) /* speedscope needs a profile to show */
    tb_str(&profs, "\n{\"type\":\"sampled\",\"name\":\"no samples\",\"unit\":\"seconds\","
                   "\"startValue\":0,\"endValue\":0,\"samples\":[],\"weights\":[]}");

  tmp.len = 0;
  tb_str(&tmp, "pyprof");
  if (p->nfiles && p->files[0].cmdline[0]) {
    tb_str(&tmp, ": ");
    tb_str(&tmp, p->files[0].cmdline);
  }
  if (p->nfiles > 1)
    tb_printf(&tmp, " (+%zu more files)", p->nfiles - 1);
  tb_str(&head, "{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\n"
                "\"exporter\":\"pyprof\",\n\"name\":");
  esc_json(&head, tmp.p ? tmp.p : "", tmp.len, 0);
  tb_printf(&head, ",\n\"activeProfileIndex\":%zu,\n\"shared\":{\"frames\":[", active);
  tb_str(&defs, "]},\n\"profiles\":[");
  tb_str(&profs, "\n]}\n");
  if ((rc = tmp.err) < 0 || (rc = tb_flush(&head, out)) < 0 || (rc = tb_flush(&defs, out)) < 0 ||
      (rc = tb_flush(&profs, out)) < 0)
    goto out;
out:
  free(order);
  free(fmap);
  free(per_thread);
  tb_free(&defs);
  tb_free(&profs);
  tb_free(&tmp);
  tb_free(&head);
  return rc;
}
