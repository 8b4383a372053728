/* Record reader (docs/record-format.md). Chunks are read one at a time into a
 * reused buffer; definition chunks extend the tables, a samples chunk is
 * decoded lazily by record_reader_next(). Nothing read from the file is
 * trusted: lengths are checked against the chunk (whose own length is bounded
 * and backed by bytes actually read) and ids against the tables. */
#include "pyprof/record/reader.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pyprof/common/error.h"
#include "pyprof/common/grow.h"
#include "pyprof/record/format.h"

/* Payload is read in steps of this size so that a length field alone never
 * decides how much is allocated. */
#define READ_STEP ((size_t)1 << 20)

struct rstring {
  size_t off; /* into sbytes; NUL-terminated there */
  uint32_t len;
};

struct rstack {
  size_t off; /* into spool */
  uint32_t n;
};

struct rthread {
  uint32_t tid;
  uint32_t prev_stack; /* UINT32_MAX before its first sample */
  uint64_t t_us;       /* time of its previous sample */
  int64_t delta;       /* time between its previous two samples, in [0, DELTA_MAX] */
};

/* Bounds that keep the time arithmetic free of overflow. */
#define DELTA_MAX ((int64_t)1 << 60)
#define T_MAX_US (UINT64_MAX / 1000)

struct tname {
  uint32_t tid;
  size_t off; /* into sbytes */
};

struct record_reader {
  FILE *f;           /* owned */
  char *hdr_strings; /* owned: storage for the header's three strings */
  struct record_header hdr;
  char msg[512];
  int err; /* sticky error code */
  int done, truncated, has_summary;
  struct record_summary summary;
  uint64_t good_bytes; /* end of the last complete chunk (or of the header) */
  uint64_t samples;

  uint8_t *chunk; /* owned: payload of the current chunk */
  size_t chunk_cap;
  uint64_t chunk_off;    /* file offset of the current chunk */
  const uint8_t *sp, *se; /* undecoded part of the current samples chunk */
  uint64_t sleft;         /* samples left in it */

  char *sbytes; /* owned: string and thread-name bytes */
  size_t sbytes_len, sbytes_cap;
  struct rstring *strings; /* owned */
  size_t nstrings, strings_cap;
  struct record_frame *frames; /* owned */
  size_t nframes, frames_cap;
  uint32_t *spool; /* owned: frame ids of all stacks */
  size_t spool_len, spool_cap;
  struct rstack *stacks; /* owned */
  size_t nstacks, stacks_cap;
  struct rthread *threads; /* owned */
  size_t nthreads, threads_cap;
  struct tname *tnames; /* owned */
  size_t ntnames, tnames_cap;
};

/* ---- helpers ---- */

static uint32_t get_le32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  const uint8_t *b = (const uint8_t *)&v;
  return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint64_t get_le64(const uint8_t *p) {
  return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

/* LEB128; fails on running past end or a value wider than 64 bits. */
static int get_varint(const uint8_t **pp, const uint8_t *end, uint64_t *v) {
  const uint8_t *p = *pp;
  uint64_t r = 0;
  for (unsigned shift = 0; p < end && shift < 64; shift += 7) {
    uint8_t b = *p++;
    if (shift == 63 && b > 1)
      return -1;
    r |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *pp = p;
      *v = r;
      return 0;
    }
  }
  return -1;
}

static int get_u32(const uint8_t **pp, const uint8_t *end, uint32_t *v) {
  uint64_t x;
  if (get_varint(pp, end, &x) < 0 || x > UINT32_MAX)
    return -1;
  *v = (uint32_t)x;
  return 0;
}

static int get_i32(const uint8_t **pp, const uint8_t *end, int32_t *v) {
  uint64_t x;
  if (get_varint(pp, end, &x) < 0)
    return -1;
  int64_t s = (int64_t)(x >> 1) ^ -(int64_t)(x & 1);
  if (s < INT32_MIN || s > INT32_MAX)
    return -1;
  *v = (int32_t)s;
  return 0;
}

static int fail(struct record_reader *r, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct record_reader *r, int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->msg, sizeof r->msg, fmt, ap);
  va_end(ap);
  r->err = err;
  return err;
}

static int corrupt(struct record_reader *r, const char *what) {
  return fail(r, PP_ECORRUPT, "record file is corrupt: %s in chunk at byte %" PRIu64, what,
              r->chunk_off);
}

