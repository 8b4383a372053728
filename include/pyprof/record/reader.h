/* Record reader: streams a pyprof record file (docs/record-format.md).
 *
 * The reader keeps the interned tables (strings, frames, stacks, threads),
 * which grow with the number of distinct entries, and hands out samples in
 * batches, so memory does not grow with the number of samples. Every length
 * and id read from the file is validated before use.
 *
 *   struct record_reader *r = NULL;
 *   int rc = record_reader_open(&r, path);
 *   if (rc < 0) { report(r ? record_reader_message(r) : pp_strerror(rc)); goto out; }
 *   struct record_sample batch[4096];
 *   size_t n;
 *   while ((rc = record_reader_next(r, batch, 4096, &n)) == 0 && n > 0)
 *     ... batch[i].stack_id -> record_reader_stack(r, ...) ...
 *   if (rc < 0) error: record_reader_message(r)
 *   else { record_reader_status(r, &st); if (st.truncated) warn(record_reader_message(r)); }
 * out:
 *   record_reader_close(r);
 */
#ifndef PYPROF_RECORD_READER_H
#define PYPROF_RECORD_READER_H

#include <stddef.h>
#include <stdint.h>

#include "pyprof/record/writer.h"

struct record_reader;

struct record_header {
  uint32_t format_version;
  uint8_t py_major, py_minor, py_micro;
  uint32_t pid;
  uint32_t rate_hz;
  uint32_t flags; /* RECORD_FLAG_* */
  int64_t start_unix_ns;
  int32_t rank;            /* -1 if none */
  const char *cmdline;     /* owned by the reader, NUL-terminated, valid until close */
  const char *hostname;    /* owned by the reader, as cmdline */
  const char *python_path; /* owned by the reader, as cmdline */
};

struct record_frame {
  uint8_t kind; /* enum record_frame_kind; readers treat unknown kinds as Python */
  uint32_t name_id, file_id;
  int32_t firstline, line;
};

struct record_sample {
  uint64_t t_ns;         /* since the start of the recording, microsecond resolution */
  uint32_t tid;          /* native thread id */
  uint32_t thread_index; /* dense per-file index of tid, < record_reader_counts().threads */
  uint32_t stack_id;     /* < record_reader_counts().stacks */
  uint32_t flags;        /* RECORD_SAMPLE_* */
};

struct record_counts {
  uint32_t strings, frames, stacks, threads;
};

struct record_status {
  int done;              /* the end of the data was reached (cleanly or cut) */
  int truncated;         /* no end chunk: the file was cut or the recorder died */
  uint64_t samples;      /* samples returned so far */
  uint64_t good_bytes;   /* end offset of the last complete chunk */
  int has_summary;       /* the end chunk was read; summary is valid */
  struct record_summary summary;
};

/* Open path and read its header. 0, or a negative code:
 *   PP_ENOTFOUND / PP_EPERM / PP_EIO   cannot open or read the file
 *   PP_EFORMAT    not a pyprof record file (includes an empty file)
 *   PP_EVERSION   written by a newer pyprof (format version too new)
 *   PP_ETRUNCATED the file ends inside the header
 *   PP_ECORRUPT   the header fails its checksum or is malformed
 *   PP_ENOMEM
 * Unless PP_ENOMEM (or PP_EINVAL for NULL arguments) is returned, *out is set
 * even on failure so record_reader_message() can explain; the caller owns *out
 * and releases it with record_reader_close() in every case. */
int record_reader_open(struct record_reader **out, const char *path);

/* Release the reader; NULL is fine. */
void record_reader_close(struct record_reader *r);

/* Header of the file; valid after a successful open, until close. */
const struct record_header *record_reader_header(const struct record_reader *r);

/* Decode up to cap samples into out. 0 with *n > 0: samples (every id in them
 * is valid, the tables already hold what they refer to); 0 with *n == 0: no
 * more samples (see record_reader_status() for whether the file was cut);
 * negative: PP_ECORRUPT (bad checksum, id or length), PP_EIO, PP_ENOMEM. After
 * an error the samples returned before it remain valid and later calls return
 * the same error. */
int record_reader_next(struct record_reader *r, struct record_sample *out, size_t cap, size_t *n);

void record_reader_status(const struct record_reader *r, struct record_status *st);
struct record_counts record_reader_counts(const struct record_reader *r);

/* Human-readable explanation of the last error, or of the truncation once the
 * end was reached ("recording cut short after N samples: last complete chunk
 * at byte X"); "" when there is nothing to say. Never NULL. */
const char *record_reader_message(const struct record_reader *r);

/* Table lookups; ids must be below record_reader_counts(). Returned pointers
 * are owned by the reader and valid until the next record_reader_next() or
 * record_reader_close(). Strings are NUL-terminated (and may contain NULs;
 * *len, when non-NULL, gets the byte length). NULL for an id out of range. */
const char *record_reader_string(const struct record_reader *r, uint32_t id, size_t *len);
const struct record_frame *record_reader_frame(const struct record_reader *r, uint32_t id);
/* Frame ids of stack id, root first; *n gets the depth (may be 0). */
const uint32_t *record_reader_stack(const struct record_reader *r, uint32_t id, size_t *n);
/* Native tid of a thread index; 0 when out of range. */
uint32_t record_reader_thread_tid(const struct record_reader *r, uint32_t thread_index);
/* Last name given to tid in the data read so far, or NULL. */
const char *record_reader_thread_name(const struct record_reader *r, uint32_t tid);

#endif
