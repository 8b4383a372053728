/* Report: aggregation against ground truth, golden top/folded output, pstats
 * loaded by real Python, and the `pyprof report` command's exit codes and
 * messages. Set PYPROF_UPDATE_GOLDEN=1 to rewrite tests/golden/. */
#include <criterion/criterion.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pyprof/common/error.h"
#include "pyprof/record/writer.h"
#include "pyprof/report/formats.h"
#include "pyprof/report/profile.h"
#include "test_support.h"

static void setup_tmp(void) {
  ts_tmpdir_make("pyprof-test-report");
}

TestSuite(report, .init = setup_tmp, .fini = ts_tmpdir_remove);

/* ---- the fixture: a deterministic recording with known answers ----
 *
 * functions (file:firstline)   stacks (root first, frame:line)         samples
 *   main  app.py:1        S1 main:2 run:12 compute:7              50 thread 1001
 *   run   app.py:10       S2 main:2 run:13 helper:22              30 thread 1001
 *   compute calc.py:5     S3 main:2 run:12 compute:8              20 thread 1002
 *   helper  calc.py:20    S4 main:3 fib:2 fib:3 fib:3             15 thread 1002
 *   fib   fib.py:1        S5 main:2 計算:4                        10 thread 1001
 *   計算  uni.py:3        S6 main:2 run:14                         5 thread 1001
 *   sqrt  libm.so.6 (native) S7 main:2 run:12 compute:7 sqrt      7 thread 1001
 *                         S8 (no frames, idle)                     3 thread 1001
 */
struct fx_func {
  const char *name, *file;
  int firstline;
  uint64_t own, total;
};

static const struct fx_func FX[] = {
    {"compute", "calc.py", 5, 70, 77}, {"helper", "calc.py", 20, 30, 30},
    {"fib", "fib.py", 1, 15, 15},      {"計算", "uni.py", 3, 10, 10},
    {"sqrt", "libm.so.6", 0, 7, 7},    {"run", "app.py", 10, 5, 112},
    {"main", "app.py", 1, 0, 137},
};
#define FX_N (sizeof FX / sizeof FX[0])
#define FX_SAMPLES 140

