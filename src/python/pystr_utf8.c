/* PEP 393 code points (latin-1, UCS-2, UCS-4) to UTF-8. */
#include <limits.h>
#include <string.h>

#include "pyprof/common/error.h"
#include "pyprof/python/pystr.h"

#define REPLACEMENT_CHAR 0xFFFDu

/* Code point i of data in the given kind; data may be unaligned. */
static uint32_t code_point_at(unsigned kind, const uint8_t *data, size_t i) {
  if (kind == 1) {
    return data[i];
  }
  if (kind == 2) {
    uint16_t u16;
    memcpy(&u16, data + i * 2, sizeof(u16));
    return u16;
  }
  uint32_t u32;
  memcpy(&u32, data + i * 4, sizeof(u32));
  return u32;
}

/* UTF-8 encoding of cp into buf (4 bytes); returns its length. Surrogates and
 * values past U+10FFFF are encoded as U+FFFD. */
static size_t utf8_encode_one(uint32_t cp, uint8_t buf[4]) {
  if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
    cp = REPLACEMENT_CHAR;
  }
  if (cp < 0x80) {
    buf[0] = (uint8_t)cp;
    return 1;
  }
  if (cp < 0x800) {
    buf[0] = (uint8_t)(0xC0 | (cp >> 6));
    buf[1] = (uint8_t)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    buf[0] = (uint8_t)(0xE0 | (cp >> 12));
    buf[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    buf[2] = (uint8_t)(0x80 | (cp & 0x3F));
    return 3;
  }
  buf[0] = (uint8_t)(0xF0 | (cp >> 18));
  buf[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
  buf[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
  buf[3] = (uint8_t)(0x80 | (cp & 0x3F));
  return 4;
}

int pystr_encode_utf8(unsigned kind, const void *data, size_t length, char *out, size_t cap) {
  if (kind != 1 && kind != 2 && kind != 4) {
    return PP_EINVAL;
  }
  if (!data && length > 0) {
    return PP_EINVAL;
  }
  if (cap == 0) {
    return 0;
  }
  if (!out) {
    return PP_EINVAL;
  }
  /* The byte count is returned as an int. */
  size_t room = cap - 1;
  if (room > (size_t)INT_MAX) {
    room = (size_t)INT_MAX;
  }

  const uint8_t *src = data;
  size_t used = 0;
  for (size_t i = 0; i < length; i++) {
    uint8_t buf[4];
    size_t n = utf8_encode_one(code_point_at(kind, src, i), buf);
    if (n > room - used) {
      break; /* cut before a character that does not fit */
    }
    memcpy(out + used, buf, n);
    used += n;
  }
  out[used] = '\0';
  return (int)used;
}
