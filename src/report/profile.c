/* Aggregation of record files into the profile model (report/profile.h).
 *
 * Per file, samples are counted per (thread index, stack id) of that file: a
 * per-thread cache makes a repeated stack one increment. When the file ends
 * cleanly (or cut short), its distinct stacks are translated into the
 * profile's own interned strings, functions, frames and stacks. The per-stack
 * work (own/total, edges) is done once in profile_finish(), so the cost per
 * sample does not depend on stack depth. */
#include "pyprof/report/profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pyprof/common/error.h"
#include "pyprof/common/grow.h"
#include "pyprof/common/hash.h"

#define BATCH 4096

/* ---- dense tables indexed by a pp_idtab (common/hash.h) ---- */

typedef int (*ix_eq_fn)(const void *ctx, uint32_t id, const void *key);

/* Find key: 1 and *id when present, else 0. */
static int ix_find(const struct pp_idtab *t, uint32_t hash, ix_eq_fn eq, const void *ctx,
                   const void *key, uint32_t *id) {
  uint32_t cand;
  for (size_t pos = 0; pp_idtab_next(t, hash, &pos, &cand);) {
    if (eq(ctx, cand, key)) {
      *id = cand;
      return 1;
    }
  }
  return 0;
}

/* ---- profile lookup tables ---- */

struct profile_index {
  struct pp_idtab strings, funcs, frames, stacks, tstacks;
  size_t *string_len; /* owned */
  int finished;
  size_t string_len_cap, strings_cap, funcs_cap, frames_cap, stack_frames_len, stack_frames_cap, stacks_cap,
      tstacks_cap, threads_cap, files_cap;
};

struct bytes_key {
  const char *s;
  size_t len;
};

static int eq_string(const void *ctx, uint32_t id, const void *key) {
  const struct profile *p = ctx;
  const struct bytes_key *k = key;
  return p->index->string_len[id] == k->len && memcmp(p->strings[id], k->s, k->len) == 0;
}

static int intern_string(struct profile *p, const char *s, size_t len, uint32_t *id) {
  int rc = 0;
  char *copy = NULL; /* owned here until stored in p->strings */
  struct profile_index *x = p->index;
  struct bytes_key k = {s, len};
  uint32_t h = pp_hash_bytes(s, len);
  if (ix_find(&x->strings, h, eq_string, p, &k, id))
    goto out;
  if (pp_grow((void **)&p->strings, &x->strings_cap, p->nstrings + 1, sizeof *p->strings) < 0 ||
      pp_grow((void **)&x->string_len, &x->string_len_cap, p->nstrings + 1,
              sizeof *x->string_len) < 0 ||
      !(copy = malloc(len + 1)) || pp_idtab_insert(&x->strings, h, (uint32_t)p->nstrings) < 0) {
    rc = PP_ENOMEM;
    goto out;
  }
  memcpy(copy, s, len);
  copy[len] = '\0';
  p->strings[p->nstrings] = copy;
  copy = NULL;
  x->string_len[p->nstrings] = len;
  *id = (uint32_t)p->nstrings++;
out:
  free(copy);
  return rc;
}

static int eq_func(const void *ctx, uint32_t id, const void *key) {
  const struct profile_func *a = &((const struct profile *)ctx)->funcs[id], *b = key;
  return a->name == b->name && a->file == b->file && a->firstline == b->firstline &&
         a->kind == b->kind;
}

static int intern_func(struct profile *p, const struct profile_func *f, uint32_t *id) {
  struct profile_index *x = p->index;
  uint32_t w[4] = {f->name, f->file, (uint32_t)f->firstline, f->kind};
  uint32_t h = pp_hash_words(w, 4, 11);
  if (ix_find(&x->funcs, h, eq_func, p, f, id))
    return 0;
  if (pp_grow((void **)&p->funcs, &x->funcs_cap, p->nfuncs + 1, sizeof *p->funcs) < 0 ||
      pp_idtab_insert(&x->funcs, h, (uint32_t)p->nfuncs) < 0)
    return PP_ENOMEM;
  p->funcs[p->nfuncs] = *f;
  *id = (uint32_t)p->nfuncs++;
  return 0;
}

