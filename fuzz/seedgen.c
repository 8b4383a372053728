/* pyprof-fuzz-seedgen: builds the seed corpora of the fuzz harnesses
 * (run by fuzz/gen_seeds.sh; not needed to fuzz).
 *
 *   seedgen image DUMP RUNTIME MINOR OUT
 *       DUMP is a whole-process snapshot written by tests/layout_dump.py's
 *       snap() (b"PPDUMP01", then u64 address, u64 length, bytes records, a
 *       0,0 record at the end), RUNTIME the address of _PyRuntime in it, MINOR
 *       the interpreter's 3.MINOR. Runs the fuzz_frame_walk sampling path over
 *       the snapshot through a reader that records every byte read, and writes
 *       only those bytes (plus each thread's data-stack chunk) as a fuzz image
 *       input (fuzz/fuzz_common.h) to OUT; for 3.13+ also OUT-dbg, which takes
 *       its layout from the _Py_DebugOffsets in the image. The images are
 *       replayed and must give the same frames as the full snapshot.
 *   seedgen record DIR
 *       writes small record files of assorted shapes with the real writer.
 *   seedgen layout-index MINOR
 *       prints the fuzz_layout() index of 3.MINOR (the selector byte of
 *       fuzz_pystr and image inputs).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "pyprof/common/error.h"
#include "pyprof/record/format.h"
#include "pyprof/record/writer.h"

static void die(const char *what) {
  fprintf(stderr, "seedgen: %s\n", what);
  exit(1);
}

/* ---- a reader that remembers what was read ------------------------------ */

struct span {
  uint64_t lo, hi;
};

struct tracer {
  struct mem_reader inner;
  struct span *v; /* owned */
  size_t n, cap;
};

static void tracer_note(struct tracer *t, uint64_t lo, uint64_t hi) {
  if (t->n == t->cap) {
    t->cap = t->cap ? t->cap * 2 : 256;
    t->v = realloc(t->v, t->cap * sizeof *t->v);
    if (!t->v)
      die("out of memory");
  }
  t->v[t->n++] = (struct span){lo, hi};
}

static int tracer_read(void *ctx, uint64_t addr, void *buf, size_t len) {
  struct tracer *t = ctx;
  int rc = mem_read(&t->inner, addr, buf, len);
  if (rc == 0 && len > 0)
    tracer_note(t, addr, addr + len);
  return rc;
}

static const struct mem_reader_ops tracer_ops = {.read = tracer_read};

