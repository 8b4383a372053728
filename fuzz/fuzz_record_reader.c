/* fuzz_record_reader: the record reader over arbitrary files.
 *
 * The input is a record file. It is written to a memfd and opened through
 * /proc/self/fd/N with the real record_reader_open (no reader change needed).
 * Each input is read twice: as is, and with every checksum (header and each
 * chunk that fits in the input) recomputed, so that mutations get past the
 * CRC-32 checks to the parsers behind them. All samples are read in batches of
 * a size taken from the input, every id they return is looked up (stack ->
 * frames -> strings, thread index -> tid -> name), and the invariants of
 * reader.h are checked: ids below the counts, lookups of valid ids non-NULL,
 * sample count matching the status, errors sticky, messages NUL-terminated. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "pyprof/common/error.h"
#include "pyprof/record/format.h"
#include "pyprof/record/reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int memfd = -1;
static char memfd_path[64];

static uint32_t le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

/* Recompute the header CRC and the CRC of every chunk that fits. */
static void fix_crcs(uint8_t *b, size_t size) {
  if (size < RECORD_PREAMBLE_LEN)
    return;
  uint32_t hlen = le32(b + 12);
  if (hlen > size - RECORD_PREAMBLE_LEN || size - RECORD_PREAMBLE_LEN - hlen < 4)
    return;
  size_t pos = RECORD_PREAMBLE_LEN + hlen;
  put32(b + pos, record_crc32(0, b, pos));
  pos += 4;
  while (size - pos >= RECORD_CHUNK_HEADER_LEN) {
    uint32_t len = le32(b + pos + 4);
    if (len > size - pos - RECORD_CHUNK_HEADER_LEN)
      return;
    uint32_t crc =
        record_crc32(record_crc32(0, b + pos, 8), b + pos + RECORD_CHUNK_HEADER_LEN, len);
    put32(b + pos + 8, crc);
    pos += RECORD_CHUNK_HEADER_LEN + len;
  }
}

static void check_msg(const struct record_reader *r) {
  const char *m = record_reader_message(r);
  FUZZ_FAIL_IF(!m || strnlen(m, 4096) >= 4096);
}

static void read_file(const uint8_t *b, size_t size, size_t batch) {
  FUZZ_FAIL_IF(ftruncate(memfd, 0) < 0 || pwrite(memfd, b, size, 0) != (ssize_t)size);
  struct record_reader *r = NULL; /* owned: closed below */
  int rc = record_reader_open(&r, memfd_path);
  if (rc < 0) {
    FUZZ_FAIL_IF(rc != PP_EFORMAT && rc != PP_EVERSION && rc != PP_ETRUNCATED &&
                 rc != PP_ECORRUPT && rc != PP_ENOMEM);
    if (r)
      check_msg(r);
    record_reader_close(r);
    return;
  }
  const struct record_header *h = record_reader_header(r);
  FUZZ_FAIL_IF(!h->cmdline || !h->hostname || !h->python_path || h->format_version == 0 ||
               h->format_version > RECORD_FORMAT_VERSION);
  (void)strlen(h->cmdline);
  (void)strlen(h->hostname);
  (void)strlen(h->python_path);

  static struct record_sample out[64];
  uint64_t total = 0;
  size_t n = 0, budget = (size_t)1 << 20;
  uint32_t named = 0;
  for (;;) {
    rc = record_reader_next(r, out, batch, &n);
    if (rc < 0) {
      FUZZ_FAIL_IF(rc != PP_ECORRUPT && rc != PP_EIO && rc != PP_ENOMEM);
      break;
    }
    FUZZ_FAIL_IF(n > batch);
    if (n == 0)
      break;
    total += n;
    struct record_counts c = record_reader_counts(r);
    for (size_t i = 0; i < n; i++) {
      const struct record_sample *s = &out[i];
      FUZZ_FAIL_IF(s->stack_id >= c.stacks || s->thread_index >= c.threads);
      FUZZ_FAIL_IF(record_reader_thread_tid(r, s->thread_index) != s->tid);
      /* Name lookups are linear in the names: once per new thread index. */
      if (s->thread_index >= named) {
        named = s->thread_index + 1;
        const char *tn = record_reader_thread_name(r, s->tid);
        if (tn)
          (void)strlen(tn);
      }
      size_t depth = 0;
      const uint32_t *st = record_reader_stack(r, s->stack_id, &depth);
      FUZZ_FAIL_IF(!st);
      /* Every stack is resolved, up to a budget of frame lookups per file
       * (a long stack repeated by many 1-byte samples is quadratic here). */
      if (depth > budget)
        depth = budget;
      budget -= depth;
      for (size_t k = 0; k < depth; k++) {
        FUZZ_FAIL_IF(st[k] >= c.frames);
        const struct record_frame *fr = record_reader_frame(r, st[k]);
        FUZZ_FAIL_IF(!fr || fr->name_id >= c.strings || fr->file_id >= c.strings);
        size_t l1 = 0, l2 = 0;
        const char *s1 = record_reader_string(r, fr->name_id, &l1);
        const char *s2 = record_reader_string(r, fr->file_id, &l2);
        FUZZ_FAIL_IF(!s1 || !s2 || s1[l1] != 0 || s2[l2] != 0);
      }
    }
  }
  /* Errors are sticky; the end stays the end. */
  int rc2 = record_reader_next(r, out, batch, &n);
  FUZZ_FAIL_IF(rc2 != (rc < 0 ? rc : 0) || n != 0);
  /* Out-of-range lookups are refused. */
  struct record_counts c = record_reader_counts(r);
  size_t depth;
  FUZZ_FAIL_IF(record_reader_string(r, c.strings, NULL) || record_reader_frame(r, c.frames) ||
               record_reader_stack(r, c.stacks, &depth) ||
               record_reader_thread_tid(r, c.threads) != 0);
  struct record_status st;
  record_reader_status(r, &st);
  FUZZ_FAIL_IF(st.samples != total);
  FUZZ_FAIL_IF(rc == 0 && !st.done);
  check_msg(r);
  record_reader_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (memfd < 0) {
    memfd = memfd_create("pyprof-fuzz-record", MFD_CLOEXEC);
    FUZZ_FAIL_IF(memfd < 0);
    snprintf(memfd_path, sizeof memfd_path, "/proc/self/fd/%d", memfd);
  }
  size_t batch = size ? 1 + data[size - 1] % 64 : 1;
  read_file(data, size, batch);
  uint8_t *b = malloc(size ? size : 1); /* owned: freed below */
  FUZZ_FAIL_IF(!b);
  memcpy(b, data, size);
  fix_crcs(b, size);
  if (memcmp(b, data, size) != 0)
    read_file(b, size, batch);
  free(b);
  return 0;
}
