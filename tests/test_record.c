/* Record writer and reader: round trip, size per sample, cut and damaged
 * files, hand-crafted invalid files, write failures. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pyprof/common/error.h"
#include "pyprof/record/format.h"
#include "pyprof/record/reader.h"
#include "pyprof/record/writer.h"
#include "test_support.h"

static void setup_tmp(void) {
  ts_tmpdir_make("pyprof-test-record");
}

TestSuite(record, .init = setup_tmp, .fini = ts_tmpdir_remove);

static const struct record_header_info HDR = {
    .py_major = 3, .py_minor = 11, .py_micro = 7, .pid = 4242, .rate_hz = 100,
    .flags = RECORD_FLAG_GIL, .start_unix_ns = 1700000000123456789LL,
    .cmdline = "python app.py --n 3", .hostname = "node-1", .python_path = "/usr/bin/python3.11",
    .rank = 3,
};

static off_t file_size(const char *path) {
  struct stat st;
  cr_assert_eq(stat(path, &st), 0);
  return st.st_size;
}

/* Read every sample; returns the final return code of record_reader_next. */
struct readback {
  int open_rc, next_rc;
  struct record_sample *s;
  size_t n;
  struct record_status st;
  char msg[512];
};

static void read_all(const char *path, struct readback *rb, size_t batch) {
  memset(rb, 0, sizeof *rb);
  struct record_reader *r = NULL;
  rb->open_rc = record_reader_open(&r, path);
  if (rb->open_rc < 0) {
    if (r)
      snprintf(rb->msg, sizeof rb->msg, "%s", record_reader_message(r));
    record_reader_close(r);
    return;
  }
  size_t cap = 1024;
  rb->s = malloc(cap * sizeof *rb->s);
  struct record_sample *tmp = malloc(batch * sizeof *tmp);
  size_t n;
  for (;;) {
    rb->next_rc = record_reader_next(r, tmp, batch, &n);
    if (rb->next_rc < 0 || n == 0)
      break;
    cr_assert_leq(n, batch);
    if (rb->n + n > cap) {
      while (rb->n + n > cap)
        cap *= 2;
      rb->s = realloc(rb->s, cap * sizeof *rb->s);
    }
    memcpy(rb->s + rb->n, tmp, n * sizeof *tmp);
    rb->n += n;
  }
  record_reader_status(r, &rb->st);
  snprintf(rb->msg, sizeof rb->msg, "%s", record_reader_message(r));
  record_reader_close(r);
  free(tmp);
}

/* A small but complete file: several chunks (explicit flushes), 3 threads,
 * shared and distinct stacks, flags, names, summary. Returns sample count. */
static size_t write_small(const char *path, struct record_sample *expect, size_t cap) {
  struct record_writer *w = NULL;
  cr_assert_eq(record_writer_open(&w, path, &HDR), 0);
  uint32_t s_main, s_file, s_work, s_cafe, s_uni, s_lib;
  cr_assert_eq(record_writer_string(w, "main", 4, &s_main), 0);
  cr_assert_eq(record_writer_string(w, "app.py", 6, &s_file), 0);
  cr_assert_eq(record_writer_string(w, "work", 4, &s_work), 0);
  cr_assert_eq(record_writer_string(w, "café", strlen("café"), &s_cafe), 0);
  cr_assert_eq(record_writer_string(w, "計算", strlen("計算"), &s_uni), 0);
  cr_assert_eq(record_writer_string(w, "libm.so.6", 9, &s_lib), 0);
  uint32_t f[5];
  cr_assert_eq(record_writer_frame(w, RECORD_FRAME_PYTHON, s_main, s_file, 1, 5, &f[0]), 0);
  cr_assert_eq(record_writer_frame(w, RECORD_FRAME_PYTHON, s_work, s_file, 10, 12, &f[1]), 0);
  cr_assert_eq(record_writer_frame(w, RECORD_FRAME_PYTHON, s_cafe, s_file, 20, 21, &f[2]), 0);
  cr_assert_eq(record_writer_frame(w, RECORD_FRAME_PYTHON, s_uni, s_file, -1, 0, &f[3]), 0);
  cr_assert_eq(record_writer_frame(w, RECORD_FRAME_NATIVE, s_uni, s_lib, 0, 0, &f[4]), 0);
  uint32_t st[4];
  uint32_t a0[] = {f[0], f[1]}, a1[] = {f[0], f[1], f[2]}, a2[] = {f[0], f[3], f[4]};
  cr_assert_eq(record_writer_stack(w, a0, 2, &st[0]), 0);
  cr_assert_eq(record_writer_stack(w, a1, 3, &st[1]), 0);
  cr_assert_eq(record_writer_stack(w, NULL, 0, &st[2]), 0);
  cr_assert_eq(record_writer_thread(w, 100, "MainThread"), 0);
  cr_assert_eq(record_writer_flush(w), 0);
  cr_assert_eq(record_writer_stack(w, a2, 3, &st[3]), 0);
  cr_assert_eq(record_writer_thread(w, 102, "worker-é"), 0);
  size_t n = 0;
  uint32_t tids[3] = {100, 101, 102};
  for (int i = 0; i < 60; i++) {
    for (int t = 0; t < 3; t++) {
      uint32_t stack = st[(i / 7 + t) % 4];
      uint32_t flags = (stack == st[2] ? RECORD_SAMPLE_IDLE : 0) |
                       (t == 0 ? RECORD_SAMPLE_GIL : 0) | (i == 33 ? 0x40u : 0);
      uint64_t t_ns = (uint64_t)i * 10000000u + (uint64_t)t * 1000u;
      cr_assert_eq(record_writer_sample(w, tids[t], t_ns, stack, flags), 0);
      cr_assert_lt(n, cap);
      expect[n++] = (struct record_sample){t_ns, tids[t], (uint32_t)t, stack, flags};
    }
    if (i % 20 == 19)
      cr_assert_eq(record_writer_flush(w), 0);
  }
  struct record_summary sum = {n, 4, n + 4, 600000000, 0};
  cr_assert_eq(record_writer_close(w, &sum), 0);
  return n;
}

