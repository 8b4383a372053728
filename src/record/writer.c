/* Record writer: interning tables and chunk encoding (docs/record-format.md).
 *
 * Strings, frames and stacks are interned with id tables (common/hash.h)
 * whose slots hold (hash, id + 1); the data lives in dense arrays. Anything
 * new is appended to a pending per-type buffer; record_writer_flush() emits
 * the non-empty buffers as chunks in dependency order (strings, frames,
 * stacks, threads, samples) with one write. A repeated stack costs one hash
 * probe and no allocation. */
#include "pyprof/record/writer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pyprof/common/error.h"
#include "pyprof/common/grow.h"
#include "pyprof/common/hash.h"
#include "pyprof/record/format.h"

/* Pending data above this size is flushed without waiting for the caller. */
#define AUTO_FLUSH_BYTES ((size_t)1 << 20)

struct buf {
  uint8_t *p; /* owned */
  size_t len, cap;
};

struct wstring {
  size_t off; /* into record_writer.sbytes */
  uint32_t len;
};

struct wframe {
  uint32_t name, file;
  int32_t firstline, line;
  uint8_t kind;
};

struct wstack {
  size_t off; /* into record_writer.spool */
  uint32_t n;
};

struct wthread {
  uint32_t tid;
  uint32_t prev_stack; /* UINT32_MAX before the thread's first sample */
  uint64_t prev_t_us;  /* time of the thread's previous sample */
  int64_t prev_delta;  /* time between its previous two samples */
};

enum { P_STRINGS, P_FRAMES, P_STACKS, P_THREADS, P_SAMPLES, P_COUNT };

static const uint32_t pending_type[P_COUNT] = {
    RECORD_CHUNK_STRINGS, RECORD_CHUNK_FRAMES, RECORD_CHUNK_STACKS,
    RECORD_CHUNK_THREADS, RECORD_CHUNK_SAMPLES,
};

struct record_writer {
  int fd;              /* owned; closed by record_writer_close() */
  int err;             /* sticky write error: the file is final once set */
  uint64_t good_bytes; /* file size up to the end of the last complete chunk */

  char *sbytes; /* owned: interned string bytes */
  size_t sbytes_len, sbytes_cap;
  struct wstring *strings; /* owned */
  uint32_t nstrings, strings_cap;
  struct pp_idtab string_tab;

  struct wframe *frames; /* owned */
  uint32_t nframes, frames_cap;
  struct pp_idtab frame_tab;

  uint32_t *spool; /* owned: frame ids of all stacks */
  size_t spool_len, spool_cap;
  struct wstack *stacks; /* owned */
  uint32_t nstacks, stacks_cap;
  struct pp_idtab stack_tab;

  struct wthread *threads; /* owned; index = thread index in the sample stream */
  uint32_t nthreads, threads_cap;
  struct pp_idtab thread_tab;

  struct buf pending[P_COUNT];
  uint32_t pending_count[P_COUNT];
  struct buf out; /* assembled chunks of one flush */
};

/* ---- small helpers ---- */

static int grow32(void **p, uint32_t *cap, size_t need, size_t elem) {
  if (need > UINT32_MAX - 1)
    return PP_ENOMEM;
  size_t c = *cap;
  int rc = pp_grow(p, &c, need, elem);
  if (rc == 0)
    *cap = c > UINT32_MAX ? UINT32_MAX : (uint32_t)c;
  return rc;
}

static int buf_reserve(struct buf *b, size_t extra) {
  if (extra > SIZE_MAX - b->len)
    return PP_ENOMEM;
  return pp_grow((void **)&b->p, &b->cap, b->len + extra, 1);
}