/* Read up to len bytes of payload into r->chunk; *got gets how many arrived. */
static int read_bytes(struct record_reader *r, size_t len, size_t *got) {
  size_t have = 0;
  while (have < len) {
    size_t step = len - have < READ_STEP ? len - have : READ_STEP;
    if (pp_grow((void **)&r->chunk, &r->chunk_cap, have + step, 1) < 0)
      return fail(r, PP_ENOMEM, "out of memory");
    size_t k = fread(r->chunk + have, 1, step, r->f);
    have += k;
    if (k < step)
      break;
  }
  *got = have;
  if (ferror(r->f))
    return fail(r, PP_EIO, "read error: %s", strerror(errno));
  return 0;
}

static int add_bytes(struct record_reader *r, const uint8_t *s, size_t len, size_t *off) {
  if (pp_grow((void **)&r->sbytes, &r->sbytes_cap, r->sbytes_len + len + 1, 1) < 0)
    return fail(r, PP_ENOMEM, "out of memory");
  *off = r->sbytes_len;
  if (len)
    memcpy(r->sbytes + r->sbytes_len, s, len);
  r->sbytes[r->sbytes_len + len] = '\0';
  r->sbytes_len += len + 1;
  return 0;
}

/* ---- open / close ---- */

int record_reader_open(struct record_reader **out, const char *path) {
  int rc = 0;
  if (!out || !path)
    return PP_EINVAL;
  *out = NULL;
  struct record_reader *r = calloc(1, sizeof *r); /* owned by the caller via *out */
  if (!r)
    return PP_ENOMEM;
  *out = r;
  r->hdr.cmdline = r->hdr.hostname = r->hdr.python_path = "";

  r->f = fopen(path, "rb");
  if (!r->f) {
    int e = errno;
    rc = fail(r, pp_from_errno(e), "cannot open: %s", strerror(e));
    goto out;
  }
  uint8_t pre[RECORD_PREAMBLE_LEN];
  size_t k = fread(pre, 1, sizeof pre, r->f);
  if (ferror(r->f)) {
    rc = fail(r, PP_EIO, "cannot read: %s", strerror(errno));
    goto out;
  }
  if (k == 0) {
    rc = fail(r, PP_EFORMAT, "not a pyprof record file: the file is empty");
    goto out;
  }
  if (memcmp(pre, RECORD_MAGIC, k < RECORD_MAGIC_LEN ? k : RECORD_MAGIC_LEN) != 0) {
    rc = fail(r, PP_EFORMAT, "not a pyprof record file (no PYPROF signature)");
    goto out;
  }
  if (k < 12) {
    rc = fail(r, PP_ETRUNCATED, "record file is truncated: it ends inside the header (%zu bytes)",
              k);
    goto out;
  }
  uint32_t version = get_le32(pre + 8);
  if (version == 0) {
    rc = fail(r, PP_ECORRUPT, "record file is corrupt: format version 0");
    goto out;
  }
  if (version > RECORD_FORMAT_VERSION) {
    rc = fail(r, PP_EVERSION,
              "record format version %" PRIu32
              " was written by a newer pyprof; this pyprof reads format version %u",
              version, RECORD_FORMAT_VERSION);
    goto out;
  }
  if (k < RECORD_PREAMBLE_LEN) {
    rc = fail(r, PP_ETRUNCATED, "record file is truncated: it ends inside the header (%zu bytes)",
              k);
    goto out;
  }
  uint32_t hlen = get_le32(pre + 12);
  if (hlen < RECORD_HEADER_FIXED_LEN + 12 || hlen > RECORD_HEADER_MAX) {
    rc = fail(r, PP_ECORRUPT, "record file is corrupt: header length %" PRIu32, hlen);
    goto out;
  }
  size_t got;
  if ((rc = read_bytes(r, (size_t)hlen + 4, &got)) < 0)
    goto out;
  if (got < (size_t)hlen + 4) {
    rc = fail(r, PP_ETRUNCATED, "record file is truncated: it ends inside the header (%zu bytes)",
              RECORD_PREAMBLE_LEN + got);
    goto out;
  }
  const uint8_t *h = r->chunk;
  uint32_t crc = record_crc32(record_crc32(0, pre, sizeof pre), h, hlen);
  if (crc != get_le32(h + hlen)) {
    rc = fail(r, PP_ECORRUPT, "record file is corrupt: header checksum mismatch");
    goto out;
  }
  r->hdr.format_version = version;
  r->hdr.py_major = h[0];
  r->hdr.py_minor = h[1];
  r->hdr.py_micro = h[2];
  r->hdr.pid = get_le32(h + 4);
  r->hdr.rate_hz = get_le32(h + 8);
  r->hdr.flags = get_le32(h + 12);
  r->hdr.start_unix_ns = (int64_t)get_le64(h + 16);
  r->hdr.rank = (int32_t)get_le32(h + 24);
  /* Three length-prefixed strings; bytes after them are ignored (room for
   * compatible additions). */
  r->hdr_strings = malloc((size_t)hlen + 3);
  if (!r->hdr_strings) {
    rc = fail(r, PP_ENOMEM, "out of memory");
    goto out;
  }
  const char **dst[3] = {&r->hdr.cmdline, &r->hdr.hostname, &r->hdr.python_path};
  size_t pos = RECORD_HEADER_FIXED_LEN, spos = 0;
  for (int i = 0; i < 3; i++) {
    if (hlen - pos < 4) {
      rc = fail(r, PP_ECORRUPT, "record file is corrupt: header strings overrun the header");
      goto out;
    }
    uint32_t len = get_le32(h + pos);
    pos += 4;
    if (len > hlen - pos) {
      rc = fail(r, PP_ECORRUPT, "record file is corrupt: header strings overrun the header");
      goto out;
    }
    memcpy(r->hdr_strings + spos, h + pos, len);
    r->hdr_strings[spos + len] = '\0';
    *dst[i] = r->hdr_strings + spos;
    spos += len + 1;
    pos += len;
  }
  r->good_bytes = RECORD_PREAMBLE_LEN + (uint64_t)hlen + 4;
  r->chunk_off = r->good_bytes;
out:
  return rc;
}