Test(record, round_trip) {
  struct record_sample expect[512];
  size_t n = write_small(ts_path("small.pyprof"), expect, 512);

  struct record_reader *r = NULL;
  cr_assert_eq(record_reader_open(&r, ts_path("small.pyprof")), 0);
  const struct record_header *h = record_reader_header(r);
  cr_assert_eq(h->format_version, RECORD_FORMAT_VERSION);
  cr_assert_eq(h->py_major, 3);
  cr_assert_eq(h->py_minor, 11);
  cr_assert_eq(h->py_micro, 7);
  cr_assert_eq(h->pid, 4242);
  cr_assert_eq(h->rate_hz, 100);
  cr_assert_eq(h->flags, RECORD_FLAG_GIL);
  cr_assert_eq(h->start_unix_ns, 1700000000123456789LL);
  cr_assert_eq(h->rank, 3);
  cr_assert_str_eq(h->cmdline, "python app.py --n 3");
  cr_assert_str_eq(h->hostname, "node-1");
  cr_assert_str_eq(h->python_path, "/usr/bin/python3.11");

  struct record_sample got[512];
  size_t total = 0, k;
  int rc;
  while ((rc = record_reader_next(r, got + total, 7, &k)) == 0 && k > 0)
    total += k;
  cr_assert_eq(rc, 0, "%s", record_reader_message(r));
  cr_assert_eq(total, n);
  for (size_t i = 0; i < n; i++) {
    cr_assert_eq(got[i].t_ns, expect[i].t_ns, "sample %zu", i);
    cr_assert_eq(got[i].tid, expect[i].tid, "sample %zu", i);
    cr_assert_eq(got[i].thread_index, expect[i].thread_index);
    cr_assert_eq(got[i].stack_id, expect[i].stack_id, "sample %zu", i);
    cr_assert_eq(got[i].flags, expect[i].flags, "sample %zu", i);
  }
  struct record_counts c = record_reader_counts(r);
  cr_assert_eq(c.strings, 6);
  cr_assert_eq(c.frames, 5);
  cr_assert_eq(c.stacks, 4);
  cr_assert_eq(c.threads, 3);
  size_t len;
  cr_assert_str_eq(record_reader_string(r, 3, &len), "café");
  cr_assert_eq(len, strlen("café"));
  cr_assert_str_eq(record_reader_string(r, 4, NULL), "計算");
  cr_assert_null(record_reader_string(r, 6, NULL));
  const struct record_frame *fr = record_reader_frame(r, 3);
  cr_assert_eq(fr->name_id, 4);
  cr_assert_eq(fr->firstline, -1);
  cr_assert_eq(fr->line, 0);
  fr = record_reader_frame(r, 4);
  cr_assert_eq(fr->kind, RECORD_FRAME_NATIVE);
  cr_assert_eq(fr->file_id, 5);
  fr = record_reader_frame(r, 1);
  cr_assert_eq(fr->firstline, 10);
  cr_assert_eq(fr->line, 12);
  size_t depth;
  const uint32_t *fs = record_reader_stack(r, 1, &depth);
  cr_assert_eq(depth, 3);
  cr_assert_eq(fs[0], 0);
  cr_assert_eq(fs[1], 1);
  cr_assert_eq(fs[2], 2);
  record_reader_stack(r, 2, &depth);
  cr_assert_eq(depth, 0);
  cr_assert_str_eq(record_reader_thread_name(r, 100), "MainThread");
  cr_assert_str_eq(record_reader_thread_name(r, 102), "worker-é");
  cr_assert_null(record_reader_thread_name(r, 101));
  cr_assert_eq(record_reader_thread_tid(r, 1), 101);

  struct record_status st;
  record_reader_status(r, &st);
  cr_assert(st.done);
  cr_assert_not(st.truncated);
  cr_assert(st.has_summary);
  cr_assert_eq(st.samples, n);
  cr_assert_eq(st.summary.samples, n);
  cr_assert_eq(st.summary.failed, 4);
  cr_assert_eq(st.summary.attempts, n + 4);
  cr_assert_eq(st.summary.duration_ns, 600000000);
  cr_assert_eq(st.summary.exit_status, 0);
  cr_assert_eq(st.good_bytes, (uint64_t)file_size(ts_path("small.pyprof")));
  cr_assert_str_eq(record_reader_message(r), "");
  record_reader_close(r);
}

