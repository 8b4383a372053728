#include "pyprof/proc/reader.h"

#include <string.h>

#include "pyprof/common/error.h"

static int check_req(uint64_t addr, size_t len) {
  if (len > MEM_READ_MAX)
    return PP_EBOUNDS;
  if (addr == 0 || addr + len < addr)
    return PP_EFAULT;
  return 0;
}

int mem_read(const struct mem_reader *r, uint64_t addr, void *buf, size_t len) {
  int rc = check_req(addr, len);
  if (rc < 0)
    return rc;
  if (len == 0)
    return 0;
  return r->ops->read(r->ctx, addr, buf, len);
}

int mem_readv(const struct mem_reader *r, const struct mem_read_req *reqs, size_t n) {
  int rc = 0;
  for (size_t i = 0; i < n; i++) {
    rc = check_req(reqs[i].addr, reqs[i].len);
    if (rc < 0)
      return rc;
  }
  if (r->ops->readv)
    return r->ops->readv(r->ctx, reqs, n);
  for (size_t i = 0; i < n; i++) {
    rc = r->ops->read(r->ctx, reqs[i].addr, reqs[i].buf, reqs[i].len);
    if (rc < 0)
      return rc;
  }
  return 0;
}

#define PAGE 4096u

int mem_read_down(const struct mem_reader *r, uint64_t hi, void *buf, size_t len, size_t *got) {
  *got = 0;
  if (len > MEM_READ_MAX)
    return PP_EBOUNDS;
  if (hi < len || hi == 0)
    return PP_EFAULT;
  if (len == 0)
    return 0;
  if (r->ops->read_down)
    return r->ops->read_down(r->ctx, hi, buf, len, got);
  /* Generic: page-aligned pieces from the top down. */
  uint64_t top = hi;
  int rc = 0;
  while (*got < len) {
    uint64_t piece = top % PAGE ? top % PAGE : PAGE;
    if (piece > len - *got)
      piece = len - *got;
    rc = r->ops->read(r->ctx, top - piece, (char *)buf + (len - *got - piece), (size_t)piece);
    if (rc < 0)
      break;
    *got += (size_t)piece;
    top -= piece;
  }
  return *got ? 0 : rc;
}

int mem_read_u64(const struct mem_reader *r, uint64_t addr, uint64_t *out) {
  unsigned char b[8];
  int rc = mem_read(r, addr, b, sizeof b);
  if (rc == 0)
    memcpy(out, b, sizeof *out);
  return rc;
}

int mem_read_u32(const struct mem_reader *r, uint64_t addr, uint32_t *out) {
  unsigned char b[4];
  int rc = mem_read(r, addr, b, sizeof b);
  if (rc == 0)
    memcpy(out, b, sizeof *out);
  return rc;
}

static int field_fits(size_t buflen, int32_t off, size_t width) {
  return off >= 0 && (size_t)off <= buflen && buflen - (size_t)off >= width;
}

int buf_u64(const void *buf, size_t buflen, int32_t off, uint64_t *out) {
  *out = 0;
  if (!field_fits(buflen, off, 8))
    return 0;
  memcpy(out, (const char *)buf + off, 8);
  return 1;
}

int buf_u32(const void *buf, size_t buflen, int32_t off, uint32_t *out) {
  *out = 0;
  if (!field_fits(buflen, off, 4))
    return 0;
  memcpy(out, (const char *)buf + off, 4);
  return 1;
}

int buf_i32(const void *buf, size_t buflen, int32_t off, int32_t *out) {
  *out = 0;
  if (!field_fits(buflen, off, 4))
    return 0;
  memcpy(out, (const char *)buf + off, 4);
  return 1;
}

int buf_u8(const void *buf, size_t buflen, int32_t off, uint8_t *out) {
  *out = 0;
  if (!field_fits(buflen, off, 1))
    return 0;
  memcpy(out, (const char *)buf + off, 1);
  return 1;
}