static int span_cmp(const void *a, const void *b) {
  const struct span *x = a, *y = b;
  return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sort and merge spans closer than gap bytes. */
static void spans_merge(struct tracer *t, uint64_t gap) {
  if (t->n == 0)
    return;
  qsort(t->v, t->n, sizeof *t->v, span_cmp);
  size_t k = 0;
  for (size_t i = 1; i < t->n; i++) {
    if (t->v[i].lo <= t->v[k].hi + gap) {
      if (t->v[i].hi > t->v[k].hi)
        t->v[k].hi = t->v[i].hi;
    } else {
      t->v[++k] = t->v[i];
    }
  }
  t->n = k + 1;
}

/* ---- image seeds -------------------------------------------------------- */

static void load_dump(const char *path, struct mem_image *img) {
  FILE *f = fopen(path, "rb"); /* owned: closed below */
  if (!f)
    die("cannot open the dump");
  char magic[8];
  if (fread(magic, 1, 8, f) != 8 || memcmp(magic, "PPDUMP01", 8) != 0)
    die("not a PPDUMP01 snapshot");
  for (;;) {
    uint64_t hdr[2];
    if (fread(hdr, 8, 2, f) != 2)
      die("truncated snapshot");
    if (hdr[0] == 0 && hdr[1] == 0)
      break;
    unsigned char *buf = malloc(hdr[1]); /* owned: copied by mem_image_add */
    if (!buf || fread(buf, 1, hdr[1], f) != hdr[1])
      die("truncated snapshot");
    if (mem_image_add(img, hdr[0], buf, hdr[1]) < 0)
      die("overlapping regions in the snapshot");
    free(buf);
  }
  fclose(f);
}

static void put64(FILE *f, uint64_t v) {
  for (int i = 0; i < 8; i++)
    fputc((int)(v >> (8 * i)) & 0xff, f);
}

static void put32(FILE *f, uint32_t v) {
  for (int i = 0; i < 4; i++)
    fputc((int)(v >> (8 * i)) & 0xff, f);
}

/* Write a fuzz image: header, then each span's bytes read from r. */
static void write_image(const char *path, const struct fuzz_image_hdr *h, const struct tracer *t,
                        const struct mem_reader *full) {
  FILE *f = fopen(path, "wb"); /* owned: closed below */
  if (!f)
    die("cannot write the seed");
  fputc(h->selector, f);
  fputc(h->flags, f);
  put64(f, h->runtime);
  put64(f, h->code_type);
  for (size_t i = 0; i < t->n; i++) {
    size_t len = (size_t)(t->v[i].hi - t->v[i].lo);
    unsigned char *buf = malloc(len); /* owned: freed below */
    if (!buf || mem_read(full, t->v[i].lo, buf, len) < 0)
      die("a merged span is not readable in the snapshot");
    put64(f, t->v[i].lo);
    put32(f, (uint32_t)len);
    fwrite(buf, 1, len, f);
    free(buf);
  }
  if (fclose(f) != 0)
    die("write error");
}

/* Replay a written seed and compare with the full snapshot's result. */
static void replay(const char *path, const struct fuzz_sample_stats *want) {
  FILE *f = fopen(path, "rb"); /* owned: closed below */
  if (!f)
    die("cannot reopen the seed");
  static uint8_t data[8 << 20];
  size_t size = fread(data, 1, sizeof data, f);
  fclose(f);
  struct mem_image *img = NULL; /* owned: freed below */
  struct fuzz_image_hdr h;
  struct mem_reader r;
  struct py_layout L;
  struct fuzz_sample_stats st;
  if (mem_image_new(&img) < 0 || fuzz_image_parse(data, size, &h, img) < 0)
    die("cannot parse the seed");
  mem_image_reader(img, &r);
  if (fuzz_image_layout(&h, &r, &L) < 0)
    die("the seed's layout does not load");
  fuzz_sample(&r, &L, &h, &st);
  mem_image_free(img);
  printf("%s: %zu bytes, %zu threads, %zu frames, %zu code objects decoded, GIL holder %s\n", path,
         size, st.threads, st.frames, st.codes_ok, st.gil_holder ? "found" : "none");
  if (st.threads != want->threads || st.frames != want->frames || st.codes_ok != want->codes_ok ||
      st.gil_holder != want->gil_holder)
    die("the minimized image does not replay like the snapshot");
}

static int cmd_image(const char *dump, uint64_t runtime, int minor, const char *out) {
  struct mem_image *img = NULL; /* owned */
  struct mem_reader full;
  if (mem_image_new(&img) < 0)
    die("out of memory");
  load_dump(dump, img);
  mem_image_reader(img, &full);

  int idx = fuzz_layout_index(minor);
  if (idx < 0)
    die("no fuzz layout for that version");
  struct fuzz_image_hdr h = {.selector = (uint8_t)idx, .flags = 0x40, .runtime = runtime};
  struct py_layout L = *fuzz_layout((size_t)idx);

  /* PyCode_Type: the type of the first frame's code object. */
  static struct py_thread th[PY_THREADS_MAX];
  static struct py_raw_frame fr[PY_STACK_MAX];
  size_t n = 0, nf = 0;
  int rc = py_threads_read(&full, &L, runtime, th, PY_THREADS_MAX, &n);
  if (rc < 0)
    die(pp_strerror(rc));
  for (size_t i = 0; i < n && !h.code_type; i++) {
    if (frame_walk(&full, &L, th[i].frame, NULL, fr, PY_STACK_MAX, &nf) == 0 && nf > 0)
      mem_read_u64(&full, fr[0].code + (uint64_t)L.ob_type, &h.code_type);
  }
  if (!h.code_type)
    die("no frame with a code object");

  struct fuzz_sample_stats want;
  fuzz_sample(&full, &L, &h, &want);

  /* Record what the path reads, without windows (they would copy whole
   * pages of stack); each thread's data-stack chunk is added instead so
   * that the window path finds the frames when the harness uses it. */
  struct tracer t = {.inner = full};
  struct mem_reader traced = {.ops = &tracer_ops, .ctx = &t};
  struct fuzz_image_hdr hn = h;
  hn.flags |= FUZZ_F_NO_WINDOWS;
  fuzz_sample(&traced, &L, &hn, NULL);
  for (size_t i = 0; i < n; i++) {
    if (th[i].stack_hi > th[i].stack_lo && th[i].stack_hi - th[i].stack_lo <= FRAME_WINDOW_TOP)
      tracer_note(&t, th[i].stack_lo, th[i].stack_hi);
  }
  /* 3.13+: the variant that reads _Py_DebugOffsets from the image. */
  int dbg = L.minor >= 13;
  if (dbg) {
    struct py_layout L2;
    struct fuzz_image_hdr hd = h;
    hd.selector = (uint8_t)fuzz_layout_count();
    if (fuzz_image_layout(&hd, &traced, &L2) < 0)
      die("the snapshot's _Py_DebugOffsets do not validate");
  }
  spans_merge(&t, 64);
  write_image(out, &h, &t, &full);
  replay(out, &want);
  if (dbg) {
    char path[4096];
    snprintf(path, sizeof path, "%s-dbg", out);
    struct fuzz_image_hdr hd = h;
    hd.selector = (uint8_t)fuzz_layout_count();
    write_image(path, &hd, &t, &full);
    replay(path, &want);
  }
  free(t.v);
  mem_image_free(img);
  return 0;
}

/* ---- record seeds ------------------------------------------------------- */

struct rec_shape {
  const char *name;
  unsigned threads, funcs, stacks, samples, flush_every;
  int summary;    /* write the end chunk */
  int unicode;    /* non-ASCII names */
  uint32_t flags; /* header RECORD_FLAG_* */
};

static void write_record(const char *dir, const struct rec_shape *s, uint64_t seed) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.pyprof", dir, s->name);
  struct record_header_info hi = {.py_major = 3,
                                  .py_minor = 12,
                                  .py_micro = 1,
                                  .pid = 4242,
                                  .rate_hz = 100,
                                  .flags = s->flags,
                                  .start_unix_ns = 1700000000000000000LL,
                                  .cmdline = s->unicode ? "python3 r\xc3\xa9sum\xc3\xa9.py"
                                                        : "python3 app.py",
                                  .hostname = "node01",
                                  .python_path = "/usr/bin/python3.12",
                                  .rank = s->unicode ? 3 : -1};
  struct record_writer *w = NULL; /* owned: closed below */
  if (record_writer_open(&w, path, &hi) < 0)
    die("record_writer_open");
  uint32_t names[64], files[4], frames[64], stacks[64];
  static const char *const uni[] = {"caf\xc3\xa9", "\xe8\xa8\x88\xe7\xae\x97", "\xf0\x9f\x98\x80",
                                    "<module>"};
  for (unsigned i = 0; i < 4; i++) {
    char b[64];
    snprintf(b, sizeof b, "/src/mod%u.py", i);
    if (record_writer_string(w, b, strlen(b), &files[i]) < 0)
      die("string");
  }
  for (unsigned i = 0; i < s->funcs; i++) {
    char b[64];
    if (s->unicode)
      snprintf(b, sizeof b, "%s_%u", uni[i % 4], i);
    else
      snprintf(b, sizeof b, "func%u", i);
    if (record_writer_string(w, b, strlen(b), &names[i]) < 0)
      die("string");
    if (record_writer_frame(w, i % 7 == 6 ? RECORD_FRAME_NATIVE : RECORD_FRAME_PYTHON, names[i],
                            files[i % 4], (int32_t)(10 * i + 1), (int32_t)(10 * i + 3 + i % 3),
                            &frames[i]) < 0)
      die("frame");
  }
  uint64_t x = seed;
  for (unsigned i = 0; i < s->stacks; i++) {
    uint32_t ids[16];
    size_t depth = i % 9; /* depth 0 included */
    for (size_t k = 0; k < depth; k++) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      ids[k] = frames[(x >> 33) % s->funcs];
    }
    if (record_writer_stack(w, ids, depth, &stacks[i]) < 0)
      die("stack");
  }
  for (unsigned t = 0; t < s->threads; t++) {
    char b[32];
    snprintf(b, sizeof b, t ? "worker-%u" : "MainThread", t);
    if (t % 2 == 0 && record_writer_thread(w, 1000 + t * 7, b) < 0)
      die("thread");
  }
  uint64_t t_ns = 0;
  for (unsigned i = 0; i < s->samples; i++) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    unsigned t = (unsigned)((x >> 40) % s->threads);
    uint32_t st = stacks[(x >> 20) % s->stacks];
    if (i % 5 == 0 && i > 0)
      st = stacks[(i - 1) % s->stacks];
    t_ns += 10000000 + (x >> 50) * 1000;
    uint32_t fl = (uint32_t)((x >> 13) & 3);
    if (i % 11 == 10)
      fl |= 1u << 5; /* an unknown flag travels as a varint */
    if (record_writer_sample(w, 1000 + t * 7, t_ns, st, fl) < 0)
      die("sample");
    if (s->flush_every && (i + 1) % s->flush_every == 0 && record_writer_flush(w) < 0)
      die("flush");
  }
  struct record_summary sum = {.samples = s->samples,
                               .failed = 2,
                               .attempts = s->samples + 2,
                               .duration_ns = (int64_t)t_ns,
                               .exit_status = 0};
  if (record_writer_close(w, s->summary ? &sum : NULL) < 0)
    die("close");
}

