/* Constants of the pyprof record file format (docs/record-format.md), shared by
 * the writer, the reader and tests that craft files by hand. */
#ifndef PYPROF_RECORD_FORMAT_H
#define PYPROF_RECORD_FORMAT_H

#include <stddef.h>
#include <stdint.h>

/* First 8 bytes of every record file. */
#define RECORD_MAGIC "PYPROF\0\n"
#define RECORD_MAGIC_LEN 8
/* Format version written by this pyprof, and the newest it reads. */
#define RECORD_FORMAT_VERSION 1u

/* magic[8], u32 version, u32 header_len, header_len bytes, u32 crc32. */
#define RECORD_PREAMBLE_LEN 16
#define RECORD_HEADER_FIXED_LEN 28 /* fixed fields before the header strings */
#define RECORD_HEADER_MAX ((uint32_t)1 << 20)
#define RECORD_HEADER_STRING_MAX ((size_t)65536) /* longer header strings are cut */

/* Chunk: u32 type, u32 payload length, u32 crc32 of (type, length, payload). */
#define RECORD_CHUNK_HEADER_LEN 12
#define RECORD_CHUNK_MAX ((uint32_t)64 << 20) /* readers reject longer chunks */

enum record_chunk_type {
  RECORD_CHUNK_STRINGS = 1,
  RECORD_CHUNK_FRAMES = 2,
  RECORD_CHUNK_STACKS = 3,
  RECORD_CHUNK_THREADS = 4,
  RECORD_CHUNK_SAMPLES = 5,
  RECORD_CHUNK_END = 6,
};
/* Chunk types with this bit set may be skipped by readers that do not know
 * them; an unknown type without it makes the file unreadable. */
#define RECORD_CHUNK_OPTIONAL 0x80000000u

/* Sample header byte. */
enum {
  RECORD_SB_SAME_STACK = 1u << 0, /* stack = this thread's previous stack */
  RECORD_SB_IDLE = 1u << 1,       /* RECORD_SAMPLE_IDLE */
  RECORD_SB_GIL = 1u << 2,        /* RECORD_SAMPLE_GIL */
  RECORD_SB_MORE_FLAGS = 1u << 3, /* varint of the other flag bits follows */
};
#define RECORD_SB_THREAD_SHIFT 4
#define RECORD_SB_THREAD_ESCAPE 15u /* thread index follows as a varint */

/* Writer limits: strings are cut to this many bytes (at a UTF-8 boundary),
 * stacks deeper than this are refused. */
#define RECORD_STRING_MAX ((size_t)65536)
#define RECORD_STACK_MAX ((size_t)1 << 20)

/* CRC-32 (IEEE 802.3, as zlib): pass 0 to start, the previous value to continue. */
uint32_t record_crc32(uint32_t crc, const void *data, size_t len);

#endif
