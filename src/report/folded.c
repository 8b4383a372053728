/* `-f folded`: Brendan Gregg's folded stacks, "root;...;leaf COUNT", one line
 * per distinct stack, sorted, each frame "function (file:line)" with the line
 * the frame was executing. With --threads, a root frame names the thread. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "pyprof/common/error.h"
#include "pyprof/report/formats.h"

struct sbuf {
  char *p; /* owned */
  size_t len, cap;
  int err;
};

static void sb_put(struct sbuf *b, const char *s, size_t n) {
  if (b->err)
    return;
  if (b->len + n + 1 > b->cap) {
    size_t ncap = b->cap ? b->cap : 4096;
    while (ncap < b->len + n + 1)
      ncap *= 2;
    char *np = realloc(b->p, ncap);
    if (!np) {
      b->err = PP_ENOMEM;
      return;
    }
    b->p = np;
    b->cap = ncap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s) {
  sb_put(b, s, strlen(s));
}

/* Frame text with the separators of the format replaced. */
static void sb_clean(struct sbuf *b, const char *s) {
  size_t start = b->len;
  sb_str(b, s);
  if (b->err)
    return;
  for (size_t i = start; i < b->len; i++) {
    if (b->p[i] == ';')
      b->p[i] = ',';
    else if (b->p[i] == '\n' || b->p[i] == '\r')
      b->p[i] = ' ';
  }
}

static void sb_fmt_u64(struct sbuf *b, const char *fmt, uint64_t v) {
  char num[48];
  int n = snprintf(num, sizeof num, fmt, v);
  sb_put(b, num, (size_t)n);
}

static void put_thread(struct sbuf *b, const struct profile *p, uint32_t t) {
  const struct profile_thread *th = &p->threads[t];
  const struct profile_file *f = &p->files[th->file];
  if (p->nfiles > 1) {
    if (f->hdr.rank >= 0)
      sb_fmt_u64(b, "rank %" PRIu64 " ", (uint64_t)f->hdr.rank);
    sb_fmt_u64(b, "pid %" PRIu64 ": ", f->hdr.pid);
  }
  if (th->name != UINT32_MAX) {
    sb_clean(b, profile_str(p, th->name));
    sb_fmt_u64(b, " (tid %" PRIu64 ")", th->tid);
  } else {
    sb_fmt_u64(b, "tid %" PRIu64, th->tid);
  }
}

static void put_stack(struct sbuf *b, const struct profile *p, const struct profile_stack *s,
                      int after_root) {
  if (s->n == 0 && !after_root)
    sb_str(b, "(no frames)");
  for (uint32_t j = 0; j < s->n; j++) {
    const struct profile_frame *fr = &p->frames[p->stack_frames[s->off + j]];
    const struct profile_func *fn = &p->funcs[fr->func];
    if (j || after_root)
      sb_put(b, ";", 1);
    sb_clean(b, profile_str(p, fn->name));
    sb_str(b, " (");
    sb_clean(b, profile_str(p, fn->file));
    if (fr->line > 0)
      sb_fmt_u64(b, ":%" PRIu64, (uint64_t)fr->line);
    sb_str(b, ")");
  }
}

static int cmp_line(const void *a, const void *b, void *ctx) {
  const char *base = ctx;
  return strcmp(base + *(const size_t *)a, base + *(const size_t *)b);
}

int report_write_folded(const struct profile *p, const struct report_options *o, FILE *out) {
  int rc = 0;
  struct sbuf b = {0};  /* owns the text of all lines */
  size_t *lines = NULL; /* owned: offsets of lines in b */
  size_t n = o->threads ? p->ntstacks : p->nstacks, nl = 0;
  lines = malloc((n + 1) * sizeof *lines);
  if (!lines) {
    rc = PP_ENOMEM;
    goto out;
  }
  for (size_t i = 0; i < n; i++) {
    const struct profile_stack *s;
    uint64_t count;
    if (o->threads) {
      s = &p->stacks[p->tstacks[i].stack];
      count = p->tstacks[i].count;
    } else {
      s = &p->stacks[i];
      count = s->count;
    }
    if (!count)
      continue;
    lines[nl++] = b.len;
    if (o->threads)
      put_thread(&b, p, p->tstacks[i].thread);
    put_stack(&b, p, s, o->threads);
    sb_fmt_u64(&b, " %" PRIu64, count);
    sb_put(&b, "", 1); /* keep the NUL as a separator */
  }
  if (b.err) {
    rc = b.err;
    goto out;
  }
  if (nl)
    qsort_r(lines, nl, sizeof *lines, cmp_line, b.p);
  for (size_t i = 0; i < nl; i++) {
    fputs(b.p + lines[i], out);
    fputc('\n', out);
  }
  if (ferror(out))
    rc = PP_EIO;
out:
  free(b.p);
  free(lines);
  return rc;
}