Test(record, interning_dedupes_and_time_rounds_down) {
  struct record_writer *w = NULL;
  cr_assert_eq(record_writer_open(&w, ts_path("i.pyprof"), &HDR), 0);
  uint32_t a, b, c;
  cr_assert_eq(record_writer_string(w, "x.py", 4, &a), 0);
  cr_assert_eq(record_writer_string(w, "x.pyc", 4, &b), 0); /* not NUL-terminated use */
  cr_assert_eq(a, b);
  cr_assert_eq(record_writer_string(w, "", 0, &c), 0);
  cr_assert_neq(a, c);
  uint32_t f1, f2, f3;
  cr_assert_eq(record_writer_frame(w, RECORD_FRAME_PYTHON, a, a, 1, 2, &f1), 0);
  cr_assert_eq(record_writer_frame(w, RECORD_FRAME_PYTHON, a, a, 1, 2, &f2), 0);
  cr_assert_eq(record_writer_frame(w, RECORD_FRAME_PYTHON, a, a, 1, 3, &f3), 0);
  cr_assert_eq(f1, f2);
  cr_assert_neq(f1, f3);
  /* many distinct stacks, each looked up twice */
  uint32_t ids[3000];
  for (int round = 0; round < 2; round++) {
    for (uint32_t i = 0; i < 3000; i++) {
      uint32_t fr[4] = {f1, f3, i % 2 ? f1 : f3, f1};
      uint32_t id;
      uint32_t depth = 1 + i % 4;
      /* 3000 distinct: vary depth and a prefix built from i's bits */
      uint32_t stack[16];
      for (uint32_t k = 0; k < 12; k++)
        stack[k] = (i >> k) & 1 ? f1 : f3;
      memcpy(stack + 12, fr, depth * sizeof *fr);
      cr_assert_eq(record_writer_stack(w, stack, 12 + depth, &id), 0);
      if (round == 0)
        ids[i] = id;
      else
        cr_assert_eq(ids[i], id);
    }
  }
  cr_assert_eq(record_writer_sample(w, 7, 1999, ids[5], 0), 0); /* 1.999 us -> 1 us */
  cr_assert_eq(record_writer_sample(w, 7, 500, ids[5], 0), 0);  /* backwards: clamped */
  cr_assert_eq(record_writer_close(w, NULL), 0);

  struct readback rb;
  read_all(ts_path("i.pyprof"), &rb, 64);
  cr_assert_eq(rb.open_rc, 0);
  cr_assert_eq(rb.next_rc, 0);
  cr_assert_eq(rb.n, 2);
  cr_assert_eq(rb.s[0].t_ns, 1000);
  cr_assert_eq(rb.s[1].t_ns, 1000);
  cr_assert_eq(rb.s[1].stack_id, ids[5]);
  /* no end chunk: everything readable, reported as cut short */
  cr_assert(rb.st.truncated);
  cr_assert_not(rb.st.has_summary);
  cr_assert(strstr(rb.msg, "recording cut short after 2 samples: last complete chunk at byte"),
            "%s", rb.msg);
  free(rb.s);
}

Test(record, writer_rejects_bad_ids) {
  struct record_writer *w = NULL;
  cr_assert_eq(record_writer_open(&w, ts_path("bad.pyprof"), &HDR), 0);
  uint32_t s, f, k;
  cr_assert_eq(record_writer_string(w, "f", 1, &s), 0);
  cr_assert_eq(record_writer_frame(w, RECORD_FRAME_PYTHON, s + 1, s, 1, 1, &f), PP_EINVAL);
  cr_assert_eq(record_writer_frame(w, RECORD_FRAME_PYTHON, s, s, 1, 1, &f), 0);
  uint32_t bad[2] = {f, f + 1};
  cr_assert_eq(record_writer_stack(w, bad, 2, &k), PP_EINVAL);
  cr_assert_eq(record_writer_stack(w, bad, 1, &k), 0);
  cr_assert_eq(record_writer_sample(w, 1, 0, k + 1, 0), PP_EINVAL);
  cr_assert_eq(record_writer_sample(w, 1, 0, k, 0), 0);
  struct record_summary sum = {1, 0, 1, 1, -1};
  cr_assert_eq(record_writer_close(w, &sum), 0);
  struct readback rb;
  read_all(ts_path("bad.pyprof"), &rb, 8);
  cr_assert_eq(rb.next_rc, 0);
  cr_assert_eq(rb.n, 1);
  cr_assert_eq(rb.st.summary.exit_status, -1);
  free(rb.s);
  cr_assert_eq(record_writer_open(&w, "/nonexistent-dir/x.pyprof", &HDR), PP_ENOTFOUND);
}

