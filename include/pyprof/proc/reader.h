/* The one interface through which every remote byte is read.
 *
 * A mem_reader is a small vtable: the live-process backend (proc_mem.h), the
 * memory-image backend used by unit tests and fuzzers (mem_image.h), and any
 * later one (core file) all fill it. Callers go through mem_read()/mem_readv(),
 * which enforce the size bound, so no walker can ask for an unbounded read. */
#ifndef PYPROF_PROC_READER_H
#define PYPROF_PROC_READER_H

#include <stddef.h>
#include <stdint.h>

/* Largest single read the interface accepts (a data-stack chunk, a line table). */
#define MEM_READ_MAX ((size_t)1 << 20)

struct mem_read_req {
  uint64_t addr;
  void *buf;   /* borrowed: caller's buffer of len bytes */
  size_t len;
};

struct mem_reader_ops {
  /* Read exactly len bytes at addr into buf. 0, or a negative PP_E* code:
   * PP_EFAULT (unmapped), PP_EEXITED / PP_ENOPROC (target gone), PP_EPERM. */
  int (*read)(void *ctx, uint64_t addr, void *buf, size_t len);
  /* Optional batch form; NULL means mem_readv() loops over read(). Every
   * request must be satisfied in full for 0 to be returned. */
  int (*readv)(void *ctx, const struct mem_read_req *reqs, size_t n);
  /* Optional: read as much as can be read of [hi - len, hi), from the top
   * down, stopping at the first unreadable page; *got bytes ending at hi are
   * then valid (at buf + len - *got). NULL: mem_read_down() reads page by page. */
  int (*read_down)(void *ctx, uint64_t hi, void *buf, size_t len, size_t *got);
};

struct mem_reader {
  const struct mem_reader_ops *ops; /* borrowed: static table */
  void *ctx;                        /* borrowed: owned by the backend's creator */
};

/* Bounded read: PP_EBOUNDS when len > MEM_READ_MAX, PP_EFAULT for address 0
 * or a range that wraps around. */
int mem_read(const struct mem_reader *r, uint64_t addr, void *buf, size_t len);
/* Bounded batch read, same rules per request. */
int mem_readv(const struct mem_reader *r, const struct mem_read_req *reqs, size_t n);
/* Read downwards from hi, page by page, as far as memory is readable (at most
 * len bytes, bounded like mem_read): *got bytes ending at hi land at the end
 * of buf. 0 when at least one byte was read, else the error of the top page.
 * Used to copy a stretch of a thread's data stack in one call without knowing
 * where its allocation begins. */
int mem_read_down(const struct mem_reader *r, uint64_t hi, void *buf, size_t len, size_t *got);

/* Helpers for fixed-size fields, decoded with memcpy from a local buffer. */
int mem_read_u64(const struct mem_reader *r, uint64_t addr, uint64_t *out);
int mem_read_u32(const struct mem_reader *r, uint64_t addr, uint32_t *out);

/* Field access in a local copy of a remote struct. Offsets come from the
 * layout table; a field that does not fit the buffer yields 0 and a false
 * return, so a bad table can never make us read out of bounds locally. */
int buf_u64(const void *buf, size_t buflen, int32_t off, uint64_t *out);
int buf_u32(const void *buf, size_t buflen, int32_t off, uint32_t *out);
int buf_i32(const void *buf, size_t buflen, int32_t off, int32_t *out);
int buf_u8(const void *buf, size_t buflen, int32_t off, uint8_t *out);

#endif
