/* `-f top`: the functions with the most samples, as an aligned table. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "pyprof/common/error.h"
#include "pyprof/report/escape.h"
#include "pyprof/report/formats.h"

/* Code points that take two terminal columns (East Asian wide and fullwidth,
 * emoji): enough for aligned columns without depending on the locale. */
static int is_wide(uint32_t c) {
  return (c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0x303e) ||
         (c >= 0x3041 && c <= 0x33ff) || (c >= 0x3400 && c <= 0x4dbf) ||
         (c >= 0x4e00 && c <= 0x9fff) || (c >= 0xa000 && c <= 0xa4cf) ||
         (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) ||
         (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) ||
         (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x1f300 && c <= 0x1f64f) ||
         (c >= 0x1f900 && c <= 0x1f9ff) || (c >= 0x20000 && c <= 0x3fffd);
}

/* Terminal columns of a UTF-8 string (stray continuation bytes count as none). */
static size_t text_width(const char *s) {
  const unsigned char *u = (const unsigned char *)s;
  size_t w = 0;
  while (*u) {
    uint32_t c = *u++;
    if (c >= 0x80 && c < 0xc0)
      continue; /* stray continuation byte */
    if (c >= 0xc0) {
      int extra = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : 1;
      c &= 0x3fu >> extra;
      for (; extra > 0 && (*u & 0xc0) == 0x80; extra--)
        c = c << 6 | (*u++ & 0x3fu);
    }
    w += is_wide(c) ? 2 : 1;
  }
  return w;
}

static void pad(FILE *out, size_t n) {
  while (n--)
    fputc(' ', out);
}

