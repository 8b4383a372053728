/* Record writer: streams a profile to a pyprof record file as it is taken.
 *
 * The file is a header followed by self-contained chunks (docs/record-format.md).
 * The writer interns strings, frames and stacks, so a repeated stack costs a
 * stack id and a time delta. Everything new since the last chunk is emitted
 * before the samples that use it, so a file cut at any byte reads back up to
 * its last complete chunk. record_writer_flush() ends the current chunk and
 * writes it with write(2); the sampler calls it about every 100 ms, so a
 * kill -9 loses at most that much. */
#ifndef PYPROF_RECORD_WRITER_H
#define PYPROF_RECORD_WRITER_H

#include <stddef.h>
#include <stdint.h>

struct record_writer;

struct record_header_info {
  uint8_t py_major, py_minor, py_micro; /* interpreter version found in the target */
  uint32_t pid;                         /* target pid */
  uint32_t rate_hz;                     /* requested sampling rate */
  uint32_t flags;                       /* RECORD_FLAG_* */
  int64_t start_unix_ns;                /* wall clock at start */
  const char *cmdline;                  /* borrowed; target command line, spaces between args */
  const char *hostname;                 /* borrowed */
  const char *python_path;              /* borrowed; binary/library holding the runtime */
  int32_t rank;                         /* MPI rank, -1 if none */
};

enum {
  RECORD_FLAG_IDLE = 1u << 0,     /* idle threads were kept */
  RECORD_FLAG_BLOCKING = 1u << 1, /* threads were stopped while read */
  RECORD_FLAG_GIL = 1u << 2,      /* only GIL-holding samples kept */
  RECORD_FLAG_NATIVE = 1u << 3,   /* native frames present */
  RECORD_FLAG_GIL_TRACKED = 1u << 4, /* samples carry RECORD_SAMPLE_GIL */
};

enum record_frame_kind {
  RECORD_FRAME_PYTHON = 0,
  RECORD_FRAME_NATIVE = 1,
};

/* Per-sample flags. */
enum {
  RECORD_SAMPLE_IDLE = 1u << 0, /* thread was not running on a CPU */
  RECORD_SAMPLE_GIL = 1u << 1,  /* thread held the GIL */
};

struct record_summary {
  uint64_t samples;        /* samples written */
  uint64_t failed;         /* sampling attempts that produced no stack (torn, fault) */
  uint64_t attempts;       /* sampling ticks */
  int64_t duration_ns;     /* recording wall time */
  int32_t exit_status;     /* target exit status when known, else -1 */
};

/* Create/truncate path and write the header. *out is owned by the caller and
 * released by record_writer_close(). */
int record_writer_open(struct record_writer **out, const char *path,
                       const struct record_header_info *h);
/* Intern a UTF-8 string (len bytes, need not be NUL-terminated). */
int record_writer_string(struct record_writer *w, const char *s, size_t len, uint32_t *id);
/* Intern a frame: function name, file name (string ids), first line of the
 * function, current line (0 when unknown). */
int record_writer_frame(struct record_writer *w, enum record_frame_kind kind, uint32_t name_id,
                        uint32_t file_id, int32_t firstline, int32_t line, uint32_t *id);
/* Intern a stack of frame ids, ordered root first, leaf last. n may be 0. */
int record_writer_stack(struct record_writer *w, const uint32_t *frames, size_t n,
                        uint32_t *id);
/* Name a thread (native tid) once; optional. */
int record_writer_thread(struct record_writer *w, uint32_t tid, const char *name);
/* Append one sample: native thread id, monotonic timestamp in ns since the
 * start of the recording, stack id, RECORD_SAMPLE_* flags. */
int record_writer_sample(struct record_writer *w, uint32_t tid, uint64_t t_ns, uint32_t stack_id,
                         uint32_t flags);
/* End the current chunk and write it out. PP_ENOSPC/PP_EFBIG/PP_EIO on write
 * failure; the file then still reads back up to the last chunk written. */
int record_writer_flush(struct record_writer *w);
/* Flush, write the end chunk with the summary, close and free. s may be NULL
 * (file then has no end chunk; the reader says the recording was cut short).
 * Always frees w, even on error. */
int record_writer_close(struct record_writer *w, const struct record_summary *s);
/* Bytes written so far (for status lines and the bench). */
uint64_t record_writer_bytes(const struct record_writer *w);

#endif