static int eq_frame(const void *ctx, uint32_t id, const void *key) {
  const struct profile_frame *a = &((const struct profile *)ctx)->frames[id], *b = key;
  return a->func == b->func && a->line == b->line;
}

static int intern_frame(struct profile *p, uint32_t func, int32_t line, uint32_t *id) {
  struct profile_index *x = p->index;
  struct profile_frame f = {func, line, 0, 0};
  uint32_t w[2] = {func, (uint32_t)line};
  uint32_t h = pp_hash_words(w, 2, 12);
  if (ix_find(&x->frames, h, eq_frame, p, &f, id))
    return 0;
  if (pp_grow((void **)&p->frames, &x->frames_cap, p->nframes + 1, sizeof *p->frames) < 0 ||
      pp_idtab_insert(&x->frames, h, (uint32_t)p->nframes) < 0)
    return PP_ENOMEM;
  p->frames[p->nframes] = f;
  *id = (uint32_t)p->nframes++;
  return 0;
}

struct words_key {
  const uint32_t *w;
  size_t n;
};

static int eq_stack(const void *ctx, uint32_t id, const void *key) {
  const struct profile *p = ctx;
  const struct words_key *k = key;
  const struct profile_stack *s = &p->stacks[id];
  return s->n == k->n &&
         (k->n == 0 || memcmp(p->stack_frames + s->off, k->w, k->n * sizeof *k->w) == 0);
}

static int intern_stack(struct profile *p, const uint32_t *frames, size_t n, uint32_t *id) {
  struct profile_index *x = p->index;
  struct words_key k = {frames, n};
  uint32_t h = pp_hash_words(frames, n, 13);
  if (ix_find(&x->stacks, h, eq_stack, p, &k, id))
    return 0;
  if (pp_grow((void **)&p->stacks, &x->stacks_cap, p->nstacks + 1, sizeof *p->stacks) < 0 ||
      pp_grow((void **)&p->stack_frames, &x->stack_frames_cap, x->stack_frames_len + n,
              sizeof *p->stack_frames) < 0 ||
      pp_idtab_insert(&x->stacks, h, (uint32_t)p->nstacks) < 0)
    return PP_ENOMEM;
  if (n)
    memcpy(p->stack_frames + x->stack_frames_len, frames, n * sizeof *frames);
  p->stacks[p->nstacks] = (struct profile_stack){x->stack_frames_len, (uint32_t)n, 0};
  x->stack_frames_len += n;
  *id = (uint32_t)p->nstacks++;
  return 0;
}

static int eq_tstack(const void *ctx, uint32_t id, const void *key) {
  const struct profile_tstack *a = &((const struct profile *)ctx)->tstacks[id], *b = key;
  return a->thread == b->thread && a->stack == b->stack;
}

static int add_tstack(struct profile *p, uint32_t thread, uint32_t stack, uint64_t count) {
  struct profile_index *x = p->index;
  struct profile_tstack t = {thread, stack, count};
  uint32_t w[2] = {thread, stack};
  uint32_t h = pp_hash_words(w, 2, 14);
  uint32_t id;
  if (ix_find(&x->tstacks, h, eq_tstack, p, &t, &id)) {
    p->tstacks[id].count += count;
    return 0;
  }
  if (pp_grow((void **)&p->tstacks, &x->tstacks_cap, p->ntstacks + 1, sizeof *p->tstacks) < 0 ||
      pp_idtab_insert(&x->tstacks, h, (uint32_t)p->ntstacks) < 0)
    return PP_ENOMEM;
  p->tstacks[p->ntstacks++] = t;
  return 0;
}

/* ---- lifecycle ---- */