static void build_fixture(const char *path, int32_t rank, uint32_t pid, int with_summary) {
  struct record_header_info h = {
      .py_major = 3, .py_minor = 11, .py_micro = 7, .pid = pid, .rate_hz = 100,
      .flags = RECORD_FLAG_IDLE, .start_unix_ns = 1700000000000000000LL,
      .cmdline = "python app.py --n 3", .hostname = "node-1",
      .python_path = "/usr/bin/python3.11", .rank = rank,
  };
  struct record_writer *w = NULL;
  cr_assert_eq(record_writer_open(&w, path, &h), 0);
  static const char *const strs[] = {"main", "app.py", "run",  "compute", "calc.py", "helper",
                                     "fib",  "fib.py", "計算", "uni.py",  "sqrt",    "libm.so.6"};
  static const struct ts_frame fd[] = {
      {0, 0, 1, 1, 2},   {0, 0, 1, 1, 3},   {0, 2, 1, 10, 12}, {0, 2, 1, 10, 13},
      {0, 2, 1, 10, 14}, {0, 3, 4, 5, 7},   {0, 3, 4, 5, 8},   {0, 5, 4, 20, 22},
      {0, 6, 7, 1, 2},   {0, 6, 7, 1, 3},   {0, 8, 9, 3, 4},   {1, 10, 11, 0, 0},
  };
  uint32_t f[12];
  ts_write_frames(w, strs, 12, fd, 12, f);
  /* frame indexes: 0 main:2 1 main:3 2 run:12 3 run:13 4 run:14 5 compute:7 6 compute:8
   * 7 helper:22 8 fib:2 9 fib:3 10 計算:4 11 sqrt */
  uint32_t k1[] = {f[0], f[2], f[5]}, k2[] = {f[0], f[3], f[7]}, k3[] = {f[0], f[2], f[6]},
           k4[] = {f[1], f[8], f[9], f[9]}, k5[] = {f[0], f[10]}, k6[] = {f[0], f[4]},
           k7[] = {f[0], f[2], f[5], f[11]};
  uint32_t st[8];
  cr_assert_eq(record_writer_stack(w, k1, 3, &st[0]), 0);
  cr_assert_eq(record_writer_stack(w, k2, 3, &st[1]), 0);
  cr_assert_eq(record_writer_stack(w, k3, 3, &st[2]), 0);
  cr_assert_eq(record_writer_stack(w, k4, 4, &st[3]), 0);
  cr_assert_eq(record_writer_stack(w, k5, 2, &st[4]), 0);
  cr_assert_eq(record_writer_stack(w, k6, 2, &st[5]), 0);
  cr_assert_eq(record_writer_stack(w, k7, 4, &st[6]), 0);
  cr_assert_eq(record_writer_stack(w, NULL, 0, &st[7]), 0);
  cr_assert_eq(record_writer_thread(w, 1001, "MainThread"), 0);
  cr_assert_eq(record_writer_thread(w, 1002, "worker"), 0);
  /* thread 1001: 50 S1, 30 S2, 10 S5, 5 S6, 7 S7, 3 S8 in interleaved runs */
  int t1[] = {0, 1, 4, 5, 6, 7}, n1[] = {50, 30, 10, 5, 7, 3}, left1[6];
  int t2[] = {2, 3}, n2[] = {20, 15}, left2[2];
  memcpy(left1, n1, sizeof n1);
  memcpy(left2, n2, sizeof n2);
  int c1 = 0, c2 = 0;
  for (int tick = 0; tick < 105; tick++) {
    uint64_t t = (uint64_t)tick * 10000000u;
    /* thread 1001 moves to the next stack with samples left, runs of 3 */
    while (!left1[c1 % 6])
      c1++;
    int k = c1 % 6;
    left1[k]--;
    cr_assert_eq(record_writer_sample(w, 1001, t, st[t1[k]],
                                      t1[k] == 7 ? RECORD_SAMPLE_IDLE : RECORD_SAMPLE_GIL),
                 0);
    if (tick % 3 == 2)
      c1++;
    if (left2[0] + left2[1] && tick % 3 != 1) {
      while (!left2[c2 % 2])
        c2++;
      int j = c2 % 2;
      left2[j]--;
      cr_assert_eq(record_writer_sample(w, 1002, t + 20000, st[t2[j]], 0), 0);
      c2++;
    }
    if (tick % 25 == 24)
      cr_assert_eq(record_writer_flush(w), 0);
  }
  for (int i = 0; i < 6; i++)
    cr_assert_eq(left1[i], 0);
  cr_assert_eq(left2[0] + left2[1], 0);
  struct record_summary sum = {FX_SAMPLES, 2, FX_SAMPLES + 2, 1050000000, 0};
  cr_assert_eq(record_writer_close(w, with_summary ? &sum : NULL), 0);
}

static const struct profile_func *find_func(const struct profile *p, const char *name) {
  for (size_t i = 0; i < p->nfuncs; i++)
    if (strcmp(profile_str(p, p->funcs[i].name), name) == 0)
      return &p->funcs[i];
  return NULL;
}

static const struct profile_edge *find_edge(const struct profile *p, const char *caller,
                                            const char *callee) {
  for (size_t i = 0; i < p->nedges; i++)
    if (strcmp(profile_str(p, p->funcs[p->edges[i].caller].name), caller) == 0 &&
        strcmp(profile_str(p, p->funcs[p->edges[i].callee].name), callee) == 0)
      return &p->edges[i];
  return NULL;
}

