/* pyprof-bench-gen: write a synthetic pyprof record for report benchmarks.
 *
 *   pyprof-bench-gen OUT [SAMPLES] [THREADS] [FUNCS] [STACKS] [SEED]
 *
 * defaults: 10000000 samples, 8 threads, 300 functions in 40 files, 3000
 * distinct stacks 10-60 frames deep. Stacks share prefixes (each new stack
 * forks an earlier one at a random depth and grows its own tail), so the
 * profile looks like a real call tree. Which stack a thread is in follows a
 * Zipf-like popularity (a few hot stacks, a long tail), and a thread stays in
 * its stack for a few ticks (p = 0.7 of repeating), as a sampled program does.
 * Samples are 1 kHz ticks with 0-50 us of jitter, every thread sampled each
 * tick, flushed every 100 ticks (the sampler's 100 ms chunking). Deterministic
 * for a given seed. Prints "samples stacks frames funcs bytes seconds". */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pyprof/common/error.h"
#include "pyprof/record/writer.h"

#define MIN_DEPTH 10
#define MAX_DEPTH 60
#define NFILES 40
#define LINES_PER_FUNC 6 /* distinct call-site lines per function */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void) {
  uint64_t x = rng_state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  rng_state = x;
  return x * 0x2545F4914F6CDD1Dull;
}
static double rnd01(void) { return (double)(rnd() >> 11) * (1.0 / 9007199254740992.0); }
static uint32_t rndn(uint32_t n) { return (uint32_t)(rnd() % n); }

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int rc) {
  fprintf(stderr, "pyprof-bench-gen: %s: %s\n", what, pp_strerror(rc));
  exit(1);
}