int profile_create(struct profile **out, const struct profile_options *opts) {
  int rc = 0;
  struct profile *p = NULL; /* owned here until handed to *out */
  if (!out)
    return PP_EINVAL;
  *out = NULL;
  p = calloc(1, sizeof *p);
  if (!p || !(p->index = calloc(1, sizeof *p->index))) {
    rc = PP_ENOMEM;
    goto out;
  }
  if (opts)
    p->opts = *opts;
  p->interval_s = 0.01;
  *out = p;
  p = NULL;
out:
  profile_free(p);
  return rc;
}

static void index_free(struct profile_index *x) {
  if (!x)
    return;
  pp_idtab_free(&x->strings);
  pp_idtab_free(&x->funcs);
  pp_idtab_free(&x->frames);
  pp_idtab_free(&x->stacks);
  pp_idtab_free(&x->tstacks);
  free(x->string_len);
  free(x);
}

void profile_free(struct profile *p) {
  if (!p)
    return;
  for (size_t i = 0; i < p->nfiles; i++) {
    free(p->files[i].path);
    free(p->files[i].cmdline);
    free(p->files[i].hostname);
    free(p->files[i].python_path);
  }
  free(p->files);
  for (size_t i = 0; i < p->nstrings; i++)
    free(p->strings[i]);
  free(p->strings);
  free(p->funcs);
  free(p->frames);
  free(p->stack_frames);
  free(p->stacks);
  free(p->tstacks);
  free(p->threads);
  free(p->edges);
  index_free(p->index);
  free(p);
}

const char *profile_str(const struct profile *p, uint32_t id) {
  return id < p->nstrings ? p->strings[id] : "?";
}

double profile_duration_s(const struct profile *p) {
  double d = 0;
  for (size_t i = 0; i < p->nfiles; i++) {
    const struct profile_file *f = &p->files[i];
    double s = f->has_summary && f->summary.duration_ns > 0 ? (double)f->summary.duration_ns / 1e9
                                                            : (double)f->last_t_ns / 1e9;
    if (s > d)
      d = s;
  }
  return d;
}

/* ---- reading one file ---- */

/* Samples of one file, per (thread index, stack id) of that file. */
struct pair {
  uint32_t thread, stack;
  uint64_t count;
};

struct file_agg {
  struct pair *pairs; /* owned */
  size_t npairs, pairs_cap;
  struct pp_idtab index;
  uint32_t *last_stack; /* owned; per thread index, UINT32_MAX = none */
  uint32_t *last_pair;  /* owned; per thread index */
  size_t threads_cap;
};

static int eq_pair(const void *ctx, uint32_t id, const void *key) {
  const struct pair *a = &((const struct file_agg *)ctx)->pairs[id], *b = key;
  return a->thread == b->thread && a->stack == b->stack;
}

static int count_sample(struct file_agg *a, uint32_t thread, uint32_t stack) {
  if (thread >= a->threads_cap) {
    size_t old = a->threads_cap, cap = old;
    if (pp_grow((void **)&a->last_stack, &cap, (size_t)thread + 1, sizeof *a->last_stack) < 0)
      return PP_ENOMEM;
    cap = old;
    if (pp_grow((void **)&a->last_pair, &cap, (size_t)thread + 1, sizeof *a->last_pair) < 0)
      return PP_ENOMEM;
    for (size_t i = old; i < cap; i++)
      a->last_stack[i] = UINT32_MAX;
    a->threads_cap = cap;
  }
  if (a->last_stack[thread] == stack) {
    a->pairs[a->last_pair[thread]].count++;
    return 0;
  }
  struct pair k = {thread, stack, 0};
  uint32_t w[2] = {thread, stack};
  uint32_t h = pp_hash_words(w, 2, 21);
  uint32_t id;
  if (!ix_find(&a->index, h, eq_pair, a, &k, &id)) {
    if (pp_grow((void **)&a->pairs, &a->pairs_cap, a->npairs + 1, sizeof *a->pairs) < 0 ||
        pp_idtab_insert(&a->index, h, (uint32_t)a->npairs) < 0)
      return PP_ENOMEM;
    id = (uint32_t)a->npairs;
    a->pairs[a->npairs++] = k;
  }
  a->pairs[id].count++;
  a->last_stack[thread] = stack;
  a->last_pair[thread] = id;
  return 0;
}