void record_reader_close(struct record_reader *r) {
  if (!r)
    return;
  if (r->f)
    fclose(r->f);
  free(r->hdr_strings);
  free(r->chunk);
  free(r->sbytes);
  free(r->strings);
  free(r->frames);
  free(r->spool);
  free(r->stacks);
  free(r->threads);
  free(r->tnames);
  free(r);
}

/* ---- definition chunks ---- */

static int read_strings(struct record_reader *r, const uint8_t *p, const uint8_t *end,
                        uint64_t count) {
  if (r->nstrings + count > UINT32_MAX)
    return corrupt(r, "too many strings");
  if (pp_grow((void **)&r->strings, &r->strings_cap, r->nstrings + count, sizeof *r->strings) < 0)
    return fail(r, PP_ENOMEM, "out of memory");
  for (uint64_t i = 0; i < count; i++) {
    uint64_t len;
    if (get_varint(&p, end, &len) < 0 || len > (uint64_t)(end - p))
      return corrupt(r, "string overruns its chunk");
    size_t off;
    int rc = add_bytes(r, p, (size_t)len, &off);
    if (rc < 0)
      return rc;
    p += len;
    r->strings[r->nstrings++] = (struct rstring){off, (uint32_t)len};
  }
  return p == end ? 0 : corrupt(r, "trailing bytes");
}

static int read_frames(struct record_reader *r, const uint8_t *p, const uint8_t *end,
                       uint64_t count) {
  if (r->nframes + count > UINT32_MAX)
    return corrupt(r, "too many frames");
  if (pp_grow((void **)&r->frames, &r->frames_cap, r->nframes + count, sizeof *r->frames) < 0)
    return fail(r, PP_ENOMEM, "out of memory");
  for (uint64_t i = 0; i < count; i++) {
    struct record_frame fr;
    if (p >= end)
      return corrupt(r, "frame overruns its chunk");
    fr.kind = *p++;
    if (get_u32(&p, end, &fr.name_id) < 0 || get_u32(&p, end, &fr.file_id) < 0 ||
        get_i32(&p, end, &fr.firstline) < 0 || get_i32(&p, end, &fr.line) < 0)
      return corrupt(r, "frame overruns its chunk");
    if (fr.name_id >= r->nstrings || fr.file_id >= r->nstrings)
      return corrupt(r, "frame refers to an undefined string");
    r->frames[r->nframes++] = fr;
  }
  return p == end ? 0 : corrupt(r, "trailing bytes");
}