/* Bytes added to the file by n samples of an already-interned stack. */
static double bytes_per_sample(int nthreads, uint32_t rate_hz, int n, uint32_t jitter_us) {
  struct record_writer *w = NULL;
  cr_assert_eq(record_writer_open(&w, ts_path("bps.pyprof"), &HDR), 0);
  uint32_t s, f, st[64];
  cr_assert_eq(record_writer_string(w, "loop", 4, &s), 0);
  cr_assert_eq(record_writer_frame(w, RECORD_FRAME_PYTHON, s, s, 1, 2, &f), 0);
  for (int t = 0; t < nthreads; t++) {
    uint32_t fr[3] = {f, f, f};
    cr_assert_eq(record_writer_stack(w, fr, 1 + (size_t)(t % 3), &st[t]), 0);
  }
  uint64_t interval = 1000000000ull / rate_hz;
  /* first tick interns threads, then measure */
  for (int t = 0; t < nthreads; t++)
    cr_assert_eq(record_writer_sample(w, 1000 + (uint32_t)t, 0, st[t], RECORD_SAMPLE_GIL), 0);
  cr_assert_eq(record_writer_flush(w), 0);
  uint64_t before = record_writer_bytes(w);
  int done = 0;
  uint64_t seed = 42;
  for (int i = 1; done < n; i++) {
    uint64_t jitter = 0;
    if (jitter_us) {
      seed = seed * 6364136223846793005ull + 1442695040888963407ull;
      jitter = (seed >> 33) % jitter_us * 1000u;
    }
    for (int t = 0; t < nthreads && done < n; t++, done++) {
      /* threads read 3 us apart */
      uint64_t t_ns = (uint64_t)i * interval + jitter + (uint64_t)t * 3000;
      cr_assert_eq(record_writer_sample(w, 1000 + (uint32_t)t, t_ns, st[t], 0), 0);
    }
  }
  cr_assert_eq(record_writer_flush(w), 0);
  uint64_t after = record_writer_bytes(w);
  struct record_summary sum = {0};
  cr_assert_eq(record_writer_close(w, &sum), 0);
  return (double)(after - before) / n;
}

Test(record, bytes_per_repeated_sample) {
  double b1 = bytes_per_sample(1, 100, 200000, 0);
  double b8 = bytes_per_sample(8, 100, 200000, 0);
  double b20 = bytes_per_sample(20, 1000, 200000, 0);
  double b10 = bytes_per_sample(1, 10, 100000, 0);
  double j1 = bytes_per_sample(1, 100, 200000, 500);   /* up to 0.5 ms late */
  double j8 = bytes_per_sample(8, 1000, 200000, 5000); /* up to 5 ms late */
  fprintf(stderr,
          "bytes/sample (repeated stack): 1 thread 100 Hz %.3f, 8 threads 100 Hz %.3f, "
          "20 threads 1 kHz %.3f, 1 thread 10 Hz %.3f, jittered: 1 thread %.3f, 8 threads "
          "%.3f\n",
          b1, b8, b20, b10, j1, j8);
  cr_assert_leq(b1, 2.1);
  cr_assert_leq(b8, 2.1);
  cr_assert_leq(b20, 2.5);
  cr_assert_leq(b10, 2.1);
  cr_assert_leq(j1, 4.0);
  cr_assert_leq(j8, 4.0);
}

/* Read a prefix of a valid file at every length. */
Test(record, truncated_at_every_offset) {
  struct record_sample expect[512];
  size_t n = write_small(ts_path("full.pyprof"), expect, 512);
  size_t len;
  uint8_t *data = ts_slurp_existing(ts_path("full.pyprof"), &len);
  size_t prev = 0, header_end = 0;
  for (size_t k = 0; k <= len; k++) {
    ts_spit(ts_path("cut.pyprof"), data, k);
    struct readback rb;
    read_all(ts_path("cut.pyprof"), &rb, 5);
    if (k == 0) {
      cr_assert_eq(rb.open_rc, PP_EFORMAT);
      cr_assert(strstr(rb.msg, "empty"), "%s", rb.msg);
      continue;
    }
    if (rb.open_rc < 0) {
      cr_assert_eq(rb.open_rc, PP_ETRUNCATED, "cut at %zu: %s", k, pp_errname(rb.open_rc));
      cr_assert_eq(header_end, 0, "cut at %zu fails after a good header", k);
      cr_assert(strstr(rb.msg, "header"), "%s", rb.msg);
      continue;
    }
    if (!header_end)
      header_end = k;
    cr_assert_eq(rb.next_rc, 0, "cut at %zu: %s (%s)", k, pp_errname(rb.next_rc), rb.msg);
    cr_assert_leq(rb.n, n);
    cr_assert_geq(rb.n, prev, "cut at %zu lost samples", k);
    prev = rb.n;
    for (size_t i = 0; i < rb.n; i++) {
      cr_assert_eq(rb.s[i].stack_id, expect[i].stack_id);
      cr_assert_eq(rb.s[i].t_ns, expect[i].t_ns);
    }
    if (k < len) {
      cr_assert(rb.st.truncated, "cut at %zu not reported", k);
      cr_assert_leq(rb.st.good_bytes, k);
      char want[128];
      snprintf(want, sizeof want, "recording cut short after %zu samples", rb.n);
      cr_assert(strstr(rb.msg, want), "cut at %zu: %s", k, rb.msg);
    } else {
      cr_assert_not(rb.st.truncated);
      cr_assert_eq(rb.n, n);
    }
    free(rb.s);
  }
  cr_assert_gt(header_end, RECORD_PREAMBLE_LEN);
  free(data);
}