Test(report, aggregation_matches_ground_truth) {
  build_fixture(ts_path("a.pyprof"), -1, 4242, 1);
  const char *paths[] = {ts_path("a.pyprof")};
  struct profile *p = ts_load(paths, 1, 0);
  cr_assert_eq(p->samples, FX_SAMPLES);
  cr_assert_eq(p->nfuncs, FX_N);
  cr_assert_eq(p->nthreads, 2);
  cr_assert_float_eq(p->interval_s, 0.01, 1e-12);
  for (size_t i = 0; i < FX_N; i++) {
    const struct profile_func *f = find_func(p, FX[i].name);
    cr_assert_not_null(f, "%s missing", FX[i].name);
    cr_assert_str_eq(profile_str(p, f->file), FX[i].file);
    cr_assert_eq(f->firstline, FX[i].firstline);
    cr_assert_eq(f->own, FX[i].own, "%s own %lu", FX[i].name, (unsigned long)f->own);
    cr_assert_eq(f->total, FX[i].total, "%s total %lu", FX[i].name, (unsigned long)f->total);
  }
  /* recursion: fib counted once per sample; the fib->fib edge once too */
  const struct profile_edge *e = find_edge(p, "fib", "fib");
  cr_assert_not_null(e);
  cr_assert_eq(e->total, 15);
  cr_assert_eq(e->own, 15);
  e = find_edge(p, "run", "compute");
  cr_assert_eq(e->own, 70);
  cr_assert_eq(e->total, 77);
  e = find_edge(p, "main", "run");
  cr_assert_eq(e->own, 5);
  cr_assert_eq(e->total, 112);
  cr_assert_null(find_edge(p, "main", "compute"));
  /* per line: compute:7 and compute:8 */
  uint64_t l7 = 0, l8 = 0;
  for (size_t i = 0; i < p->nframes; i++) {
    const struct profile_frame *fr = &p->frames[i];
    if (strcmp(profile_str(p, p->funcs[fr->func].name), "compute") == 0) {
      if (fr->line == 7)
        l7 = fr->own;
      if (fr->line == 8)
        l8 = fr->own;
    }
  }
  cr_assert_eq(l7, 50);
  cr_assert_eq(l8, 20);
  /* threads */
  uint64_t by_tid[2] = {0};
  for (size_t i = 0; i < p->nthreads; i++)
    by_tid[p->threads[i].tid - 1001] += p->threads[i].samples;
  cr_assert_eq(by_tid[0], 105);
  cr_assert_eq(by_tid[1], 35);
  profile_free(p);

  p = ts_load(paths, 1, 1); /* --no-idle */
  cr_assert_eq(p->samples, FX_SAMPLES - 3);
  cr_assert_eq(find_func(p, "main")->total, 137);
  profile_free(p);
}

Test(report, merges_files_from_several_ranks) {
  build_fixture(ts_path("r0.pyprof"), 0, 100, 1);
  build_fixture(ts_path("r1.pyprof"), 1, 101, 1);
  const char *paths[] = {ts_path("r0.pyprof"), ts_path("r1.pyprof")};
  struct profile *p = ts_load(paths, 2, 0);
  cr_assert_eq(p->nfiles, 2);
  cr_assert_eq(p->samples, 2 * FX_SAMPLES);
  cr_assert_eq(p->nfuncs, FX_N);
  cr_assert_eq(p->nthreads, 4);
  for (size_t i = 0; i < FX_N; i++) {
    const struct profile_func *f = find_func(p, FX[i].name);
    cr_assert_eq(f->own, 2 * FX[i].own);
    cr_assert_eq(f->total, 2 * FX[i].total);
  }
  cr_assert_float_eq(profile_duration_s(p), 1.05, 1e-9);
  profile_free(p);
}

Test(report, golden_top_and_folded) {
  build_fixture(ts_path("g.pyprof"), -1, 4242, 1);
  const char *paths[] = {ts_path("g.pyprof")};
  struct profile *p = ts_load(paths, 1, 0);
  struct report_options o = {REPORT_SORT_OWN, 20, 0};
  char *s = ts_render(p, "top", &o);
  ts_check_golden("top.txt", s);
  /* the ranking in the table is the ground truth ranking */
  const char *pos = s;
  for (size_t i = 0; i < FX_N; i++) {
    const char *q = strstr(pos, FX[i].name);
    cr_assert_not_null(q, "%s not after the previous row", FX[i].name);
    pos = q;
  }
  free(s);
  o.sort = REPORT_SORT_TOTAL;
  o.limit = 3;
  s = ts_render(p, "top", &o);
  ts_check_golden("top-total-limit3.txt", s);
  free(s);
  o.limit = 0;
  s = ts_render(p, "folded", &o);
  ts_check_golden("folded.txt", s);
  /* counts add up to the samples */
  unsigned long sum = 0;
  for (char *line = s; *line;) {
    char *nl = strchr(line, '\n');
    cr_assert_not_null(nl);
    char *sp = nl;
    while (sp > line && sp[-1] != ' ')
      sp--;
    sum += strtoul(sp, NULL, 10);
    line = nl + 1;
  }
  cr_assert_eq(sum, FX_SAMPLES);
  free(s);
  o.threads = 1;
  s = ts_render(p, "folded", &o);
  ts_check_golden("folded-threads.txt", s);
  free(s);
  profile_free(p);
}

/* ---- the command ---- */

struct run {
  int status; /* exit status, or -1 */
  char *out, *err;
};