static int read_stacks(struct record_reader *r, const uint8_t *p, const uint8_t *end,
                       uint64_t count) {
  if (r->nstacks + count > UINT32_MAX)
    return corrupt(r, "too many stacks");
  if (pp_grow((void **)&r->stacks, &r->stacks_cap, r->nstacks + count, sizeof *r->stacks) < 0)
    return fail(r, PP_ENOMEM, "out of memory");
  for (uint64_t i = 0; i < count; i++) {
    uint64_t n;
    /* every frame id takes at least one byte */
    if (get_varint(&p, end, &n) < 0 || n > (uint64_t)(end - p))
      return corrupt(r, "stack overruns its chunk");
    /* At least one slot, so the pool exists even when every stack so far is
     * empty: r->spool + off on a NULL pool is undefined behaviour here and in
     * record_reader_stack(), which would also return NULL for a valid id
     * (found by fuzz_record_reader, corpus regress-empty-first-stack). */
    if (pp_grow((void **)&r->spool, &r->spool_cap, r->spool_len + (n ? n : 1), sizeof *r->spool) <
        0)
      return fail(r, PP_ENOMEM, "out of memory");
    uint32_t *dst = r->spool + r->spool_len;
    for (uint64_t j = 0; j < n; j++) {
      if (get_u32(&p, end, &dst[j]) < 0)
        return corrupt(r, "stack overruns its chunk");
      if (dst[j] >= r->nframes)
        return corrupt(r, "stack refers to an undefined frame");
    }
    r->stacks[r->nstacks++] = (struct rstack){r->spool_len, (uint32_t)n};
    r->spool_len += n;
  }
  return p == end ? 0 : corrupt(r, "trailing bytes");
}

static int read_threads(struct record_reader *r, const uint8_t *p, const uint8_t *end,
                        uint64_t count) {
  if (pp_grow((void **)&r->tnames, &r->tnames_cap, r->ntnames + count, sizeof *r->tnames) < 0)
    return fail(r, PP_ENOMEM, "out of memory");
  for (uint64_t i = 0; i < count; i++) {
    uint32_t tid;
    uint64_t len;
    if (get_u32(&p, end, &tid) < 0 || get_varint(&p, end, &len) < 0 ||
        len > (uint64_t)(end - p))
      return corrupt(r, "thread name overruns its chunk");
    size_t off;
    int rc = add_bytes(r, p, (size_t)len, &off);
    if (rc < 0)
      return rc;
    p += len;
    r->tnames[r->ntnames++] = (struct tname){tid, off};
  }
  return p == end ? 0 : corrupt(r, "trailing bytes");
}

static int read_end(struct record_reader *r, const uint8_t *p, const uint8_t *end) {
  uint64_t samples, failed, attempts, dur, status;
  if (get_varint(&p, end, &samples) < 0 || get_varint(&p, end, &failed) < 0 ||
      get_varint(&p, end, &attempts) < 0 || get_varint(&p, end, &dur) < 0 ||
      get_varint(&p, end, &status) < 0)
    return corrupt(r, "summary overruns its chunk");
  int64_t st = (int64_t)(status >> 1) ^ -(int64_t)(status & 1);
  if (p != end || st < INT32_MIN || st > INT32_MAX)
    return corrupt(r, "malformed summary");
  r->summary.samples = samples;
  r->summary.failed = failed;
  r->summary.attempts = attempts;
  r->summary.duration_ns = (int64_t)(dur >> 1) ^ -(int64_t)(dur & 1);
  r->summary.exit_status = (int32_t)st;
  r->has_summary = 1;
  return 0;
}

static void set_truncated(struct record_reader *r, size_t partial) {
  r->done = 1;
  r->truncated = 1;
  if (partial)
    snprintf(r->msg, sizeof r->msg,
             "recording cut short after %" PRIu64 " samples: last complete chunk at byte %" PRIu64
             " (%zu bytes of an incomplete chunk follow)",
             r->samples, r->good_bytes, partial);
  else
    snprintf(r->msg, sizeof r->msg,
             "recording cut short after %" PRIu64 " samples: last complete chunk at byte %" PRIu64
             " (no end chunk)",
             r->samples, r->good_bytes);
}