static char *dup_str(const char *s) {
  size_t n = strlen(s);
  char *d = malloc(n + 1);
  if (d)
    memcpy(d, s, n + 1);
  return d;
}

/* Translate the file's distinct stacks into the profile. */
static int merge_file(struct profile *p, struct record_reader *r, struct file_agg *a,
                      uint32_t file_index) {
  int rc = 0;
  struct record_counts c = record_reader_counts(r);
  uint32_t *smap = NULL;     /* owned: file string id -> profile string id */
  uint32_t *fmap = NULL;     /* owned: file frame id -> profile frame id */
  uint32_t *kmap = NULL;     /* owned: file stack id -> profile stack id */
  uint32_t *tmap = NULL;     /* owned: file thread index -> profile thread id */
  uint32_t *scratch = NULL;  /* owned: translated frames of one stack */
  size_t scratch_cap = 0;
  smap = malloc(((size_t)c.strings + 1) * sizeof *smap);
  fmap = malloc(((size_t)c.frames + 1) * sizeof *fmap);
  kmap = malloc(((size_t)c.stacks + 1) * sizeof *kmap);
  tmap = malloc(((size_t)c.threads + 1) * sizeof *tmap);
  if (!smap || !fmap || !kmap || !tmap) {
    rc = PP_ENOMEM;
    goto out;
  }
  memset(smap, 0xff, ((size_t)c.strings + 1) * sizeof *smap);
  memset(fmap, 0xff, ((size_t)c.frames + 1) * sizeof *fmap);
  memset(kmap, 0xff, ((size_t)c.stacks + 1) * sizeof *kmap);

  struct profile_index *x = p->index;
  for (uint32_t t = 0; t < c.threads; t++) {
    if ((rc = pp_grow((void **)&p->threads, &x->threads_cap, p->nthreads + 1,
                      sizeof *p->threads)) < 0)
      goto out;
    uint32_t tid = record_reader_thread_tid(r, t);
    const char *name = record_reader_thread_name(r, tid);
    uint32_t name_id = UINT32_MAX;
    if (name && (rc = intern_string(p, name, strlen(name), &name_id)) < 0)
      goto out;
    tmap[t] = (uint32_t)p->nthreads;
    p->threads[p->nthreads++] = (struct profile_thread){file_index, tid, name_id, 0};
  }

  for (size_t i = 0; i < a->npairs; i++) {
    const struct pair *pr = &a->pairs[i];
    if (kmap[pr->stack] == UINT32_MAX) {
      size_t n;
      const uint32_t *fr = record_reader_stack(r, pr->stack, &n);
      if ((rc = pp_grow((void **)&scratch, &scratch_cap, n + 1, sizeof *scratch)) < 0)
        goto out;
      for (size_t j = 0; j < n; j++) {
        uint32_t lf = fr[j];
        if (fmap[lf] == UINT32_MAX) {
          const struct record_frame *rf = record_reader_frame(r, lf);
          uint32_t ids[2] = {rf->name_id, rf->file_id};
          for (int k = 0; k < 2; k++) {
            if (smap[ids[k]] != UINT32_MAX)
              continue;
            size_t len;
            const char *s = record_reader_string(r, ids[k], &len);
            if ((rc = intern_string(p, s, len, &smap[ids[k]])) < 0)
              goto out;
          }
          struct profile_func f = {smap[rf->name_id], smap[rf->file_id], rf->firstline,
                                   rf->kind, 0, 0};
          uint32_t func;
          if ((rc = intern_func(p, &f, &func)) < 0 ||
              (rc = intern_frame(p, func, rf->line, &fmap[lf])) < 0)
            goto out;
        }
        scratch[j] = fmap[lf];
      }
      if ((rc = intern_stack(p, scratch, n, &kmap[pr->stack])) < 0)
        goto out;
    }
    uint32_t gs = kmap[pr->stack], gt = tmap[pr->thread];
    p->stacks[gs].count += pr->count;
    p->threads[gt].samples += pr->count;
    p->samples += pr->count;
    if ((rc = add_tstack(p, gt, gs, pr->count)) < 0)
      goto out;
  }
out:
  free(smap);
  free(fmap);
  free(kmap);
  free(tmap);
  free(scratch);
  return rc;
}