/* Every byte damaged: always detected, never a crash. */
Test(record, bit_flips_are_detected) {
  struct record_sample expect[512];
  size_t n = write_small(ts_path("full.pyprof"), expect, 512);
  size_t len;
  uint8_t *data = ts_slurp_existing(ts_path("full.pyprof"), &len);
  static const uint8_t masks[] = {0x01, 0x80, 0xff, 0x10};
  for (size_t i = 0; i < len; i++) {
    for (size_t m = 0; m < sizeof masks; m++) {
      data[i] ^= masks[m];
      ts_spit(ts_path("flip.pyprof"), data, len);
      data[i] ^= masks[m];
      struct readback rb;
      read_all(ts_path("flip.pyprof"), &rb, 64);
      int detected = rb.open_rc < 0 || rb.next_rc < 0 || rb.st.truncated;
      cr_assert(detected, "flip 0x%02x at byte %zu not detected", masks[m], i);
      cr_assert_leq(rb.n, n);
      if (rb.open_rc < 0 || rb.next_rc < 0)
        cr_assert_neq(rb.msg[0], '\0', "no message for flip at %zu", i);
      free(rb.s);
    }
  }
  free(data);
}

Test(record, not_a_record_file) {
  struct readback rb;
  ts_spit(ts_path("empty"), "", 0);
  read_all(ts_path("empty"), &rb, 8);
  cr_assert_eq(rb.open_rc, PP_EFORMAT);

  const char *text = "import os\nprint('hello, world')\n";
  ts_spit(ts_path("text"), text, strlen(text));
  read_all(ts_path("text"), &rb, 8);
  cr_assert_eq(rb.open_rc, PP_EFORMAT);
  cr_assert(strstr(rb.msg, "not a pyprof record file"), "%s", rb.msg);

  ts_spit(ts_path("short"), "PY", 2); /* cut inside the magic */
  read_all(ts_path("short"), &rb, 8);
  cr_assert_eq(rb.open_rc, PP_ETRUNCATED);

  ts_spit(ts_path("x"), "\x7f" "ELF", 4);
  read_all(ts_path("x"), &rb, 8);
  cr_assert_eq(rb.open_rc, PP_EFORMAT);

  read_all(ts_path("does-not-exist"), &rb, 8);
  cr_assert_eq(rb.open_rc, PP_ENOTFOUND);
  cr_assert(strstr(rb.msg, "cannot open"), "%s", rb.msg);

  read_all(ts_tmpdir(), &rb, 8); /* a directory */
  cr_assert_lt(rb.open_rc, 0);
}

Test(record, future_and_zero_version) {
  struct record_sample expect[512];
  write_small(ts_path("v.pyprof"), expect, 512);
  size_t len;
  uint8_t *data = ts_slurp_existing(ts_path("v.pyprof"), &len);
  data[8] = 2; /* version 2, header checksum not updated: the version is checked first */
  ts_spit(ts_path("v2.pyprof"), data, len);
  struct readback rb;
  read_all(ts_path("v2.pyprof"), &rb, 8);
  cr_assert_eq(rb.open_rc, PP_EVERSION);
  cr_assert(strstr(rb.msg, "version 2"), "%s", rb.msg);
  cr_assert(strstr(rb.msg, "reads format version 1"), "%s", rb.msg);
  data[8] = 0;
  data[11] = 0x80; /* a huge version */
  ts_spit(ts_path("vbig.pyprof"), data, 12);
  read_all(ts_path("vbig.pyprof"), &rb, 8);
  cr_assert_eq(rb.open_rc, PP_EVERSION);
  data[11] = 0;
  ts_spit(ts_path("v0.pyprof"), data, len);
  read_all(ts_path("v0.pyprof"), &rb, 8);
  cr_assert_eq(rb.open_rc, PP_ECORRUPT);
  free(data);
}

/* ---- hand-crafted files with valid checksums but invalid content ---- */

static void put_le32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

static void header_only(const char *path) {
  struct record_writer *w = NULL;
  cr_assert_eq(record_writer_open(&w, path, &HDR), 0);
  cr_assert_eq(record_writer_close(w, NULL), 0);
}