static int cmd_record(const char *dir) {
  static const struct rec_shape shapes[] = {
      {"small", 2, 6, 8, 40, 0, 1, 0, 0},
      {"no-end", 2, 6, 8, 40, 16, 0, 0, 0},
      {"empty", 1, 1, 1, 0, 0, 1, 0, 0},
      {"unicode-idle-gil", 3, 12, 12, 60, 25, 1, 1, (1u << 0) | (1u << 2) | (1u << 4)},
      {"many-threads", 20, 8, 10, 80, 30, 1, 0, 0},
      {"chunks", 3, 20, 30, 120, 10, 1, 0, 1u << 1},
      {"deep", 2, 40, 40, 50, 0, 1, 1, 0},
  };
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
    write_record(dir, &shapes[i], 0x1234567 + i);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 6 && strcmp(argv[1], "image") == 0)
    return cmd_image(argv[2], strtoull(argv[3], NULL, 0), atoi(argv[4]), argv[5]);
  if (argc == 3 && strcmp(argv[1], "record") == 0)
    return cmd_record(argv[2]);
  if (argc == 3 && strcmp(argv[1], "layout-index") == 0) {
    int i = fuzz_layout_index(atoi(argv[2]));
    if (i < 0)
      return 1;
    printf("%d\n", i);
    return 0;
  }
  fprintf(stderr, "usage: %s image DUMP RUNTIME MINOR OUT | record DIR | layout-index MINOR\n",
          argv[0]);
  return 2;
}