/* Read chunks until one with samples to decode, or the end. */
static int advance(struct record_reader *r) {
  while (!r->done) {
    uint8_t h[RECORD_CHUNK_HEADER_LEN];
    r->chunk_off = r->good_bytes;
    size_t k = fread(h, 1, sizeof h, r->f);
    if (ferror(r->f))
      return fail(r, PP_EIO, "read error: %s", strerror(errno));
    if (k < sizeof h) {
      set_truncated(r, k);
      return 0;
    }
    uint32_t type = get_le32(h), len = get_le32(h + 4), crc = get_le32(h + 8);
    if (len > RECORD_CHUNK_MAX)
      return corrupt(r, "chunk length over the limit");
    size_t got;
    int rc = read_bytes(r, len, &got);
    if (rc < 0)
      return rc;
    if (got < len) {
      set_truncated(r, sizeof h + got);
      return 0;
    }
    if (record_crc32(record_crc32(0, h, 8), r->chunk, len) != crc)
      return corrupt(r, "checksum mismatch");
    const uint8_t *p = r->chunk, *end = r->chunk + len;
    uint64_t count = 0;
    if (type != RECORD_CHUNK_END && !(type & RECORD_CHUNK_OPTIONAL)) {
      /* every entry takes at least one byte */
      if (get_varint(&p, end, &count) < 0 || count > (uint64_t)(end - p))
        return corrupt(r, "entry count over the chunk size");
    }
    switch (type) {
    case RECORD_CHUNK_STRINGS:
      rc = read_strings(r, p, end, count);
      break;
    case RECORD_CHUNK_FRAMES:
      rc = read_frames(r, p, end, count);
      break;
    case RECORD_CHUNK_STACKS:
      rc = read_stacks(r, p, end, count);
      break;
    case RECORD_CHUNK_THREADS:
      rc = read_threads(r, p, end, count);
      break;
    case RECORD_CHUNK_SAMPLES:
      r->sp = p;
      r->se = end;
      r->sleft = count;
      break;
    case RECORD_CHUNK_END:
      rc = read_end(r, p, end);
      if (rc == 0)
        r->done = 1;
      break;
    default:
      if (!(type & RECORD_CHUNK_OPTIONAL))
        return corrupt(r, "unknown chunk type");
      break;
    }
    if (rc < 0)
      return rc;
    r->good_bytes += sizeof h + len;
    if (r->sleft)
      return 0;
    if (type == RECORD_CHUNK_SAMPLES && p != end)
      return corrupt(r, "trailing bytes");
  }
  return 0;
}

/* ---- samples ---- */

static inline int varint_fast(const uint8_t **pp, const uint8_t *end, uint64_t *v) {
  if (*pp < end && !(**pp & 0x80)) {
    *v = *(*pp)++;
    return 0;
  }
  return get_varint(pp, end, v);
}