int profile_add_file(struct profile *p, const char *path, char *msg, size_t msglen) {
  int rc = 0;
  struct record_reader *r = NULL;    /* owned here */
  struct record_sample *batch = NULL; /* owned here */
  struct file_agg a = {0};           /* members owned here */
  struct profile_file pf = {0};      /* string members owned here until stored */
  if (!p || !path || !msg || !msglen)
    return PP_EINVAL;
  msg[0] = '\0';

  rc = record_reader_open(&r, path);
  if (rc < 0) {
    snprintf(msg, msglen, "%s", r ? record_reader_message(r) : pp_strerror(rc));
    goto out;
  }
  batch = malloc(BATCH * sizeof *batch);
  if (!batch) {
    rc = PP_ENOMEM;
    snprintf(msg, msglen, "%s", pp_strerror(rc));
    goto out;
  }
  uint64_t last_t = 0, samples = 0, kept = 0, gil_held = 0;
  uint32_t hflags = record_reader_header(r)->flags;
  size_t n;
  while ((rc = record_reader_next(r, batch, BATCH, &n)) == 0 && n > 0) {
    samples += n;
    for (size_t i = 0; i < n; i++) {
      if (batch[i].t_ns > last_t)
        last_t = batch[i].t_ns;
      if (p->opts.skip_idle && (batch[i].flags & RECORD_SAMPLE_IDLE))
        continue;
      kept++;
      gil_held += (batch[i].flags & RECORD_SAMPLE_GIL) != 0;
      if ((rc = count_sample(&a, batch[i].thread_index, batch[i].stack_id)) < 0) {
        snprintf(msg, msglen, "%s", pp_strerror(rc));
        goto out;
      }
    }
  }
  if (rc < 0) {
    snprintf(msg, msglen, "%s", record_reader_message(r));
    goto out;
  }

  struct record_status st;
  record_reader_status(r, &st);
  const struct record_header *h = record_reader_header(r);
  pf.hdr = *h;
  pf.path = dup_str(path);
  pf.cmdline = dup_str(h->cmdline);
  pf.hostname = dup_str(h->hostname);
  pf.python_path = dup_str(h->python_path);
  if (!pf.path || !pf.cmdline || !pf.hostname || !pf.python_path ||
      pp_grow((void **)&p->files, &p->index->files_cap, p->nfiles + 1, sizeof *p->files) < 0) {
    rc = PP_ENOMEM;
    snprintf(msg, msglen, "%s", pp_strerror(rc));
    goto out;
  }
  pf.hdr.cmdline = pf.cmdline;
  pf.hdr.hostname = pf.hostname;
  pf.hdr.python_path = pf.python_path;
  pf.samples = samples;
  pf.kept = kept;
  pf.last_t_ns = last_t;
  pf.truncated = st.truncated;
  pf.has_summary = st.has_summary;
  pf.summary = st.summary;
  if (st.truncated)
    snprintf(msg, msglen, "%s", record_reader_message(r));

  if ((rc = merge_file(p, r, &a, (uint32_t)p->nfiles)) < 0) {
    /* The profile may hold part of this file now; the caller treats the
     * profile as unusable after an error. */
    snprintf(msg, msglen, "%s", pp_strerror(rc));
    goto out;
  }
  if (hflags & RECORD_FLAG_GIL_TRACKED) {
    p->gil_tracked += kept;
    p->gil_held += gil_held;
  }
  if (hflags & RECORD_FLAG_GIL)
    p->gil_only = 1;
  double interval = h->rate_hz ? 1.0 / h->rate_hz : 0.01;
  if (p->nfiles == 0)
    p->interval_s = interval;
  else if (p->files[0].hdr.rate_hz != h->rate_hz)
    p->mixed_rates = 1;
  p->files[p->nfiles++] = pf;
  memset(&pf, 0, sizeof pf);
out:
  free(pf.path);
  free(pf.cmdline);
  free(pf.hostname);
  free(pf.python_path);
  free(a.pairs);
  pp_idtab_free(&a.index);
  free(a.last_stack);
  free(a.last_pair);
  free(batch);
  record_reader_close(r);
  return rc;
}