static void append_chunk(const char *path, uint32_t type, const void *payload, size_t len,
                         uint32_t declared_len) {
  uint8_t h[12];
  put_le32(h, type);
  put_le32(h + 4, declared_len);
  uint32_t crc = record_crc32(record_crc32(0, h, 8), payload, len);
  put_le32(h + 8, crc);
  FILE *f = fopen(path, "ab");
  cr_assert_not_null(f);
  fwrite(h, 1, 12, f);
  fwrite(payload, 1, len, f);
  fclose(f);
}

#define CHUNK(type, ...)                                                                       \
  do {                                                                                         \
    static const uint8_t pl_[] = {__VA_ARGS__};                                                \
    append_chunk(p, type, pl_, sizeof pl_, sizeof pl_);                                        \
  } while (0)

static void expect_corrupt(const char *p, const char *what) {
  struct readback rb;
  read_all(p, &rb, 8);
  cr_assert_eq(rb.open_rc, 0);
  cr_assert_eq(rb.next_rc, PP_ECORRUPT, "%s: got %s", what, pp_errname(rb.next_rc));
  cr_assert(strstr(rb.msg, "corrupt"), "%s: %s", what, rb.msg);
  free(rb.s);
}

Test(record, crafted_invalid_ids_and_lengths) {
  const char *p = ts_path("c.pyprof");
  /* frame refers to string 1, only string 0 exists */
  header_only(p);
  CHUNK(RECORD_CHUNK_STRINGS, 1, 1, 'a');
  CHUNK(RECORD_CHUNK_FRAMES, 1, 0, 0, 1, 2, 2);
  expect_corrupt(p, "frame string id");

  /* stack refers to frame 1 of 1 */
  header_only(p);
  CHUNK(RECORD_CHUNK_STRINGS, 1, 1, 'a');
  CHUNK(RECORD_CHUNK_FRAMES, 1, 0, 0, 0, 2, 2);
  CHUNK(RECORD_CHUNK_STACKS, 1, 2, 0, 1);
  expect_corrupt(p, "stack frame id");

  /* sample with stack 1 when only stack 0 exists (thread 0 new, tid 9) */
  header_only(p);
  CHUNK(RECORD_CHUNK_STACKS, 1, 0);
  CHUNK(RECORD_CHUNK_SAMPLES, 2, 0x00, 9, 0, 10, 0x00, 1, 0);
  expect_corrupt(p, "sample stack id");

  /* "same stack" on a thread's first sample */
  header_only(p);
  CHUNK(RECORD_CHUNK_STACKS, 1, 0);
  CHUNK(RECORD_CHUNK_SAMPLES, 1, 0x01, 9, 5);
  expect_corrupt(p, "same stack without previous");

  /* time going backwards: delta of delta -3 on a thread's first sample */
  header_only(p);
  CHUNK(RECORD_CHUNK_STACKS, 1, 0);
  CHUNK(RECORD_CHUNK_SAMPLES, 1, 0x00, 9, 0, 5);
  expect_corrupt(p, "negative time delta");

  /* thread index 3 when none are known */
  header_only(p);
  CHUNK(RECORD_CHUNK_STACKS, 1, 0);
  CHUNK(RECORD_CHUNK_SAMPLES, 1, 0x30, 0, 5);
  expect_corrupt(p, "thread index");

  /* count larger than the chunk */
  header_only(p);
  CHUNK(RECORD_CHUNK_STRINGS, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 'a');
  expect_corrupt(p, "huge count");

  /* string length larger than the chunk */
  header_only(p);
  CHUNK(RECORD_CHUNK_STRINGS, 1, 0xff, 0xff, 0x7f, 'a');
  expect_corrupt(p, "string length");

  /* stack depth larger than the chunk */
  header_only(p);
  CHUNK(RECORD_CHUNK_STACKS, 1, 0xff, 0xff, 0xff, 0xff, 0x0f);
  expect_corrupt(p, "stack depth");

  /* overlong varint */
  header_only(p);
  CHUNK(RECORD_CHUNK_STRINGS, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f);
  expect_corrupt(p, "varint");

  /* trailing bytes after the entries */
  header_only(p);
  CHUNK(RECORD_CHUNK_STRINGS, 1, 1, 'a', 'b');
  expect_corrupt(p, "trailing");

  /* unknown mandatory chunk type */
  header_only(p);
  CHUNK(77, 0);
  expect_corrupt(p, "unknown type");

  /* declared length over the limit: rejected before anything is allocated */
  header_only(p);
  append_chunk(p, RECORD_CHUNK_STRINGS, "", 0, RECORD_CHUNK_MAX + 1u);
  expect_corrupt(p, "chunk length");

  /* declared length 4 GiB - 1 on a tiny file */
  header_only(p);
  append_chunk(p, RECORD_CHUNK_STRINGS, "", 0, 0xffffffffu);
  expect_corrupt(p, "chunk length max");

  /* declared length within the limit but beyond the file: cut short */
  header_only(p);
  append_chunk(p, RECORD_CHUNK_STRINGS, "ab", 2, RECORD_CHUNK_MAX);
  struct readback rb;
  read_all(p, &rb, 8);
  cr_assert_eq(rb.next_rc, 0);
  cr_assert(rb.st.truncated);
  free(rb.s);

  /* unknown optional chunk is skipped, the rest still reads */
  header_only(p);
  CHUNK(RECORD_CHUNK_OPTIONAL | 77, 1, 2, 3);
  CHUNK(RECORD_CHUNK_STACKS, 1, 0);
  CHUNK(RECORD_CHUNK_SAMPLES, 2, 0x00, 9, 0, 10, 0x01, 4); /* +5 us, then +7 */
  CHUNK(RECORD_CHUNK_END, 2, 0, 2, 4, 0);
  read_all(p, &rb, 8);
  cr_assert_eq(rb.next_rc, 0, "%s", rb.msg);
  cr_assert_eq(rb.n, 2);
  cr_assert_eq(rb.s[1].t_ns, 12000);
  cr_assert_eq(rb.s[1].tid, 9);
  cr_assert_not(rb.st.truncated);
  cr_assert_eq(rb.st.summary.duration_ns, 2);
  free(rb.s);
}