static void run(struct run *r, const char *args) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "%s report %s >%s", PYPROF_BINARY, args, ts_path("stdout"));
  r->status = ts_sh(cmd, &r->err);
  r->out = ts_slurp(ts_path("stdout"), NULL);
}

static void run_free(struct run *r) {
  free(r->out);
  free(r->err);
}

Test(report, command_writes_reports) {
  build_fixture(ts_path("c.pyprof"), -1, 4242, 1);
  struct run r;
  char args[1024];
  snprintf(args, sizeof args, "%s", ts_path("c.pyprof"));
  run(&r, args);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert_str_eq(r.err, "");
  ts_check_golden("top.txt", r.out);
  run_free(&r);

  snprintf(args, sizeof args, "-f folded -o %s %s", ts_path("out.folded"), ts_path("c.pyprof"));
  run(&r, args);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert_str_eq(r.out, "");
  char *folded = ts_slurp(ts_path("out.folded"), NULL);
  ts_check_golden("folded.txt", folded);
  free(folded);
  run_free(&r);

  snprintf(args, sizeof args, "--format=folded --threads %s", ts_path("c.pyprof"));
  run(&r, args);
  cr_assert_eq(r.status, 0, "%s", r.err);
  ts_check_golden("folded-threads.txt", r.out);
  run_free(&r);

  snprintf(args, sizeof args, "-s total -n 3 %s", ts_path("c.pyprof"));
  run(&r, args);
  cr_assert_eq(r.status, 0, "%s", r.err);
  ts_check_golden("top-total-limit3.txt", r.out);
  run_free(&r);

  run(&r, "--help");
  cr_assert_eq(r.status, 0);
  static const char *const opts[] = {"--format", "--output", "--sort",  "--limit", "--threads",
                                     "--no-idle", "--quiet", "--help",  "top",     "folded",
                                     "pstats",    "Examples", "Exit status"};
  for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
    cr_assert(strstr(r.out, opts[i]), "--help does not mention %s", opts[i]);
  run_free(&r);
}

Test(report, command_errors) {
  build_fixture(ts_path("ok.pyprof"), -1, 4242, 1);
  ts_spit(ts_path("empty.pyprof"), "", 0);
  ts_spit(ts_path("text.pyprof"), "hello\n", 6);
  size_t len;
  char *data = ts_slurp(ts_path("ok.pyprof"), &len);
  data[8] = 9; /* format version 9 */
  ts_spit(ts_path("future.pyprof"), data, len);
  data[8] = 1;
  data[len - 5] ^= 0x55; /* damage the end chunk's payload */
  ts_spit(ts_path("corrupt.pyprof"), data, len);
  data[len - 5] ^= 0x55;
  ts_spit(ts_path("cut.pyprof"), data, len - 7); /* end chunk cut */
  free(data);

  struct {
    const char *args;
    int status;
    const char *msg1, *msg2;
  } cases[] = {
      {"empty.pyprof", 1, "empty.pyprof: not a pyprof record file", "empty"},
      {"text.pyprof", 1, "text.pyprof: not a pyprof record file", "no report written"},
      {"future.pyprof", 1, "version 9", "reads format version 1"},
      {"corrupt.pyprof", 1, "corrupt.pyprof: record file is corrupt", "checksum"},
      {"missing.pyprof", 1, "missing.pyprof: cannot open", "No such file"},
      {"ok.pyprof empty.pyprof", 1, "empty.pyprof", "no report written"},
      {"-f pstats ok.pyprof", 2, "-o", "pstats"},
      {"-f bogus ok.pyprof", 2, "unknown format 'bogus'", "folded"},
      {"--sort middle ok.pyprof", 2, "--sort", "middle"},
      {"--limit -3 ok.pyprof", 2, "--limit", "-3"},
      {"--frobnicate ok.pyprof", 2, "unknown option", "frobnicate"},
      {"", 2, "no record file", "--help"},
      {"-o /nonexistent-dir/x.txt ok.pyprof", 1, "cannot create", "/nonexistent-dir/x.txt"},
  };
  char args[1024];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    /* prefix file arguments with the temporary directory */
    char buf[512];
    snprintf(buf, sizeof buf, "%s", cases[i].args);
    args[0] = '\0';
    for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " ")) {
      size_t l = strlen(args);
      if (strstr(tok, ".pyprof"))
        snprintf(args + l, sizeof args - l, "%s/%s ", ts_tmpdir(), tok);
      else
        snprintf(args + l, sizeof args - l, "%s ", tok);
    }
    struct run r;
    run(&r, args);
    cr_assert_eq(r.status, cases[i].status, "`%s`: exit %d, stderr: %s", cases[i].args, r.status,
                 r.err);
    cr_assert(strstr(r.err, cases[i].msg1), "`%s`: no '%s' in: %s", cases[i].args,
              cases[i].msg1, r.err);
    cr_assert(strstr(r.err, cases[i].msg2), "`%s`: no '%s' in: %s", cases[i].args,
              cases[i].msg2, r.err);
    if (r.status != 0)
      cr_assert_str_eq(r.out, "", "`%s` wrote a report", cases[i].args);
    run_free(&r);
  }

  /* cut short: a warning, and still a report */
  struct run r;
  snprintf(args, sizeof args, "%s", ts_path("cut.pyprof"));
  run(&r, args);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert(strstr(r.err, "warning"), "%s", r.err);
  cr_assert(strstr(r.err, "recording cut short after 140 samples: last complete chunk at byte"),
            "%s", r.err);
  cr_assert(strstr(r.out, "compute"), "%s", r.out);
  cr_assert(strstr(r.out, "cut short"), "%s", r.out);
  run_free(&r);
  snprintf(args, sizeof args, "-q %s", ts_path("cut.pyprof"));
  run(&r, args);
  cr_assert_eq(r.status, 0);
  cr_assert_str_eq(r.err, "");
  run_free(&r);
}