int main(int argc, char **argv) {
  if (argc < 2 || argv[1][0] == '-') {
    fprintf(stderr, "usage: %s OUT [SAMPLES] [THREADS] [FUNCS] [STACKS] [SEED]\n", argv[0]);
    return 2;
  }
  const char *out = argv[1];
  uint64_t nsamples = argc > 2 ? strtoull(argv[2], NULL, 10) : 10000000ull;
  uint32_t nthreads = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 10) : 8;
  uint32_t nfuncs = argc > 4 ? (uint32_t)strtoul(argv[4], NULL, 10) : 300;
  uint32_t nstacks = argc > 5 ? (uint32_t)strtoul(argv[5], NULL, 10) : 3000;
  if (argc > 6)
    rng_state ^= strtoull(argv[6], NULL, 10) * 0xD1B54A32D192ED03ull;
  if (!nthreads || !nfuncs || !nstacks || nthreads > 1024) {
    fprintf(stderr, "pyprof-bench-gen: bad arguments\n");
    return 2;
  }

  struct record_header_info h = {.py_major = 3, .py_minor = 12, .py_micro = 0, .pid = 4242,
                                 .rate_hz = 1000, .flags = 0,
                                 .start_unix_ns = (int64_t)time(NULL) * 1000000000LL,
                                 .cmdline = "python3 synthetic_app.py --bench",
                                 .hostname = "bench", .python_path = "/usr/bin/python3.12",
                                 .rank = -1};
  struct record_writer *w;
  double t_start = now_s();
  int rc = record_writer_open(&w, out, &h);
  if (rc < 0)
    die(out, rc);

  /* Functions: name, file, firstline; frames are (function, call-site line). */
  uint32_t file_ids[NFILES];
  char buf[256];
  for (int i = 0; i < NFILES; i++) {
    int n = snprintf(buf, sizeof buf, "/srv/app/lib/python3.12/site-packages/pkg%d/module_%d.py",
                     i % 7, i);
    if ((rc = record_writer_string(w, buf, (size_t)n, &file_ids[i])) < 0)
      die("string", rc);
  }
  uint32_t *frame_ids = malloc(sizeof(uint32_t) * nfuncs * LINES_PER_FUNC);
  if (!frame_ids)
    die("malloc", PP_ENOMEM);
  for (uint32_t f = 0; f < nfuncs; f++) {
    uint32_t name_id;
    int n = snprintf(buf, sizeof buf, "%s_%u",
                     (const char *[]){"compute", "forward", "handle", "parse", "load", "step",
                                      "__call__", "_inner", "visit", "update"}[f % 10],
                     f);
    if ((rc = record_writer_string(w, buf, (size_t)n, &name_id)) < 0)
      die("string", rc);
    uint32_t file = file_ids[f % NFILES];
    int32_t firstline = (int32_t)(10 + (f / NFILES) * 40);
    for (uint32_t l = 0; l < LINES_PER_FUNC; l++) {
      if ((rc = record_writer_frame(w, RECORD_FRAME_PYTHON, name_id, file, firstline,
                                    firstline + 2 + (int32_t)l * 3,
                                    &frame_ids[f * LINES_PER_FUNC + l])) < 0)
        die("frame", rc);
    }
  }

  /* Stacks: stack 0 is random; stack i forks an earlier stack at a random
   * depth and grows a random tail, so the set forms a call tree. */
  uint32_t (*stacks)[MAX_DEPTH] = malloc(sizeof *stacks * nstacks);
  uint8_t *depth = malloc(nstacks);
  uint32_t *stack_id = malloc(sizeof(uint32_t) * nstacks);
  double *cdf = malloc(sizeof(double) * nstacks);
  if (!stacks || !depth || !stack_id || !cdf)
    die("malloc", PP_ENOMEM);
  uint32_t roots[4];
  for (int i = 0; i < 4; i++)
    roots[i] = frame_ids[rndn(nfuncs) * LINES_PER_FUNC];
  for (uint32_t s = 0; s < nstacks; s++) {
    uint32_t d = MIN_DEPTH + rndn(MAX_DEPTH - MIN_DEPTH + 1);
    uint32_t keep = 1;
    if (s > 0) {
      uint32_t parent = rndn(s);
      keep = 1 + rndn(depth[parent]);
      if (keep > d)
        keep = d;
      memcpy(stacks[s], stacks[parent], keep * sizeof(uint32_t));
    } else {
      stacks[s][0] = roots[0];
    }
    if (s > 0 && keep == 1)
      stacks[s][0] = roots[rndn(4)];
    for (uint32_t k = keep; k < d; k++)
      stacks[s][k] = frame_ids[rndn(nfuncs) * LINES_PER_FUNC + rndn(LINES_PER_FUNC)];
    depth[s] = (uint8_t)d;
    stack_id[s] = UINT32_MAX; /* interned on first use, as the sampler does */
  }
  /* Zipf-like popularity, exponent 1.1, over a shuffled order. */
  double tot = 0;
  for (uint32_t s = 0; s < nstacks; s++) {
    tot += 1.0 / pow((double)(s + 1), 1.1);
    cdf[s] = tot;
  }
  uint32_t *perm = malloc(sizeof(uint32_t) * nstacks);
  if (!perm)
    die("malloc", PP_ENOMEM);
  for (uint32_t s = 0; s < nstacks; s++)
    perm[s] = s;
  for (uint32_t s = nstacks - 1; s > 0; s--) {
    uint32_t j = rndn(s + 1), t = perm[s];
    perm[s] = perm[j];
    perm[j] = t;
  }

  uint32_t *cur = calloc(nthreads, sizeof(uint32_t));
  if (!cur)
    die("malloc", PP_ENOMEM);
  for (uint32_t t = 0; t < nthreads; t++) {
    snprintf(buf, sizeof buf, t ? "worker-%u" : "MainThread", t);
    if ((rc = record_writer_thread(w, 100000 + t, buf)) < 0)
      die("thread", rc);
    cur[t] = perm[rndn(nstacks)];
  }

  uint64_t written = 0, tick = 0;
  uint32_t distinct = 0;
  while (written < nsamples) {
    uint64_t base = tick * 1000000ull; /* 1 kHz */
    for (uint32_t t = 0; t < nthreads && written < nsamples; t++) {
      if (rnd01() >= 0.7) {
        double u = rnd01() * tot;
        uint32_t lo = 0, hi = nstacks - 1;
        while (lo < hi) {
          uint32_t mid = (lo + hi) / 2;
          if (cdf[mid] < u)
            lo = mid + 1;
          else
            hi = mid;
        }
        cur[t] = perm[lo];
      }
      uint32_t s = cur[t];
      if (stack_id[s] == UINT32_MAX) {
        if ((rc = record_writer_stack(w, stacks[s], depth[s], &stack_id[s])) < 0)
          die("stack", rc);
        distinct++;
      }
      uint64_t t_ns = base + t * 2000ull + rndn(50000);
      if ((rc = record_writer_sample(w, 100000 + t, t_ns, stack_id[s], 0)) < 0)
        die("sample", rc);
      written++;
    }
    tick++;
    if (tick % 100 == 0 && (rc = record_writer_flush(w)) < 0)
      die("flush", rc);
  }
  struct record_summary sum = {.samples = written, .failed = 0, .attempts = written,
                               .duration_ns = (int64_t)tick * 1000000LL, .exit_status = 0};
  uint64_t bytes = 0;
  rc = record_writer_close(w, &sum);
  if (rc < 0)
    die("close", rc);
  FILE *f = fopen(out, "rb");
  if (f) {
    fseek(f, 0, SEEK_END);
    bytes = (uint64_t)ftell(f);
    fclose(f);
  }
  printf("%llu %u %u %u %llu %.3f\n", (unsigned long long)written, distinct,
         nfuncs * LINES_PER_FUNC, nfuncs, (unsigned long long)bytes, now_s() - t_start);
  free(frame_ids);
  free(stacks);
  free(depth);
  free(stack_id);
  free(cdf);
  free(perm);
  free(cur);
  return 0;
}