/* Write failure: a file size limit (EFBIG) mid-recording. */
Test(record, file_size_limit_keeps_readable_file) {
  const char *p = ts_path("fbig.pyprof");
  const rlim_t limit = 6000;
  int fds[2];
  cr_assert_eq(pipe(fds), 0);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = {limit, limit};
    setrlimit(RLIMIT_FSIZE, &rl);
    long res[4] = {1, 1, -1, 0}; /* flush rc, close rc, samples flushed, sample rc */
    struct record_writer *w = NULL;
    if (record_writer_open(&w, p, &HDR) == 0) {
      uint32_t name, fr[64], st;
      long flushed = 0, written = 0;
      record_writer_string(w, "f", 1, &name);
      for (int i = 0; i < 100000; i++) {
        char nm[32];
        snprintf(nm, sizeof nm, "func_%d", i % 300);
        uint32_t s;
        if (record_writer_string(w, nm, strlen(nm), &s) < 0)
          break;
        for (int d = 0; d < 8; d++)
          record_writer_frame(w, RECORD_FRAME_PYTHON, s, name, d, d + i % 5, &fr[d]);
        record_writer_stack(w, fr, 8, &st);
        int rc = record_writer_sample(w, 1, (uint64_t)i * 10000000u, st, 0);
        if (rc < 0) {
          res[3] = rc;
          break;
        }
        written++;
        if (i % 10 == 9) {
          rc = record_writer_flush(w);
          if (rc < 0) {
            res[0] = rc;
            break;
          }
          flushed = written;
        }
      }
      res[2] = flushed;
      struct record_summary sum = {(uint64_t)written, 0, (uint64_t)written, 1, 0};
      res[1] = record_writer_close(w, &sum);
    }
    if (write(fds[1], res, sizeof res) != sizeof res)
      _exit(3);
    _exit(0);
  }
  close(fds[1]);
  long res[4];
  cr_assert_eq(read(fds[0], res, sizeof res), (ssize_t)sizeof res);
  close(fds[0]);
  int status;
  waitpid(pid, &status, 0);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  cr_assert_eq(res[0], PP_EFBIG, "flush returned %ld", res[0]);
  cr_assert_eq(res[1], PP_EFBIG, "close returned %ld", res[1]);
  cr_assert_gt(res[2], 0);
  cr_assert_leq(file_size(p), (off_t)limit);

  struct readback rb;
  read_all(p, &rb, 100);
  cr_assert_eq(rb.open_rc, 0);
  cr_assert_eq(rb.next_rc, 0, "%s", rb.msg);
  cr_assert(rb.st.truncated);
  cr_assert_eq((long)rb.n, res[2]);
  cr_assert_eq(rb.st.good_bytes, (uint64_t)file_size(p)); /* cut back to the last chunk */
  free(rb.s);
}

Test(record, no_space_on_device) {
  struct record_writer *w = NULL;
  if (access("/dev/full", W_OK) != 0)
    cr_skip_test("no /dev/full");
  cr_assert_eq(record_writer_open(&w, "/dev/full", &HDR), PP_ENOSPC);
  cr_assert_null(w);
}

