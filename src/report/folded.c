/* `-f folded`: Brendan Gregg's folded stacks, "root;...;leaf COUNT", one line
 * per distinct stack, sorted, each frame "function (file:line)" with the line
 * the frame was executing. With --threads, a root frame names the thread. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "pyprof/common/error.h"
#include "pyprof/report/escape.h"
#include "pyprof/report/formats.h"

/* Frame text with the separator of the format replaced (';' -> ',') and
 * nothing a terminal would act on: names come from the target's memory. */
static void put_clean(struct textbuf *b, const char *s) {
  esc_text(b, s, strlen(s), ESC_TEXT_FOLDED);
}

/* The root frame naming thread t: its label (report_thread_label, built in
 * scratch) made clean like any frame. 0 or PP_ENOMEM. */
static int put_thread(struct textbuf *b, struct textbuf *scratch, const struct profile *p,
                      uint32_t t) {
  scratch->len = 0;
  int rc = report_thread_label(scratch, p, t);
  if (rc < 0)
    return rc;
  return esc_text(b, scratch->p, scratch->len, ESC_TEXT_FOLDED);
}

static void put_stack(struct textbuf *b, const struct profile *p, const struct profile_stack *s,
                      int after_root) {
  if (s->n == 0 && !after_root)
    tb_str(b, "(no frames)");
  for (uint32_t j = 0; j < s->n; j++) {
    const struct profile_frame *fr = &p->frames[p->stack_frames[s->off + j]];
    const struct profile_func *fn = &p->funcs[fr->func];
    if (j || after_root)
      tb_put(b, ";", 1);
    put_clean(b, profile_str(p, fn->name));
    tb_str(b, " (");
    put_clean(b, profile_str(p, fn->file));
    if (fr->line > 0)
      tb_printf(b, ":%" PRId32, fr->line);
    tb_str(b, ")");
  }
}

static int cmp_line(const void *a, const void *b, void *ctx) {
  const char *base = ctx;
  return strcmp(base + *(const size_t *)a, base + *(const size_t *)b);
}

int report_write_folded(const struct profile *p, const struct report_options *o, FILE *out) {
  int rc = 0;
  struct textbuf b = {0};     /* owns the text of all lines */
  struct textbuf label = {0}; /* owns a thread's label while it is escaped */
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
    if (o->threads && (rc = put_thread(&b, &label, p, p->tstacks[i].thread)) < 0)
      goto out;
    put_stack(&b, p, s, o->threads);
    tb_printf(&b, " %" PRIu64, count);
    tb_put(&b, "", 1); /* keep the NUL as a separator */
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
  tb_free(&label);
  tb_free(&b);
  free(lines);
  return rc;
}