static double pct(uint64_t part, uint64_t whole) {
  return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* Widest function name / file column shown; longer ones are shortened
 * with an ellipsis (names keep their start, paths their end). */
#define NAME_COLS 60
#define FILE_COLS 80

/* Columns of the one UTF-8 character at u, and its length in bytes. */
static size_t char_cols(const unsigned char *u, size_t *bytes) {
  char tmp[5] = {0};
  size_t k = 1;
  while (k < 4 && (u[k] & 0xc0) == 0x80)
    k++;
  memcpy(tmp, u, k);
  *bytes = k;
  return text_width(tmp);
}

/* Shorten the text in b (NUL-terminated, valid UTF-8) to at most max
 * columns, keeping its head (keep_tail 0) or its tail, with "…" for the rest. */
static void clip(struct textbuf *b, size_t max, int keep_tail) {
  if (!b->p || b->err || text_width(b->p) <= max)
    return;
  size_t n = strlen(b->p), cols = 0, bytes;
  /* Room for the 3-byte ellipsis: grow by 3, then work in place. */
  if (tb_put(b, "...", 3) < 0)
    return;
  b->p[n] = 0;
  const unsigned char *u = (const unsigned char *)b->p;
  if (!keep_tail) {
    size_t i = 0;
    while (i < n && cols + char_cols(u + i, &bytes) <= max - 1) {
      cols += char_cols(u + i, &bytes);
      i += bytes;
    }
    memcpy(b->p + i, "\xe2\x80\xa6", 4); /* "…" and the NUL: max - 1 columns used leave room */
    return;
  }
  /* Keep the tail: find the start of the last max - 1 columns. */
  size_t start = n;
  while (start > 0) {
    size_t s0 = start - 1;
    while (s0 > 0 && (u[s0] & 0xc0) == 0x80)
      s0--;
    size_t w = char_cols(u + s0, &bytes);
    if (cols + w > max - 1)
      break;
    cols += w;
    start = s0;
  }
  memmove(b->p + 3, b->p + start, n - start + 1);
  memcpy(b->p, "\xe2\x80\xa6", 3);
}

/* s made safe for a terminal (report/escape.h) in the scratch buffer b,
 * shortened to max columns; "" when out of memory (b->err is then set). */
static const char *clean_clip(struct textbuf *b, const char *s, size_t max, int keep_tail) {
  b->len = 0;
  esc_text(b, s, strlen(s), 0);
  clip(b, max, keep_tail);
  return b->p && !b->err ? b->p : "";
}

static const char *clean(struct textbuf *b, const char *s) {
  b->len = 0;
  esc_text(b, s, strlen(s), 0);
  return b->p && !b->err ? b->p : "";
}

static void write_location(FILE *out, struct textbuf *b, const struct profile *p,
                           const struct profile_func *f) {
  fputs(clean_clip(b, profile_str(p, f->file), FILE_COLS, 1), out);
  if (f->firstline > 0)
    fprintf(out, ":%" PRId32, f->firstline);
}

static size_t location_width(struct textbuf *b, const struct profile *p,
                             const struct profile_func *f) {
  char num[16];
  size_t w = text_width(clean_clip(b, profile_str(p, f->file), FILE_COLS, 1));
  if (f->firstline > 0)
    w += (size_t)snprintf(num, sizeof num, ":%" PRId32, f->firstline);
  return w;
}

static void write_header(const struct profile *p, FILE *out, struct textbuf *b) {
  uint64_t failed = 0, attempts = 0;
  size_t with_summary = 0, truncated = 0;
  for (size_t i = 0; i < p->nfiles; i++) {
    const struct profile_file *f = &p->files[i];
    if (f->has_summary) {
      with_summary++;
      failed += f->summary.failed;
      attempts += f->summary.attempts;
    }
    truncated += f->truncated != 0;
  }
  fprintf(out, "pyprof report: %zu file%s, %" PRIu64 " samples over %.2f s, %zu thread%s",
          p->nfiles, p->nfiles == 1 ? "" : "s", p->samples, profile_duration_s(p), p->nthreads,
          p->nthreads == 1 ? "" : "s");
  if (p->nfiles && !p->mixed_rates)
    fprintf(out, ", %" PRIu32 " Hz", p->files[0].hdr.rate_hz);
  if (attempts)
    fprintf(out, ", %.2f%% of sampling attempts failed", pct(failed, attempts));
  else if (with_summary == 0)
    fputs(", failed attempts unknown", out);
  fputc('\n', out);
  if (p->opts.skip_idle)
    fputs("idle samples excluded\n", out);
  if (p->gil_only)
    fputs("GIL: only samples of the thread holding the GIL were recorded (--gil)\n", out);
  else if (p->gil_tracked)
    fprintf(out, "GIL: the sampled thread held the GIL in %.1f%% of samples\n",
            pct(p->gil_held, p->gil_tracked));
  if (truncated)
    fprintf(out, "warning: %zu file%s cut short (no end chunk)\n", truncated,
            truncated == 1 ? " was" : "s were");
  const size_t max_files = 8;
  for (size_t i = 0; i < p->nfiles && i < max_files; i++) {
    const struct profile_file *f = &p->files[i];
    fputs(p->nfiles == 1 ? "target: " : "  ", out);
    if (f->hdr.rank >= 0)
      fprintf(out, "rank %" PRId32 ", ", f->hdr.rank);
    fprintf(out, "pid %" PRIu32 ", python %u.%u.%u", f->hdr.pid, f->hdr.py_major, f->hdr.py_minor,
            f->hdr.py_micro);
    if (f->cmdline[0]) {
      const char *cmd = clean(b, f->cmdline);
      size_t n = strlen(cmd);
      if (n > 100) /* cut at a character boundary */
        for (n = 100; n > 0 && ((unsigned char)cmd[n] & 0xc0) == 0x80;)
          n--;
      fprintf(out, ": %.*s%s", (int)n, cmd, cmd[n] ? "..." : "");
    }
    fputc('\n', out);
  }
  if (p->nfiles > max_files)
    fprintf(out, "  ... and %zu more\n", p->nfiles - max_files);
  fputc('\n', out);
}

int report_write_top(const struct profile *p, const struct report_options *o, FILE *out) {
  uint32_t *ids = NULL;    /* owned */
  struct textbuf tb = {0}; /* owns the scratch text of clean() */
  int rc = report_rank_funcs(p, o->sort, &ids);
  if (rc < 0)
    goto out;
  size_t rows = p->nfuncs;
  if (o->limit && o->limit < rows)
    rows = o->limit;

  write_header(p, out, &tb);
  if (p->samples == 0) {
    fputs("no samples\n", out);
    goto out;
  }

  static const char *const head[6] = {"own%", "total%", "own", "total", "function", "file:line"};
  size_t w[6];
  for (int k = 0; k < 6; k++)
    w[k] = strlen(head[k]);
  w[0] = w[0] < 6 ? 6 : w[0]; /* "100.0%" */
  w[1] = w[1] < 6 ? 6 : w[1];
  char num[32];
  for (size_t i = 0; i < rows; i++) {
    const struct profile_func *f = &p->funcs[ids[i]];
    size_t a = (size_t)snprintf(num, sizeof num, "%" PRIu64, f->own);
    size_t b = (size_t)snprintf(num, sizeof num, "%" PRIu64, f->total);
    size_t c = text_width(clean_clip(&tb, profile_str(p, f->name), NAME_COLS, 0));
    size_t d = location_width(&tb, p, f);
    w[2] = a > w[2] ? a : w[2];
    w[3] = b > w[3] ? b : w[3];
    w[4] = c > w[4] ? c : w[4];
    w[5] = d > w[5] ? d : w[5];
  }
  fprintf(out, "%*s  %*s  %*s  %*s  %s", (int)w[0], head[0], (int)w[1], head[1], (int)w[2],
          head[2], (int)w[3], head[3], head[4]);
  pad(out, w[4] - strlen(head[4]) + 2);
  fprintf(out, "%s\n", head[5]);
  for (size_t i = 0; i < rows; i++) {
    const struct profile_func *f = &p->funcs[ids[i]];
    const char *name = clean_clip(&tb, profile_str(p, f->name), NAME_COLS, 0);
    snprintf(num, sizeof num, "%.1f%%", pct(f->own, p->samples));
    fprintf(out, "%*s  ", (int)w[0], num);
    snprintf(num, sizeof num, "%.1f%%", pct(f->total, p->samples));
    fprintf(out, "%*s  %*" PRIu64 "  %*" PRIu64 "  %s", (int)w[1], num, (int)w[2], f->own,
            (int)w[3], f->total, name);
    pad(out, w[4] - text_width(name) + 2);
    write_location(out, &tb, p, f);
    fputc('\n', out);
  }
  if (rows < p->nfuncs)
    fprintf(out, "... %zu more function%s (--limit 0 shows all)\n", p->nfuncs - rows,
            p->nfuncs - rows == 1 ? "" : "s");
out:
  free(ids);
  if (rc == 0 && tb.err)
    rc = tb.err;
  tb_free(&tb);
  if (rc == 0 && ferror(out))
    rc = PP_EIO;
  return rc;
}