Test(record, reader_throughput) {
  const char *p = ts_path("big.pyprof");
  struct record_writer *w = NULL;
  cr_assert_eq(record_writer_open(&w, p, &HDR), 0);
  uint32_t s, f[4], st[16];
  cr_assert_eq(record_writer_string(w, "f", 1, &s), 0);
  for (int i = 0; i < 4; i++)
    cr_assert_eq(record_writer_frame(w, RECORD_FRAME_PYTHON, s, s, 1, i, &f[i]), 0);
  for (int i = 0; i < 16; i++) {
    uint32_t fr[4] = {f[i & 3], f[(i >> 2) & 3], f[1], f[2]};
    cr_assert_eq(record_writer_stack(w, fr, 4, &st[i]), 0);
  }
  const int n = 2000000;
  uint64_t seed = 1;
  for (int i = 0; i < n; i++) {
    seed = seed * 6364136223846793005ull + 1;
    uint32_t t = i & 3;
    /* mostly repeated stacks, sometimes a change */
    uint32_t k = (seed >> 60) < 2 ? (uint32_t)(seed >> 33) % 16 : t;
    cr_assert_eq(record_writer_sample(w, 10 + t, (uint64_t)(i / 4) * 10000000u, st[k], 0), 0);
  }
  struct record_summary sum = {(uint64_t)n, 0, (uint64_t)n, 1, 0};
  cr_assert_eq(record_writer_close(w, &sum), 0);
  double bps = (double)file_size(p) / n;

  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  struct record_reader *r = NULL;
  cr_assert_eq(record_reader_open(&r, p), 0);
  static struct record_sample batch[4096];
  size_t got = 0, k;
  uint64_t sum_stack = 0;
  while (record_reader_next(r, batch, 4096, &k) == 0 && k > 0) {
    for (size_t i = 0; i < k; i++)
      sum_stack += batch[i].stack_id;
    got += k;
  }
  record_reader_close(r);
  clock_gettime(CLOCK_MONOTONIC, &b);
  double secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
  cr_assert_eq(got, (size_t)n);
  cr_assert_gt(sum_stack, 0);
  fprintf(stderr, "reader: %d samples in %.3f s = %.1f M samples/s, %.2f bytes/sample\n", n, secs,
          n / secs / 1e6, bps);
  cr_assert_lt(secs, 2.0, "reading %d samples took %.2f s", n, secs);
}

/* Damage that passes the checksums: mutate chunk payloads and fix the CRCs,
 * so the parsers themselves see hostile input. Never a crash or a hang (ASan
 * builds check memory safety); any outcome is accepted. */
Test(record, mutated_chunks_with_valid_crc) {
  struct record_sample expect[512];
  size_t n = write_small(ts_path("m.pyprof"), expect, 512);
  size_t len;
  uint8_t *orig = ts_slurp_existing(ts_path("m.pyprof"), &len);
  uint8_t *data = malloc(len + 64);
  /* chunk offsets */
  size_t offs[64], noffs = 0;
  uint32_t hlen = (uint32_t)orig[12] | (uint32_t)orig[13] << 8 | (uint32_t)orig[14] << 16 |
                  (uint32_t)orig[15] << 24;
  for (size_t o = RECORD_PREAMBLE_LEN + hlen + 4; o + 12 <= len && noffs < 64;) {
    offs[noffs++] = o;
    uint32_t cl = (uint32_t)orig[o + 4] | (uint32_t)orig[o + 5] << 8 |
                  (uint32_t)orig[o + 6] << 16 | (uint32_t)orig[o + 7] << 24;
    o += 12 + cl;
  }
  cr_assert_geq(noffs, 8);
  uint64_t seed = 12345;
  size_t errors = 0, ok = 0;
  for (int iter = 0; iter < 20000; iter++) {
    memcpy(data, orig, len);
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    size_t c = offs[(seed >> 33) % noffs];
    uint32_t cl = (uint32_t)data[c + 4] | (uint32_t)data[c + 5] << 8 |
                  (uint32_t)data[c + 6] << 16 | (uint32_t)data[c + 7] << 24;
    if (!cl)
      continue;
    int nmut = 1 + (int)((seed >> 20) % 4);
    for (int m = 0; m < nmut; m++) {
      seed = seed * 6364136223846793005ull + 1442695040888963407ull;
      size_t at = c + 12 + (seed >> 33) % cl;
      static const uint8_t vals[] = {0x00, 0x01, 0x7f, 0x80, 0xff, 0x0f, 0x10, 0x3f};
      data[at] = (seed >> 16) & 1 ? vals[(seed >> 8) % 8] : (uint8_t)(data[at] ^ (seed >> 24));
    }
    uint32_t crc = record_crc32(record_crc32(0, data + c, 8), data + c + 12, cl);
    put_le32(data + c + 8, crc);
    ts_spit(ts_path("mut.pyprof"), data, len);
    struct readback rb;
    read_all(ts_path("mut.pyprof"), &rb, 16);
    cr_assert_eq(rb.open_rc, 0);
    cr_assert_leq(rb.n, 4 * n);
    if (rb.next_rc < 0) {
      errors++;
      cr_assert_eq(rb.next_rc, PP_ECORRUPT, "%s", pp_errname(rb.next_rc));
    } else {
      ok++;
    }
    free(rb.s);
  }
  fprintf(stderr, "mutated chunks: %zu rejected as corrupt, %zu accepted\n", errors, ok);
  cr_assert_gt(errors, 1000);
  free(data);
  free(orig);
}
