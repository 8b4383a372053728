/* Text buffers and escaping for report outputs.
 *
 * Function and file names come from the target's memory: they may hold any
 * byte, including control characters, invalid UTF-8, markup and separators.
 * Every output format passes them through one of the escapers below, each of
 * which always produces valid UTF-8 (invalid bytes become U+FFFD):
 *
 *   esc_json   a JSON string literal (RFC 8259), optionally safe inside an
 *              HTML <script> element (< > & as \u003c \u003e \u0026)
 *   esc_html   HTML text or attribute value (& < > " ' as entities)
 *   esc_text   plain text for a terminal or a text format: control
 *              characters and bidirectional overrides become '?'
 *
 * A textbuf collects output; its first error is sticky, so a writer may
 * append freely and check once (tb_flush or b->err). */
#ifndef PYPROF_REPORT_ESCAPE_H
#define PYPROF_REPORT_ESCAPE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct textbuf {
  char *p;         /* owned; NUL-terminated once anything was appended */
  size_t len, cap;
  int err;         /* first error (PP_ENOMEM), sticky */
};

/* Append n bytes / a NUL-terminated string / formatted text. Each returns 0
 * or the buffer's sticky error. */
int tb_put(struct textbuf *b, const char *s, size_t n);
int tb_str(struct textbuf *b, const char *s);
int tb_printf(struct textbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Write the buffer's contents to out and empty it: 0, the sticky error, or
 * PP_EIO when out reports an error. */
int tb_flush(struct textbuf *b, FILE *out);
/* Release the buffer's memory; the buffer is then empty and usable again. */
void tb_free(struct textbuf *b);

/* Length of the valid UTF-8 sequence at s (n bytes available, n >= 1), or 0
 * when s[0] does not start one (overlong forms, surrogates and code points
 * above U+10FFFF are invalid). */
size_t esc_utf8_seq(const unsigned char *s, size_t n);

enum {
  ESC_JSON_HTML = 1u << 0, /* also escape < > & so the literal is safe inside <script> */
};

/* s (len bytes) as a JSON string literal with its quotes. Escaped: " \ and
 * U+0000..U+001F, U+007F, U+2028, U+2029 (and < > & with ESC_JSON_HTML). */
int esc_json(struct textbuf *b, const char *s, size_t len, unsigned flags);

/* s as HTML text, also valid inside a quoted attribute value. C0 controls and
 * DEL, which HTML does not allow, become U+FFFD. */
int esc_html(struct textbuf *b, const char *s, size_t len);

enum {
  ESC_TEXT_FOLDED = 1u << 0, /* also ';' -> ',' (the frame separator of folded stacks) */
};

/* s as plain text safe to print on a terminal: C0 controls, DEL, C1 controls
 * (U+0080..U+009F) and bidirectional formatting characters (U+202A..U+202E,
 * U+2066..U+2069) become '?'. */
int esc_text(struct textbuf *b, const char *s, size_t len, unsigned flags);

#endif