/* Caller reserved room for 10 bytes. */
static void put_varint(struct buf *b, uint64_t v) {
  while (v >= 0x80) {
    b->p[b->len++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  b->p[b->len++] = (uint8_t)v;
}

static uint64_t zigzag(int64_t v) {
  return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static void put_le32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- flushing ---- */

static int write_all(int fd, const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t k = write(fd, p, n);
    if (k < 0) {
      if (errno == EINTR)
        continue;
      return pp_from_errno(errno);
    }
    if (k == 0)
      return PP_EIO;
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

/* Append one chunk (header, payload prefix, payload) to w->out. */
static int emit_chunk(struct record_writer *w, uint32_t type, const uint8_t *pre, size_t pre_len,
                      const uint8_t *payload, size_t len) {
  size_t total = pre_len + len;
  if (total > RECORD_CHUNK_MAX)
    return PP_EINVAL;
  int rc = buf_reserve(&w->out, RECORD_CHUNK_HEADER_LEN + total);
  if (rc < 0)
    return rc;
  uint8_t *h = w->out.p + w->out.len;
  put_le32(h, type);
  put_le32(h + 4, (uint32_t)total);
  uint8_t *body = h + RECORD_CHUNK_HEADER_LEN;
  if (pre_len)
    memcpy(body, pre, pre_len);
  if (len)
    memcpy(body + pre_len, payload, len);
  uint32_t crc = record_crc32(0, h, 8);
  crc = record_crc32(crc, body, total);
  put_le32(h + 8, crc);
  w->out.len += RECORD_CHUNK_HEADER_LEN + total;
  return 0;
}

/* Write w->out; on failure cut the file back to its last complete chunk and
 * make the error sticky. */
static int write_out(struct record_writer *w) {
  int rc = write_all(w->fd, w->out.p, w->out.len);
  if (rc < 0) {
    if (ftruncate(w->fd, (off_t)w->good_bytes) == 0)
      (void)lseek(w->fd, (off_t)w->good_bytes, SEEK_SET);
    w->err = rc;
  } else {
    w->good_bytes += w->out.len;
  }
  w->out.len = 0;
  return rc;
}

int record_writer_flush(struct record_writer *w) {
  if (!w)
    return PP_EINVAL;
  if (w->err)
    return w->err;
  int rc = 0;
  w->out.len = 0;
  for (int k = 0; k < P_COUNT; k++) {
    if (!w->pending_count[k])
      continue;
    uint8_t pre[10];
    struct buf pb = {pre, 0, sizeof pre};
    put_varint(&pb, w->pending_count[k]);
    rc = emit_chunk(w, pending_type[k], pre, pb.len, w->pending[k].p, w->pending[k].len);
    if (rc < 0)
      goto out;
  }
  if (w->out.len)
    rc = write_out(w);
out:
  /* Pending data is consumed either way: after a write error the writer is
   * final, and a chunk too large to emit cannot become smaller. */
  for (int k = 0; k < P_COUNT; k++) {
    w->pending[k].len = 0;
    w->pending_count[k] = 0;
  }
  if (rc < 0 && !w->err)
    w->err = rc;
  return rc;
}

static size_t pending_bytes(const struct record_writer *w) {
  size_t n = 0;
  for (int k = 0; k < P_COUNT; k++)
    n += w->pending[k].len;
  return n;
}

static int maybe_flush(struct record_writer *w) {
  if (pending_bytes(w) < AUTO_FLUSH_BYTES)
    return 0;
  return record_writer_flush(w);
}

/* ---- open / close ---- */

static size_t cut_utf8(const char *s, size_t len, size_t max) {
  if (len <= max)
    return len;
  size_t n = max;
  while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
    n--;
  return n;
}

static int put_header_string(struct buf *b, const char *s) {
  size_t len = s ? strlen(s) : 0;
  len = cut_utf8(s, len, RECORD_HEADER_STRING_MAX);
  int rc = buf_reserve(b, 4 + len);
  if (rc < 0)
    return rc;
  put_le32(b->p + b->len, (uint32_t)len);
  b->len += 4;
  if (len)
    memcpy(b->p + b->len, s, len);
  b->len += len;
  return 0;
}

static void writer_free(struct record_writer *w) {
  free(w->sbytes);
  free(w->strings);
  pp_idtab_free(&w->string_tab);
  free(w->frames);
  pp_idtab_free(&w->frame_tab);
  free(w->spool);
  free(w->stacks);
  pp_idtab_free(&w->stack_tab);
  free(w->threads);
  pp_idtab_free(&w->thread_tab);
  for (int k = 0; k < P_COUNT; k++)
    free(w->pending[k].p);
  free(w->out.p);
  free(w);
}

int record_writer_open(struct record_writer **out, const char *path,
                       const struct record_header_info *h) {
  int rc = 0;
  struct record_writer *w = NULL; /* owned here until handed to *out */
  if (!out || !path || !h)
    return PP_EINVAL;
  *out = NULL;
  w = calloc(1, sizeof *w);
  if (!w)
    return PP_ENOMEM;
  w->fd = -1;
  if ((rc = pp_idtab_init(&w->string_tab, 256)) < 0 ||
      (rc = pp_idtab_init(&w->frame_tab, 256)) < 0 ||
      (rc = pp_idtab_init(&w->stack_tab, 256)) < 0 ||
      (rc = pp_idtab_init(&w->thread_tab, 256)) < 0)
    goto out;

  /* Header: preamble, fixed fields, three strings, crc. */
  struct buf *b = &w->out;
  if ((rc = buf_reserve(b, RECORD_PREAMBLE_LEN + RECORD_HEADER_FIXED_LEN)) < 0)
    goto out;
  memcpy(b->p, RECORD_MAGIC, RECORD_MAGIC_LEN);
  put_le32(b->p + 8, RECORD_FORMAT_VERSION);
  /* header length at 12 filled in below */
  uint8_t *f = b->p + RECORD_PREAMBLE_LEN;
  f[0] = h->py_major;
  f[1] = h->py_minor;
  f[2] = h->py_micro;
  f[3] = 0;
  put_le32(f + 4, h->pid);
  put_le32(f + 8, h->rate_hz);
  put_le32(f + 12, h->flags);
  put_le64(f + 16, (uint64_t)h->start_unix_ns);
  put_le32(f + 24, (uint32_t)h->rank);
  b->len = RECORD_PREAMBLE_LEN + RECORD_HEADER_FIXED_LEN;
  if ((rc = put_header_string(b, h->cmdline)) < 0 ||
      (rc = put_header_string(b, h->hostname)) < 0 ||
      (rc = put_header_string(b, h->python_path)) < 0)
    goto out;
  put_le32(b->p + 12, (uint32_t)(b->len - RECORD_PREAMBLE_LEN));
  if ((rc = buf_reserve(b, 4)) < 0)
    goto out;
  put_le32(b->p + b->len, record_crc32(0, b->p, b->len));
  b->len += 4;

  w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (w->fd < 0) {
    rc = pp_from_errno(errno);
    goto out;
  }
  if ((rc = write_out(w)) < 0)
    goto out;
  *out = w;
  w = NULL;
out:
  if (w) {
    if (w->fd >= 0)
      close(w->fd);
    writer_free(w);
  }
  return rc;
}

int record_writer_close(struct record_writer *w, const struct record_summary *s) {
  if (!w)
    return PP_EINVAL;
  int rc = record_writer_flush(w);
  if (rc == 0 && s) {
    uint8_t end[64];
    struct buf eb = {end, 0, sizeof end};
    put_varint(&eb, s->samples);
    put_varint(&eb, s->failed);
    put_varint(&eb, s->attempts);
    put_varint(&eb, zigzag(s->duration_ns));
    put_varint(&eb, zigzag(s->exit_status));
    w->out.len = 0;
    rc = emit_chunk(w, RECORD_CHUNK_END, NULL, 0, end, eb.len);
    if (rc == 0)
      rc = write_out(w);
  }
  if (close(w->fd) < 0 && rc == 0)
    rc = pp_from_errno(errno);
  writer_free(w);
  return rc;
}

uint64_t record_writer_bytes(const struct record_writer *w) {
  return w ? w->good_bytes : 0;
}

/* ---- interning ---- */

int record_writer_string(struct record_writer *w, const char *s, size_t len, uint32_t *id) {
  if (!w || (!s && len) || !id)
    return PP_EINVAL;
  if (w->err)
    return w->err;
  if (!s)
    s = "";
  len = cut_utf8(s, len, RECORD_STRING_MAX);
  uint32_t h = pp_hash_bytes(s, len), cand;
  for (size_t pos = 0; pp_idtab_next(&w->string_tab, h, &pos, &cand);) {
    const struct wstring *ws = &w->strings[cand];
    if (ws->len == len && memcmp(w->sbytes + ws->off, s, len) == 0) {
      *id = cand;
      return 0;
    }
  }
  int rc;
  struct buf *pb = &w->pending[P_STRINGS];
  if ((rc = pp_idtab_reserve(&w->string_tab)) < 0 ||
      (rc = grow32((void **)&w->strings, &w->strings_cap, (size_t)w->nstrings + 1,
                   sizeof *w->strings)) < 0 ||
      (rc = pp_grow((void **)&w->sbytes, &w->sbytes_cap, w->sbytes_len + len + 1, 1)) < 0 ||
      (rc = buf_reserve(pb, 10 + len)) < 0)
    return rc;
  if (len)
    memcpy(w->sbytes + w->sbytes_len, s, len);
  w->strings[w->nstrings] = (struct wstring){w->sbytes_len, (uint32_t)len};
  w->sbytes_len += len;
  pp_idtab_put(&w->string_tab, h, w->nstrings);
  *id = w->nstrings++;
  put_varint(pb, len);
  if (len)
    memcpy(pb->p + pb->len, s, len);
  pb->len += len;
  w->pending_count[P_STRINGS]++;
  return maybe_flush(w);
}

int record_writer_frame(struct record_writer *w, enum record_frame_kind kind, uint32_t name_id,
                        uint32_t file_id, int32_t firstline, int32_t line, uint32_t *id) {
  if (!w || !id || name_id >= w->nstrings || file_id >= w->nstrings || (unsigned)kind > 255)
    return PP_EINVAL;
  if (w->err)
    return w->err;
  struct wframe fr = {name_id, file_id, firstline, line, (uint8_t)kind};
  uint32_t key[5] = {name_id, file_id, (uint32_t)firstline, (uint32_t)line, (uint32_t)kind};
  uint32_t h = pp_hash_words(key, 5, 1), cand;
  for (size_t pos = 0; pp_idtab_next(&w->frame_tab, h, &pos, &cand);) {
    const struct wframe *o = &w->frames[cand];
    if (o->name == fr.name && o->file == fr.file && o->firstline == fr.firstline &&
        o->line == fr.line && o->kind == fr.kind) {
      *id = cand;
      return 0;
    }
  }
  int rc;
  struct buf *pb = &w->pending[P_FRAMES];
  if ((rc = pp_idtab_reserve(&w->frame_tab)) < 0 ||
      (rc = grow32((void **)&w->frames, &w->frames_cap, (size_t)w->nframes + 1,
                   sizeof *w->frames)) < 0 ||
      (rc = buf_reserve(pb, 1 + 4 * 10)) < 0)
    return rc;
  w->frames[w->nframes] = fr;
  pp_idtab_put(&w->frame_tab, h, w->nframes);
  *id = w->nframes++;
  pb->p[pb->len++] = fr.kind;
  put_varint(pb, name_id);
  put_varint(pb, file_id);
  put_varint(pb, zigzag(firstline));
  put_varint(pb, zigzag(line));
  w->pending_count[P_FRAMES]++;
  return maybe_flush(w);
}

int record_writer_stack(struct record_writer *w, const uint32_t *frames, size_t n,
                        uint32_t *id) {
  if (!w || (!frames && n) || !id || n > RECORD_STACK_MAX)
    return PP_EINVAL;
  if (w->err)
    return w->err;
  uint32_t h = pp_hash_words(frames, n, 2), cand;
  for (size_t pos = 0; pp_idtab_next(&w->stack_tab, h, &pos, &cand);) {
    const struct wstack *o = &w->stacks[cand];
    if (o->n == n && (n == 0 || memcmp(w->spool + o->off, frames, n * sizeof *frames) == 0)) {
      *id = cand;
      return 0;
    }
  }
  for (size_t k = 0; k < n; k++)
    if (frames[k] >= w->nframes)
      return PP_EINVAL;
  int rc;
  struct buf *pb = &w->pending[P_STACKS];
  if ((rc = pp_idtab_reserve(&w->stack_tab)) < 0 ||
      (rc = grow32((void **)&w->stacks, &w->stacks_cap, (size_t)w->nstacks + 1,
                   sizeof *w->stacks)) < 0 ||
      (rc = pp_grow((void **)&w->spool, &w->spool_cap, w->spool_len + n, sizeof *w->spool)) < 0 ||
      (rc = buf_reserve(pb, 10 + 5 * n)) < 0)
    return rc;
  if (n)
    memcpy(w->spool + w->spool_len, frames, n * sizeof *frames);
  w->stacks[w->nstacks] = (struct wstack){w->spool_len, (uint32_t)n};
  w->spool_len += n;
  pp_idtab_put(&w->stack_tab, h, w->nstacks);
  *id = w->nstacks++;
  put_varint(pb, n);
  for (size_t k = 0; k < n; k++)
    put_varint(pb, frames[k]);
  w->pending_count[P_STACKS]++;
  return maybe_flush(w);
}

int record_writer_thread(struct record_writer *w, uint32_t tid, const char *name) {
  if (!w || !name)
    return PP_EINVAL;
  if (w->err)
    return w->err;
  size_t len = cut_utf8(name, strlen(name), 1024);
  struct buf *pb = &w->pending[P_THREADS];
  int rc = buf_reserve(pb, 20 + len);
  if (rc < 0)
    return rc;
  put_varint(pb, tid);
  put_varint(pb, len);
  memcpy(pb->p + pb->len, name, len);
  pb->len += len;
  w->pending_count[P_THREADS]++;
  return maybe_flush(w);
}

/* Index of thread tid in the sample stream; *is_new when it gets one now. */
static int thread_index(struct record_writer *w, uint32_t tid, uint32_t *idx, int *is_new) {
  uint32_t h = pp_hash_words(&tid, 1, 3), cand;
  for (size_t pos = 0; pp_idtab_next(&w->thread_tab, h, &pos, &cand);) {
    if (w->threads[cand].tid == tid) {
      *idx = cand;
      *is_new = 0;
      return 0;
    }
  }
  int rc;
  if ((rc = pp_idtab_reserve(&w->thread_tab)) < 0 ||
      (rc = grow32((void **)&w->threads, &w->threads_cap, (size_t)w->nthreads + 1,
                   sizeof *w->threads)) < 0)
    return rc;
  w->threads[w->nthreads] = (struct wthread){tid, UINT32_MAX, 0, 0};
  pp_idtab_put(&w->thread_tab, h, w->nthreads);
  *idx = w->nthreads++;
  *is_new = 1;
  return 0;
}

int record_writer_sample(struct record_writer *w, uint32_t tid, uint64_t t_ns, uint32_t stack_id,
                         uint32_t flags) {
  if (!w || stack_id >= w->nstacks)
    return PP_EINVAL;
  if (w->err)
    return w->err;
  struct buf *pb = &w->pending[P_SAMPLES];
  int rc = buf_reserve(pb, 1 + 4 * 10);
  if (rc < 0)
    return rc;
  uint32_t idx;
  int is_new;
  if ((rc = thread_index(w, tid, &idx, &is_new)) < 0)
    return rc;
  struct wthread *th = &w->threads[idx];
  uint32_t sb = 0;
  if (th->prev_stack == stack_id)
    sb |= RECORD_SB_SAME_STACK;
  if (flags & RECORD_SAMPLE_IDLE)
    sb |= RECORD_SB_IDLE;
  if (flags & RECORD_SAMPLE_GIL)
    sb |= RECORD_SB_GIL;
  uint32_t more = flags & ~(uint32_t)(RECORD_SAMPLE_IDLE | RECORD_SAMPLE_GIL);
  if (more)
    sb |= RECORD_SB_MORE_FLAGS;
  sb |= (idx < RECORD_SB_THREAD_ESCAPE ? idx : RECORD_SB_THREAD_ESCAPE) << RECORD_SB_THREAD_SHIFT;
  pb->p[pb->len++] = (uint8_t)sb;
  if (idx >= RECORD_SB_THREAD_ESCAPE)
    put_varint(pb, idx);
  if (is_new)
    put_varint(pb, tid);
  if (more)
    put_varint(pb, more);
  if (!(sb & RECORD_SB_SAME_STACK))
    put_varint(pb, stack_id);
  /* Per-thread delta of deltas: at a steady rate only the jitter is stored. */
  uint64_t t_us = t_ns / 1000;
  int64_t delta = t_us > th->prev_t_us ? (int64_t)(t_us - th->prev_t_us) : 0;
  put_varint(pb, zigzag(delta - th->prev_delta));
  th->prev_delta = delta;
  th->prev_t_us += (uint64_t)delta;
  th->prev_stack = stack_id;
  w->pending_count[P_SAMPLES]++;
  return maybe_flush(w);
}