/* ---- pstats, checked by real Python ---- */

static const char PSTATS_CHECK[] =
    "import io, pstats, sys\n"
    "path, outpath = sys.argv[1], sys.argv[2]\n"
    "buf = io.StringIO()\n"
    "st = pstats.Stats(path, stream=buf)\n"
    "st.sort_stats('cumulative').print_stats()\n"
    "st.print_callers()\n"
    "st.print_callees()\n"
    "assert 'compute' in buf.getvalue()\n"
    "st.sort_stats('tottime')\n"
    "rank = [f[2] for f in st.fcn_list]\n"
    "d = {k[2]: (k, v) for k, v in st.stats.items()}\n"
    "lines = [','.join(rank)]\n"
    "for name in rank:\n"
    "    (fn, line, _), (cc, nc, tt, ct, callers) = d[name]\n"
    "    cl = ';'.join('%s:%d:%d:%.4f:%.4f' % (c[2], v[0], v[1], v[2], v[3])\n"
    "                  for c, v in sorted(callers.items(), key=lambda kv: kv[0][2]))\n"
    "    lines.append('%s %s:%d cc=%d nc=%d tt=%.4f ct=%.4f callers=%s' %\n"
    "                 (name, fn, line, cc, nc, tt, ct, cl))\n"
    "lines.append('total_tt=%.4f' % st.total_tt)\n"
    "with open(outpath, 'w', encoding='utf-8') as f:\n"
    "    f.write('\\n'.join(lines) + '\\n')\n";

static const char PSTATS_EXPECT[] =
    "compute,helper,fib,計算,sqrt,run,main\n"
    "compute calc.py:5 cc=77 nc=77 tt=0.7000 ct=0.7700 callers=run:77:77:0.7000:0.7700\n"
    "helper calc.py:20 cc=30 nc=30 tt=0.3000 ct=0.3000 callers=run:30:30:0.3000:0.3000\n"
    "fib fib.py:1 cc=15 nc=15 tt=0.1500 ct=0.1500 "
    "callers=fib:15:15:0.1500:0.1500;main:15:15:0.0000:0.1500\n"
    "計算 uni.py:3 cc=10 nc=10 tt=0.1000 ct=0.1000 callers=main:10:10:0.1000:0.1000\n"
    "sqrt libm.so.6:0 cc=7 nc=7 tt=0.0700 ct=0.0700 callers=compute:7:7:0.0700:0.0700\n"
    "run app.py:10 cc=112 nc=112 tt=0.0500 ct=1.1200 callers=main:112:112:0.0500:1.1200\n"
    "main app.py:1 cc=137 nc=137 tt=0.0000 ct=1.3700 callers=\n"
    "total_tt=1.3700\n";

