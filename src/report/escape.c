/* Text buffers and escaping of untrusted names (report/escape.h). */
#include "pyprof/report/escape.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "pyprof/common/error.h"

static int tb_reserve(struct textbuf *b, size_t n) {
  if (b->err)
    return b->err;
  if (n > SIZE_MAX - b->len - 1) {
    b->err = PP_ENOMEM;
    return b->err;
  }
  if (b->len + n + 1 <= b->cap)
    return 0;
  size_t ncap = b->cap ? b->cap : 4096;
  while (ncap < b->len + n + 1) {
    if (ncap > SIZE_MAX / 2) {
      b->err = PP_ENOMEM;
      return b->err;
    }
    ncap *= 2;
  }
  char *np = realloc(b->p, ncap); /* owned by b */
  if (!np) {
    b->err = PP_ENOMEM;
    return b->err;
  }
  b->p = np;
  b->cap = ncap;
  return 0;
}

int tb_put(struct textbuf *b, const char *s, size_t n) {
  int rc = tb_reserve(b, n);
  if (rc < 0)
    return rc;
  if (n)
    memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
  return 0;
}

int tb_str(struct textbuf *b, const char *s) {
  return tb_put(b, s, strlen(s));
}

int tb_printf(struct textbuf *b, const char *fmt, ...) {
  char small[128];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) {
    if (!b->err)
      b->err = PP_EINVAL;
    return b->err;
  }
  if ((size_t)n < sizeof small)
    return tb_put(b, small, (size_t)n);
  int rc = tb_reserve(b, (size_t)n);
  if (rc < 0)
    return rc;
  va_start(ap, fmt);
  vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return 0;
}

int tb_flush(struct textbuf *b, FILE *out) {
  if (b->err)
    return b->err;
  if (b->len && fwrite(b->p, 1, b->len, out) != b->len)
    return PP_EIO;
  b->len = 0;
  if (b->p)
    b->p[0] = '\0';
  return ferror(out) ? PP_EIO : 0;
}

void tb_free(struct textbuf *b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
  b->err = 0;
}

size_t esc_utf8_seq(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  size_t len;
  uint32_t cp;
  if (c < 0x80)
    return 1;
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
    cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (n < len)
    return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    cp = cp << 6 | (s[i] & 0x3f);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
      (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return len;
}

static const char REPLACEMENT[] = "\xef\xbf\xbd"; /* U+FFFD */

/* Code point of a valid sequence of k bytes. */
static uint32_t decode(const unsigned char *s, size_t k) {
  if (k == 1)
    return s[0];
  uint32_t cp = s[0] & (0x7fu >> k);
  for (size_t i = 1; i < k; i++)
    cp = cp << 6 | (s[i] & 0x3fu);
  return cp;
}

int esc_json(struct textbuf *b, const char *s, size_t len, unsigned flags) {
  const unsigned char *u = (const unsigned char *)s;
  tb_put(b, "\"", 1);
  size_t i = 0, run = 0; /* bytes [run, i) are copied as they are */
  while (i < len) {
    size_t k = esc_utf8_seq(u + i, len - i);
    uint32_t cp = k ? decode(u + i, k) : 0xfffd;
    int plain = k && cp >= 0x20 && cp != '"' && cp != '\\' && cp != 0x7f && cp != 0x2028 &&
                cp != 0x2029 &&
                !((flags & ESC_JSON_HTML) && (cp == '<' || cp == '>' || cp == '&'));
    if (plain) {
      i += k;
      continue;
    }
    tb_put(b, s + run, i - run);
    if (!k)
      tb_put(b, REPLACEMENT, 3);
    else if (cp == '"')
      tb_put(b, "\\\"", 2);
    else if (cp == '\\')
      tb_put(b, "\\\\", 2);
    else if (cp == '\n')
      tb_put(b, "\\n", 2);
    else if (cp == '\t')
      tb_put(b, "\\t", 2);
    else if (cp == '\r')
      tb_put(b, "\\r", 2);
    else
      tb_printf(b, "\\u%04x", (unsigned)cp);
    i += k ? k : 1;
    run = i;
  }
  tb_put(b, s + run, i - run);
  return tb_put(b, "\"", 1);
}

int esc_html(struct textbuf *b, const char *s, size_t len) {
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0, run = 0;
  while (i < len) {
    size_t k = esc_utf8_seq(u + i, len - i);
    unsigned c = u[i];
    const char *rep = NULL;
    if (!k || c < 0x20 || c == 0x7f)
      rep = REPLACEMENT;
    else if (c == '&')
      rep = "&amp;";
    else if (c == '<')
      rep = "&lt;";
    else if (c == '>')
      rep = "&gt;";
    else if (c == '"')
      rep = "&quot;";
    else if (c == '\'')
      rep = "&#39;";
    if (!rep) {
      i += k;
      continue;
    }
    tb_put(b, s + run, i - run);
    tb_str(b, rep);
    i += k ? k : 1;
    run = i;
  }
  return tb_put(b, s + run, i - run);
}

int esc_text(struct textbuf *b, const char *s, size_t len, unsigned flags) {
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0, run = 0;
  while (i < len) {
    size_t k = esc_utf8_seq(u + i, len - i);
    uint32_t cp = k ? decode(u + i, k) : 0xfffd;
    const char *rep = NULL;
    if (!k)
      rep = REPLACEMENT;
    else if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
             (cp >= 0x2066 && cp <= 0x2069))
      rep = "?";
    else if (cp == ';' && (flags & ESC_TEXT_FOLDED))
      rep = ",";
    if (!rep) {
      i += k;
      continue;
    }
    tb_put(b, s + run, i - run);
    tb_str(b, rep);
    i += k ? k : 1;
    run = i;
  }
  return tb_put(b, s + run, i - run);
}