int record_reader_next(struct record_reader *r, struct record_sample *out, size_t cap,
                       size_t *n) {
  if (!r || !n || (!out && cap))
    return PP_EINVAL;
  *n = 0;
  if (r->err)
    return r->err;
  if (!r->f)
    return PP_EINVAL;
  size_t got = 0;
  while (got < cap && !r->err) {
    if (!r->sleft) {
      if (r->done || advance(r) < 0)
        break;
      continue;
    }
    const uint8_t *p = r->sp, *end = r->se;
    uint64_t stop = r->sleft < cap - got ? r->sleft : cap - got;
    uint64_t i = 0;
    for (; i < stop; i++) {
      if (p >= end) {
        corrupt(r, "malformed sample");
        break;
      }
      unsigned sb = *p++;
      uint64_t v;
      uint64_t idx = sb >> RECORD_SB_THREAD_SHIFT;
      if (idx == RECORD_SB_THREAD_ESCAPE && varint_fast(&p, end, &idx) < 0) {
        corrupt(r, "malformed sample");
        break;
      }
      if (idx > r->nthreads) {
        corrupt(r, "sample refers to an undefined thread");
        break;
      }
      if (idx == r->nthreads) {
        if (varint_fast(&p, end, &v) < 0 || v > UINT32_MAX) {
          corrupt(r, "malformed sample");
          break;
        }
        if (pp_grow((void **)&r->threads, &r->threads_cap, r->nthreads + 1, sizeof *r->threads) <
            0) {
          fail(r, PP_ENOMEM, "out of memory");
          break;
        }
        r->threads[r->nthreads++] = (struct rthread){(uint32_t)v, UINT32_MAX, 0, 0};
      }
      struct rthread *th = &r->threads[idx];
      uint32_t flags = 0;
      if (sb & RECORD_SB_MORE_FLAGS) {
        if (varint_fast(&p, end, &v) < 0 || v > UINT32_MAX) {
          corrupt(r, "malformed sample");
          break;
        }
        flags = (uint32_t)v;
      }
      if (sb & RECORD_SB_IDLE)
        flags |= RECORD_SAMPLE_IDLE;
      if (sb & RECORD_SB_GIL)
        flags |= RECORD_SAMPLE_GIL;
      uint32_t stack;
      if (sb & RECORD_SB_SAME_STACK) {
        stack = th->prev_stack;
      } else {
        if (varint_fast(&p, end, &v) < 0) {
          corrupt(r, "malformed sample");
          break;
        }
        stack = v < r->nstacks ? (uint32_t)v : UINT32_MAX;
      }
      if (stack == UINT32_MAX) {
        corrupt(r, "sample refers to an undefined stack");
        break;
      }
      /* zigzag delta of the thread's previous delta */
      if (varint_fast(&p, end, &v) < 0 || (v >> 1) > (uint64_t)DELTA_MAX) {
        corrupt(r, "malformed sample");
        break;
      }
      int64_t delta = th->delta + ((int64_t)(v >> 1) ^ -(int64_t)(v & 1));
      if (delta < 0 || delta > DELTA_MAX || (uint64_t)delta > T_MAX_US - th->t_us) {
        corrupt(r, "sample time out of range");
        break;
      }
      th->delta = delta;
      th->t_us += (uint64_t)delta;
      th->prev_stack = stack;
      out[got++] = (struct record_sample){th->t_us * 1000, th->tid, (uint32_t)idx, stack, flags};
    }
    r->sp = p;
    r->sleft -= i;
    r->samples += i;
    if (r->err) {
      r->sleft = 0;
      break;
    }
    if (!r->sleft && p != end)
      corrupt(r, "trailing bytes");
  }
  /* Samples decoded before an error are still handed out; the error is
   * returned by this call when there are none, else by the next one. */
  *n = got;
  return got ? 0 : r->err;
}

/* ---- accessors ---- */

const struct record_header *record_reader_header(const struct record_reader *r) {
  return &r->hdr;
}

void record_reader_status(const struct record_reader *r, struct record_status *st) {
  memset(st, 0, sizeof *st);
  st->done = r->done;
  st->truncated = r->truncated;
  st->samples = r->samples;
  st->good_bytes = r->good_bytes;
  st->has_summary = r->has_summary;
  if (r->has_summary)
    st->summary = r->summary;
}

struct record_counts record_reader_counts(const struct record_reader *r) {
  return (struct record_counts){(uint32_t)r->nstrings, (uint32_t)r->nframes,
                                (uint32_t)r->nstacks, (uint32_t)r->nthreads};
}

const char *record_reader_message(const struct record_reader *r) {
  return r->msg;
}

const char *record_reader_string(const struct record_reader *r, uint32_t id, size_t *len) {
  if (id >= r->nstrings)
    return NULL;
  if (len)
    *len = r->strings[id].len;
  return r->sbytes + r->strings[id].off;
}

const struct record_frame *record_reader_frame(const struct record_reader *r, uint32_t id) {
  return id < r->nframes ? &r->frames[id] : NULL;
}

const uint32_t *record_reader_stack(const struct record_reader *r, uint32_t id, size_t *n) {
  if (id >= r->nstacks)
    return NULL;
  *n = r->stacks[id].n;
  return r->spool + r->stacks[id].off;
}

uint32_t record_reader_thread_tid(const struct record_reader *r, uint32_t thread_index) {
  return thread_index < r->nthreads ? r->threads[thread_index].tid : 0;
}

const char *record_reader_thread_name(const struct record_reader *r, uint32_t tid) {
  for (size_t i = r->ntnames; i-- > 0;)
    if (r->tnames[i].tid == tid)
      return r->sbytes + r->tnames[i].off;
  return NULL;
}