Test(report, pstats_loads_in_every_python) {
  build_fixture(ts_path("p.pyprof"), -1, 4242, 1);
  char args[1024];
  snprintf(args, sizeof args, "-f pstats -o %s %s", ts_path("out.prof"), ts_path("p.pyprof"));
  struct run r;
  run(&r, args);
  cr_assert_eq(r.status, 0, "%s", r.err);
  run_free(&r);
  ts_spit(ts_path("check.py"), PSTATS_CHECK, strlen(PSTATS_CHECK));

  /* every Python 3 we can find: PATH, the system one, pyenv's 3.8 .. 3.13 */
  const char *cands[32];
  size_t nc = 0;
  cands[nc++] = "python3";
  if (access("/usr/bin/python3.11", X_OK) == 0)
    cands[nc++] = "/usr/bin/python3.11";
  glob_t g = {0};
  char pat[512];
  snprintf(pat, sizeof pat, "%s/.pyenv/versions/3.*/bin/python3", getenv("HOME") ? getenv("HOME") : "/root");
  if (glob(pat, 0, NULL, &g) == 0)
    for (size_t i = 0; i < g.gl_pathc && nc < 32; i++)
      cands[nc++] = g.gl_pathv[i];
  size_t ran = 0;
  for (size_t i = 0; i < nc; i++) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s -c 'import sys; sys.exit(sys.version_info < (3, 8))' 2>/dev/null",
             cands[i]);
    if (system(cmd) != 0)
      continue; /* missing or older than 3.8 */
    snprintf(cmd, sizeof cmd, "%s %s %s %s 2>%s", cands[i], ts_path("check.py"),
             ts_path("out.prof"), ts_path("result.txt"), ts_path("pyerr.txt"));
    int st = system(cmd);
    char *err = ts_slurp(ts_path("pyerr.txt"), NULL);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s failed: %s", cands[i], err);
    free(err);
    char *res = ts_slurp(ts_path("result.txt"), NULL);
    cr_assert_str_eq(res, PSTATS_EXPECT, "%s", cands[i]);
    free(res);
    unlink(ts_path("result.txt"));
    /* the interactive browser starts and exits on end of input */
    snprintf(cmd, sizeof cmd, "%s -m pstats %s </dev/null >/dev/null 2>&1", cands[i],
             ts_path("out.prof"));
    cr_assert_eq(system(cmd), 0, "%s -m pstats failed", cands[i]);
    ran++;
  }
  globfree(&g);
  fprintf(stderr, "pstats checked with %zu Python interpreters\n", ran);
  cr_assert_geq(ran, 1, "no Python 3.8+ found");
}

Test(report, aggregation_speed) {
  const char *p = ts_path("big.pyprof");
  struct record_header_info h = {.py_major = 3, .py_minor = 12, .rate_hz = 1000, .rank = -1};
  struct record_writer *w = NULL;
  cr_assert_eq(record_writer_open(&w, p, &h), 0);
  uint32_t s, f[8], st[64];
  cr_assert_eq(record_writer_string(w, "f", 1, &s), 0);
  for (int i = 0; i < 8; i++)
    cr_assert_eq(record_writer_frame(w, RECORD_FRAME_PYTHON, s, s, i, i, &f[i]), 0);
  for (int i = 0; i < 64; i++) {
    uint32_t fr[6] = {f[0], f[1], f[i & 7], f[(i >> 3) & 7], f[2], f[(i * 5) & 7]};
    cr_assert_eq(record_writer_stack(w, fr, 6, &st[i]), 0);
  }
  const int n = 3000000;
  uint64_t seed = 7;
  for (int i = 0; i < n; i++) {
    seed = seed * 6364136223846793005ull + 1;
    uint32_t t = i & 7;
    uint32_t k = (seed >> 60) < 3 ? (uint32_t)(seed >> 33) % 64 : t * 8;
    cr_assert_eq(record_writer_sample(w, 500 + t, (uint64_t)(i / 8) * 1000000u, st[k], 0), 0);
  }
  cr_assert_eq(record_writer_close(w, NULL), 0);

  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  struct profile *prof = ts_load(&p, 1, 0);
  clock_gettime(CLOCK_MONOTONIC, &b);
  double secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
  cr_assert_eq(prof->samples, (uint64_t)n);
  cr_assert(prof->files[0].truncated);
  fprintf(stderr, "aggregation: %d samples in %.3f s = %.1f M samples/s\n", n, secs,
          n / secs / 1e6);
  cr_assert_lt(secs, 3.0);
  profile_free(prof);
}
