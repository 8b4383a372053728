/* `-f pstats`: a cProfile-compatible stats file, readable by pstats.Stats,
 * snakeviz, gprof2dot.
 *
 * The file is Python's marshal encoding of
 *   {(file, firstline, name): (cc, nc, tt, ct, {caller_key: (nc, cc, tt, ct)})}
 * written here with the few marshal types every Python 3 reads: dict '{'
 * (ended by '0'), tuple '(' with a 32-bit count, int 'i', long 'l' (15-bit
 * digits) for counts above 2^31-1, binary float 'g', str 'u' (UTF-8).
 * Sampling semantics: nc = cc = samples with the function on the stack,
 * tt = own samples x interval, ct = total samples x interval; for a caller
 * entry the same restricted to stacks where that caller called it. */
#include <stdlib.h>
#include <string.h>

#include "pyprof/common/error.h"
#include "pyprof/report/escape.h"
#include "pyprof/report/formats.h"

static void put_u8(FILE *out, unsigned v) {
  fputc((int)(v & 0xff), out);
}

static void put_le32(FILE *out, uint32_t v) {
  for (int i = 0; i < 4; i++)
    put_u8(out, v >> (8 * i));
}

static void m_int(FILE *out, uint64_t v) {
  if (v <= INT32_MAX) {
    put_u8(out, 'i');
    put_le32(out, (uint32_t)v);
    return;
  }
  uint16_t digits[5]; /* 64 bits in 15-bit digits */
  uint32_t n = 0;
  while (v) {
    digits[n++] = (uint16_t)(v & 0x7fff);
    v >>= 15;
  }
  put_u8(out, 'l');
  put_le32(out, n);
  for (uint32_t i = 0; i < n; i++) {
    put_u8(out, digits[i]);
    put_u8(out, digits[i] >> 8);
  }
}

static void m_sint(FILE *out, int32_t v) {
  put_u8(out, 'i');
  put_le32(out, (uint32_t)v);
}

static void m_float(FILE *out, double d) {
  uint64_t bits;
  memcpy(&bits, &d, sizeof bits);
  put_u8(out, 'g');
  for (int i = 0; i < 8; i++)
    put_u8(out, (unsigned)(bits >> (8 * i)));
}

/* str as 'u'; bytes that are not UTF-8 become U+FFFD so marshal accepts it. */
static void m_str(FILE *out, const char *s) {
  const unsigned char *u = (const unsigned char *)s;
  size_t n = strlen(s), outlen = 0;
  for (size_t i = 0; i < n;) {
    size_t k = esc_utf8_seq(u + i, n - i);
    outlen += k ? k : 3;
    i += k ? k : 1;
  }
  put_u8(out, 'u');
  put_le32(out, (uint32_t)outlen);
  for (size_t i = 0; i < n;) {
    size_t k = esc_utf8_seq(u + i, n - i);
    if (k) {
      fwrite(u + i, 1, k, out);
      i += k;
    } else {
      fwrite("\xef\xbf\xbd", 1, 3, out);
      i++;
    }
  }
}

static void m_tuple(FILE *out, uint32_t n) {
  put_u8(out, '(');
  put_le32(out, n);
}

static void m_key(FILE *out, const struct profile *p, const struct profile_func *f) {
  m_tuple(out, 3);
  m_str(out, profile_str(p, f->file));
  m_sint(out, f->firstline);
  m_str(out, profile_str(p, f->name));
}

int report_write_pstats(const struct profile *p, const struct report_options *o, FILE *out) {
  uint32_t *ids = NULL;   /* owned: functions in rank order */
  size_t *first = NULL;   /* owned: per callee, index of its first edge */
  int rc = report_rank_funcs(p, REPORT_SORT_OWN, &ids);
  if (rc < 0)
    goto out;
  first = malloc((p->nfuncs + 1) * sizeof *first);
  if (!first) {
    rc = PP_ENOMEM;
    goto out;
  }
  /* edges are sorted by callee: first[f] .. first[f + 1] are f's callers */
  for (size_t f = 0, e = 0; f <= p->nfuncs; f++) {
    while (e < p->nedges && p->edges[e].callee < f)
      e++;
    first[f] = e;
  }
  double dt = p->interval_s;
  put_u8(out, '{');
  for (size_t i = 0; i < p->nfuncs; i++) {
    const struct profile_func *f = &p->funcs[ids[i]];
    if (!f->total)
      continue;
    m_key(out, p, f);
    m_tuple(out, 5);
    m_int(out, f->total);
    m_int(out, f->total);
    m_float(out, (double)f->own * dt);
    m_float(out, (double)f->total * dt);
    put_u8(out, '{');
    for (size_t e = first[ids[i]]; e < first[ids[i] + 1]; e++) {
      const struct profile_edge *ed = &p->edges[e];
      m_key(out, p, &p->funcs[ed->caller]);
      m_tuple(out, 4);
      m_int(out, ed->total);
      m_int(out, ed->total);
      m_float(out, (double)ed->own * dt);
      m_float(out, (double)ed->total * dt);
    }
    put_u8(out, '0');
  }
  put_u8(out, '0');
  if (ferror(out))
    rc = PP_EIO;
out:
  free(ids);
  free(first);
  return rc;
}