/* ---- own / total / edges ---- */

static int cmp_edge(const void *a, const void *b) {
  const struct profile_edge *x = a, *y = b;
  if (x->callee != y->callee)
    return x->callee < y->callee ? -1 : 1;
  if (x->caller != y->caller)
    return x->caller < y->caller ? -1 : 1;
  return 0;
}

static int eq_edge(const void *ctx, uint32_t id, const void *key) {
  const struct profile_edge *a = &((const struct profile *)ctx)->edges[id], *b = key;
  return a->caller == b->caller && a->callee == b->callee;
}

int profile_finish(struct profile *p) {
  int rc = 0;
  uint32_t *fstamp = NULL; /* owned: per function, last stack that counted it (+1) */
  uint32_t *rstamp = NULL; /* owned: per frame */
  uint32_t *estamp = NULL; /* owned: per edge */
  size_t edges_cap = 0, estamp_cap = 0;
  struct pp_idtab eix = {0};
  if (!p || p->index->finished)
    return PP_EINVAL;
  p->index->finished = 1;
  fstamp = calloc(p->nfuncs + 1, sizeof *fstamp);
  rstamp = calloc(p->nframes + 1, sizeof *rstamp);
  if (!fstamp || !rstamp) {
    rc = PP_ENOMEM;
    goto out;
  }
  for (size_t si = 0; si < p->nstacks; si++) {
    const struct profile_stack *s = &p->stacks[si];
    uint64_t c = s->count;
    uint32_t stamp = (uint32_t)si + 1;
    if (!s->n || !c)
      continue;
    const uint32_t *fr = p->stack_frames + s->off;
    struct profile_frame *leaf = &p->frames[fr[s->n - 1]];
    leaf->own += c;
    p->funcs[leaf->func].own += c;
    for (uint32_t j = 0; j < s->n; j++) {
      struct profile_frame *f = &p->frames[fr[j]];
      if (rstamp[fr[j]] != stamp) {
        rstamp[fr[j]] = stamp;
        f->total += c;
      }
      if (fstamp[f->func] != stamp) {
        fstamp[f->func] = stamp;
        p->funcs[f->func].total += c;
      }
      if (j == 0)
        continue;
      struct profile_edge e = {p->frames[fr[j - 1]].func, f->func, 0, 0};
      uint32_t w[2] = {e.caller, e.callee};
      uint32_t h = pp_hash_words(w, 2, 31), id;
      if (!ix_find(&eix, h, eq_edge, p, &e, &id)) {
        if ((rc = pp_grow((void **)&p->edges, &edges_cap, p->nedges + 1, sizeof *p->edges)) < 0 ||
            (rc = pp_grow((void **)&estamp, &estamp_cap, p->nedges + 1, sizeof *estamp)) < 0 ||
            (rc = pp_idtab_insert(&eix, h, (uint32_t)p->nedges)) < 0)
          goto out;
        id = (uint32_t)p->nedges++;
        p->edges[id] = e;
        estamp[id] = 0;
      }
      if (estamp[id] != stamp) {
        estamp[id] = stamp;
        p->edges[id].total += c;
      }
      if (j == s->n - 1)
        p->edges[id].own += c;
    }
  }
  if (p->nedges)
    qsort(p->edges, p->nedges, sizeof *p->edges, cmp_edge);
out:
  free(fstamp);
  free(rstamp);
  free(estamp);
  pp_idtab_free(&eix);
  return rc;
}
