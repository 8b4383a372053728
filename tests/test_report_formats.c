/* Report formats flamegraph (HTML) and speedscope (JSON), and the safety of
 * every text output against hostile names from target memory.
 *
 * The outputs are checked by real parsers: Python's json module (strict
 * UTF-8), xmllint --html for the page, and a Python script that rebuilds
 * folded stacks from the flamegraph's embedded tree and from the speedscope
 * profiles and compares them with -f folded. Golden files for a small
 * deterministic profile: set PYPROF_UPDATE_GOLDEN=1 to rewrite them. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pyprof/common/error.h"
#include "pyprof/record/writer.h"
#include "pyprof/report/escape.h"
#include "pyprof/report/formats.h"
#include "pyprof/report/profile.h"
#include "test_support.h"

static void setup_tmp(void) {
  ts_tmpdir_make("pyprof-test-formats");
}

TestSuite(formats, .init = setup_tmp, .fini = ts_tmpdir_remove);

/* ---- a small deterministic profile ----
 *
 *   stack (root first)                            samples thread
 *   S1 main:2 run:12 compute:7                    40      1001 MainThread
 *   S2 main:2 run:12 compute:8                    20      1002 worker
 *   S3 main:2 run:13                              10      1001
 *   S4 main:3 計算:4                               8      1002
 *   S5 main:2 run:12 compute:7 sqrt (native)       6      1001
 *   S6 (no frames)                                 2      1001
 * main app.py:1, run app.py:10, compute calc.py:5, 計算 uni.py:3, sqrt libm.so.6 */
#define FX_SAMPLES 86
#define FX_T1 58
#define FX_T2 28

static void build_fixture(const char *path) {
  struct record_header_info h = {
      .py_major = 3, .py_minor = 12, .py_micro = 1, .pid = 4242, .rate_hz = 100,
      .start_unix_ns = 1700000000000000000LL, .cmdline = "python app.py --n 3",
      .hostname = "node-1", .python_path = "/usr/bin/python3.12", .rank = -1,
  };
  struct record_writer *w = NULL;
  cr_assert_eq(record_writer_open(&w, path, &h), 0);
  static const char *const strs[] = {"main", "app.py", "run",  "compute",  "calc.py",
                                     "計算", "uni.py", "sqrt", "libm.so.6"};
  static const struct ts_frame fd[] = {
      {0, 0, 1, 1, 2},  {0, 0, 1, 1, 3}, {0, 2, 1, 10, 12}, {0, 2, 1, 10, 13},
      {0, 3, 4, 5, 7},  {0, 3, 4, 5, 8}, {0, 5, 6, 3, 4},   {1, 7, 8, 0, 0},
  };
  uint32_t f[8];
  ts_write_frames(w, strs, 9, fd, 8, f);
  uint32_t k1[] = {f[0], f[2], f[4]}, k2[] = {f[0], f[2], f[5]}, k3[] = {f[0], f[3]},
           k4[] = {f[1], f[6]}, k5[] = {f[0], f[2], f[4], f[7]};
  uint32_t st[6];
  cr_assert_eq(record_writer_stack(w, k1, 3, &st[0]), 0);
  cr_assert_eq(record_writer_stack(w, k2, 3, &st[1]), 0);
  cr_assert_eq(record_writer_stack(w, k3, 2, &st[2]), 0);
  cr_assert_eq(record_writer_stack(w, k4, 2, &st[3]), 0);
  cr_assert_eq(record_writer_stack(w, k5, 4, &st[4]), 0);
  cr_assert_eq(record_writer_stack(w, NULL, 0, &st[5]), 0);
  cr_assert_eq(record_writer_thread(w, 1001, "MainThread"), 0);
  cr_assert_eq(record_writer_thread(w, 1002, "worker"), 0);
  int left1[4] = {40, 10, 6, 2}, id1[4] = {0, 2, 4, 5};
  int left2[2] = {20, 8}, id2[2] = {1, 3};
  uint64_t t = 0;
  for (int tick = 0; tick < FX_T1; tick++, t += 10000000u) {
    int k = tick % 4;
    while (!left1[k])
      k = (k + 1) % 4;
    left1[k]--;
    cr_assert_eq(record_writer_sample(w, 1001, t, st[id1[k]], 0), 0);
    if (tick < FX_T2) {
      int j = tick % 2;
      if (!left2[j])
        j ^= 1;
      left2[j]--;
      cr_assert_eq(record_writer_sample(w, 1002, t + 10000, st[id2[j]], 0), 0);
    }
  }
  struct record_summary sum = {FX_SAMPLES, 1, FX_T1 + 1, 580000000, 0};
  cr_assert_eq(record_writer_close(w, &sum), 0);
}

static struct profile *load(const char *path) {
  return ts_load(&path, 1, 0);
}

static char *render(const struct profile *p, const char *format, int threads) {
  struct report_options o = {REPORT_SORT_OWN, 0, threads};
  return ts_render(p, format, &o);
}

/* ---- the checker: real parsers, outputs rebuilt into folded stacks ---- */

static const char CHECK_PY[] =
    "import codecs, html, json, re, sys\n"
    "codecs.register_error('perbyte', lambda e: ('\\ufffd', e.start + 1))\n"
    "def label(name, file, line):\n"
    "    if not file:\n"
    "        return name\n"
    "    return '%s (%s%s)' % (name, file, ':%d' % line if line > 0 else '')\n"
    "def page(path):\n"
    "    text = open(path, 'rb').read().decode('utf-8')  # strict\n"
    "    tag = '<script type=\"application/json\" id=\"pyprof-data\">'\n"
    "    a = text.index(tag) + len(tag)\n"
    "    b = text.index('</script>', a)\n"
    "    return text, json.loads(text[a:b])\n"
    "def flame_stacks(data):\n"
    "    S, F, R = data['strings'], data['frames'], data['nodes']\n"
    "    assert len(R) % 3 == 0 and R[0] == -1, 'root first'\n"
    "    assert data['meta']['nodes'] == len(R) // 3\n"
    "    out, st = {}, []\n"
    "    for i in range(len(R) // 3):\n"
    "        f, t, c = R[3 * i:3 * i + 3]\n"
    "        if i == 0:\n"
    "            path = []\n"
    "        else:\n"
    "            assert st, 'node %d outside the tree' % i\n"
    "            par = st[-1]\n"
    "            par[2] -= 1\n"
    "            par[3] += t\n"
    "            assert t > 0 and par[3] <= par[1], 'children wider than parent'\n"
    "            e = F[f]\n"
    "            assert e[4] in (0, 1, 2, 3)\n"
    "            path = par[0] + [S[e[0]] if e[4] >= 2 else label(S[e[0]], S[e[1]], e[2])]\n"
    "        st.append([path, t, c, 0])\n"
    "        while st and st[-1][2] == 0:\n"
    "            p = st.pop()\n"
    "            if p[1] > p[3] and p[0]:\n"
    "                out[';'.join(p[0])] = p[1] - p[3]\n"
    "    assert not st, 'tree not closed'\n"
    "    return out, R[1]\n"
    "def speedscope_stacks(path, interval, samples):\n"
    "    d = json.loads(open(path, 'rb').read().decode('utf-8'))\n"
    "    assert d['$schema'] == 'https://www.speedscope.app/file-format-schema.json'\n"
    "    fr = d['shared']['frames']\n"
    "    out, totals = {}, []\n"
    "    for p in d['profiles']:\n"
    "        assert p['type'] == 'sampled' and p['unit'] == 'seconds'\n"
    "        assert p['startValue'] == 0 and len(p['samples']) == len(p['weights'])\n"
    "        tot = sum(p['weights'])\n"
    "        assert abs(p['endValue'] - tot) < 1e-9, (p['endValue'], tot)\n"
    "        totals.append(tot)\n"
    "        for s, w in zip(p['samples'], p['weights']):\n"
    "            n = w / interval\n"
    "            assert abs(n - round(n)) < 1e-6 and n >= 1, w\n"
    "            names = [label(fr[k]['name'], fr[k].get('file', ''), fr[k].get('line', 0))\n"
    "                     for k in s]\n"
    "            key = ';'.join([p['name']] + names)\n"
    "            assert key not in out, 'stack twice: ' + key\n"
    "            out[key] = round(n)\n"
    "    assert d['activeProfileIndex'] == totals.index(max(totals))\n"
    "    assert abs(sum(totals) - samples * interval) < 1e-9, (sum(totals), samples)\n"
    "    return out\n"
    "def folded(path):\n"
    "    out = {}\n"
    "    for line in open(path, 'rb').read().decode('utf-8').split('\\n')[:-1]:\n"
    "        stack, n = line.rsplit(' ', 1)\n"
    "        out[stack] = int(n)\n"
    "    return out\n"
    "def no_frames(d):  # folded --threads gives a frameless sample no frame\n"
    "    return {re.sub(r';\\(no frames\\)$', '', k): v for k, v in d.items()}\n"
    "def same(got, want, what):\n"
    "    if got != want:\n"
    "        for k in sorted(set(got) | set(want)):\n"
    "            if got.get(k) != want.get(k):\n"
    "                print('%s: %r: got %r want %r' % (what, k, got.get(k), want.get(k)))\n"
    "        sys.exit(1)\n"
    "mode = sys.argv[1]\n"
    "if mode == 'flamegraph':\n"
    "    text, data = page(sys.argv[2])\n"
    "    got, total = flame_stacks(data)\n"
    "    same(no_frames(got), folded(sys.argv[3]), 'flamegraph')\n"
    "    assert total == data['meta']['samples'] == int(sys.argv[4])\n"
    "elif mode == 'speedscope':\n"
    "    got = speedscope_stacks(sys.argv[2], float(sys.argv[4]), int(sys.argv[5]))\n"
    "    same(no_frames(got), folded(sys.argv[3]), 'speedscope')\n"
    "elif mode == 'tree':\n"
    "    text, data = page(sys.argv[2])\n"
    "    got, total = flame_stacks(data)\n"
    "    assert total == data['meta']['samples'] == int(sys.argv[3])\n"
    "    m = data['meta']\n"
    "    print(m['nodes'], m['pruned_nodes'], m['pruned_samples'], m['min_samples'])\n"
    "elif mode == 'hostile':\n"
    "    kind, path = sys.argv[2], sys.argv[3]\n"
    "    want = [bytes.fromhex(h).split(b'\\0')[0].decode('utf-8', 'perbyte')\n"
    "            for h in open(sys.argv[4]).read().split()]\n"
    "    raw = open(path, 'rb').read()\n"
    "    text = raw.decode('utf-8')  # strict: valid UTF-8 whatever the names\n"
    "    bad = re.search('[\\x00-\\x09\\x0b-\\x1f\\x7f\\u2028\\u2029]', text)\n"
    "    assert not bad, 'raw control character %r at %d' % (bad.group(), bad.start())\n"
    "    if kind == 'flamegraph':\n"
    "        text, data = page(path)\n"
    "        flame_stacks(data)\n"
    "        have = set(data['strings'])\n"
    "        assert text.count('<script') == 2 and text.count('</script') == 2, 'script tags'\n"
    "        assert '<!--' not in text\n"
    "        t = re.search('<title>(.*?)</title>', text, re.S).group(1)\n"
    "        assert '<' not in t and '\"' not in t\n"
    "        shown = re.sub('[\\x00-\\x1f\\x7f]', '\\ufffd', want[-1])\n"
    "        assert html.unescape(t) == 'pyprof flamegraph: ' + shown, t\n"
    "        assert data['meta']['cmdline'] == want[-1]\n"
    "        want = want[:-1]\n"
    "    else:\n"
    "        d = json.loads(text)\n"
    "        have = set(f['name'] for f in d['shared']['frames'])\n"
    "        have |= set(f.get('file', '') for f in d['shared']['frames'])\n"
    "        have |= set(p['name'] for p in d['profiles'])\n"
    "        have.add(d['name'][len('pyprof: '):])\n"
    "    for w in want:\n"
    "        assert w in have, 'name missing or altered: %r' % w[:80]\n"
    "    if kind == 'speedscope' or sys.argv[5] == '1':\n"
    "        assert want[1] + ' (tid 11)' in have, 'thread name'\n"
    "        assert want[4] + ' (tid 12)' in have, 'thread name'\n"
    "elif mode == 'text':\n"
    "    text = open(sys.argv[2], 'rb').read().decode('utf-8')  # strict\n"
    "    bad = re.search('[\\x00-\\x09\\x0b-\\x1f\\x7f-\\x9f\\u202a-\\u202e\\u2066-\\u2069]', text)\n"
    "    assert not bad, 'control character %r at %d' % (bad.group(), bad.start())\n"
    "    if sys.argv[3] == 'folded':\n"
    "        total = 0\n"
    "        for line in text.split('\\n')[:-1]:\n"
    "            m = re.fullmatch('(.+) ([0-9]+)', line)\n"
    "            assert m, line[:80]\n"
    "            assert m.group(1).count(';') == int(sys.argv[4]) - 1, line[:200]\n"
    "            total += int(m.group(2))\n"
    "        assert total == int(sys.argv[5]), total\n"
    "else:\n"
    "    sys.exit('mode?')\n";

static void write_checker(void) {
  ts_spit(ts_path("check.py"), CHECK_PY, strlen(CHECK_PY));
}

static void py(const char *args) {
  char cmd[2048], *err = NULL;
  snprintf(cmd, sizeof cmd, "python3 %s %s >%s", ts_path("check.py"), args, ts_path("py-out"));
  int st = ts_sh(cmd, &err);
  char *out = ts_slurp(ts_path("py-out"), NULL);
  cr_assert_eq(st, 0, "check.py %s failed:\n%.3000s%.3000s", args, out ? out : "", err);
  free(out);
  free(err);
}

static void xmllint_clean(const char *path) {
  char cmd[1024], *err = NULL;
  cr_assert_eq(ts_sh("command -v xmllint >/dev/null", NULL), 0,
               "xmllint not found: tools/setup-debian.sh installs libxml2-utils");
  snprintf(cmd, sizeof cmd, "xmllint --html --noout %s", path);
  int st = ts_sh(cmd, &err);
  cr_assert_eq(st, 0, "xmllint: %.3000s", err);
  cr_assert(!err[0], "xmllint --html found problems in %s:\n%.3000s", path, err);
  free(err);
}

/* ---- tests ---- */

Test(formats, listed_in_the_table) {
  cr_assert_not_null(report_format_find("flamegraph"));
  cr_assert_not_null(report_format_find("speedscope"));
  cr_assert_eq(report_format_find("flamegraph")->write, report_write_flamegraph);
  cr_assert_eq(report_format_find("speedscope")->write, report_write_speedscope);
}

Test(formats, flamegraph_tree_is_the_folded_stacks) {
  build_fixture(ts_path("fx.pyprof"));
  struct profile *p = load(ts_path("fx.pyprof"));
  write_checker();
  for (int threads = 0; threads <= 1; threads++) {
    char *page = render(p, "flamegraph", threads);
    char *fold = render(p, "folded", threads);
    ts_spit(ts_path("fg.html"), page, strlen(page));
    ts_spit(ts_path("fg.folded"), fold, strlen(fold));
    ts_check_golden(threads ? "flamegraph-threads.html" : "flamegraph.html", page);
    xmllint_clean(ts_path("fg.html"));
    char args[1024];
    snprintf(args, sizeof args, "flamegraph %s %s %d", ts_path("fg.html"), ts_path("fg.folded"),
             FX_SAMPLES);
    py(args);
    /* the title block: command line, version, samples, duration, rate */
    cr_assert(strstr(page, "<title>pyprof flamegraph: python app.py --n 3</title>"));
    cr_assert(strstr(page, "Python 3.12.1"), "no version");
    cr_assert(strstr(page, "86 samples"), "no sample count");
    cr_assert(strstr(page, "0.58 s"), "no duration");
    cr_assert(strstr(page, "100 Hz"), "no rate");
    cr_assert(strstr(page, "pid 4242 on node-1"));
    /* self-contained: nothing fetched from elsewhere */
    cr_assert_null(strstr(page, "src="));
    cr_assert_null(strstr(page, "href="));
    cr_assert_null(strstr(page, "http"));
    cr_assert_null(strstr(page, "Left out"), "nothing is below 0.01%% here");
    free(page);
    free(fold);
  }
  profile_free(p);
}

Test(formats, speedscope_profiles_are_the_thread_stacks) {
  build_fixture(ts_path("fx.pyprof"));
  struct profile *p = load(ts_path("fx.pyprof"));
  write_checker();
  char *json = render(p, "speedscope", 0);
  char *fold = render(p, "folded", 1);
  ts_spit(ts_path("ss.json"), json, strlen(json));
  ts_spit(ts_path("ss.folded"), fold, strlen(fold));
  ts_check_golden("speedscope.json", json);
  char args[1024];
  snprintf(args, sizeof args, "speedscope %s %s 0.01 %d", ts_path("ss.json"), ts_path("ss.folded"),
           FX_SAMPLES);
  py(args);
  /* root first, the native frame without a line, weights in seconds */
  cr_assert(strstr(json, "{\"name\":\"sqrt\",\"file\":\"libm.so.6\"}"), "%s", json);
  cr_assert(strstr(json, "\"name\":\"MainThread (tid 1001)\""));
  cr_assert(strstr(json, "\"endValue\":0.58"), "MainThread: 58 samples x 10 ms");
  cr_assert(strstr(json, "\"endValue\":0.28"), "worker: 28 samples x 10 ms");
  cr_assert(strstr(json, "\"activeProfileIndex\":0"));
  free(json);
  free(fold);
  profile_free(p);
}

Test(formats, command_writes_both_formats) {
  build_fixture(ts_path("c.pyprof"));
  struct profile *p = load(ts_path("c.pyprof"));
  char cmd[2048], *err = NULL;
  snprintf(cmd, sizeof cmd, "%s report -f flamegraph -o %s %s >%s", PYPROF_BINARY,
           ts_path("c.html"), ts_path("c.pyprof"), ts_path("c.out"));
  cr_assert_eq(ts_sh(cmd, &err), 0, "%s", err);
  cr_assert_str_eq(err, "");
  free(err);
  char *got = ts_slurp(ts_path("c.html"), NULL), *want = render(p, "flamegraph", 0);
  ts_same_text(got, want, "pyprof report output");
  free(got);
  free(want);
  snprintf(cmd, sizeof cmd, "%s report --format=speedscope %s >%s", PYPROF_BINARY,
           ts_path("c.pyprof"), ts_path("c.json"));
  cr_assert_eq(ts_sh(cmd, &err), 0, "%s", err);
  free(err);
  got = ts_slurp(ts_path("c.json"), NULL);
  want = render(p, "speedscope", 0);
  ts_same_text(got, want, "pyprof report output");
  free(got);
  free(want);
  snprintf(cmd, sizeof cmd, "%s report -t -f flamegraph %s >%s", PYPROF_BINARY,
           ts_path("c.pyprof"), ts_path("c2.html"));
  cr_assert_eq(ts_sh(cmd, &err), 0, "%s", err);
  free(err);
  got = ts_slurp(ts_path("c2.html"), NULL);
  want = render(p, "flamegraph", 1);
  ts_same_text(got, want, "pyprof report output");
  free(got);
  free(want);
  snprintf(cmd, sizeof cmd, "%s report --help >%s", PYPROF_BINARY, ts_path("help"));
  cr_assert_eq(ts_sh(cmd, NULL), 0);
  char *help = ts_slurp(ts_path("help"), NULL);
  cr_assert(strstr(help, "flamegraph"), "%s", help);
  cr_assert(strstr(help, "speedscope"), "%s", help);
  cr_assert(strstr(help, "-f flamegraph -o"), "no example: %s", help);
  free(help);
  profile_free(p);
}

/* Names as a target could hold them. The last entry is the command line. */
static const char *const HOSTILE[] = {
    "<script>alert(1)</script>",
    "</script><script>alert(2)</script>",
    "a\"b'c&d<e>f&amp;",
    "<!--<script>",
    "ctl\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17"
    "\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x7f!",
    "esc\x1b[31mred\x1b[0m\x1b]0;title\x07",
    "bad\xff\xfe-\xc3\x28-\xe2\x82-\xc0\xaf-\xed\xa0\x80-\xf4\x90\x80\x80-\x80" "end",
    "trunc\xe2\x82",
    "sep\xe2\x80\xa8para\xe2\x80\xa9" "end",
    "c1\xc2\x9b" "31m bidi\xe2\x80\xae" "evil",
    "semi;colon;name",
    "nul\0hidden",
    "back\\slash \\u0041 \\\"q",
    "計算 ünïcødé 🐍",
    "python -c \"</script><b>x</b>\" &lt; \x1b[2J \xff",
};
#define NHOSTILE (sizeof HOSTILE / sizeof HOSTILE[0])

static size_t hostile_len(size_t i) {
  return i == 11 ? sizeof "nul\0hidden" - 1 : strlen(HOSTILE[i]);
}

static char long_name[10001];

/* A record whose function, file and thread names and command line are the
 * strings above (and a 10,000-character name); every stack 3 frames deep. */
static void build_hostile(const char *path, size_t *nnames, uint64_t *samples) {
  struct record_header_info h = {
      .py_major = 3, .py_minor = 11, .py_micro = 2, .pid = 7, .rate_hz = 100,
      .cmdline = HOSTILE[NHOSTILE - 1], .hostname = "<b>host</b>\x1b", .rank = -1,
  };
  struct record_writer *w = NULL;
  cr_assert_eq(record_writer_open(&w, path, &h), 0);
  for (size_t i = 0; i < sizeof long_name - 1; i++)
    long_name[i] = "<>&\"'x;"[i % 7];
  long_name[sizeof long_name - 1] = '\0';
  uint32_t root, ids[NHOSTILE + 1];
  cr_assert_eq(record_writer_string(w, "root", 4, &root), 0);
  for (size_t i = 0; i + 1 < NHOSTILE; i++)
    cr_assert_eq(record_writer_string(w, HOSTILE[i], hostile_len(i), &ids[i]), 0);
  cr_assert_eq(record_writer_string(w, long_name, strlen(long_name), &ids[NHOSTILE - 1]), 0);
  uint32_t froot, fr[NHOSTILE], st;
  cr_assert_eq(record_writer_frame(w, RECORD_FRAME_PYTHON, root, root, 1, 2, &froot), 0);
  uint64_t n = 0;
  for (size_t i = 0; i < NHOSTILE; i++) {
    /* name i in file i+1, alternately Python and native */
    size_t j = (i + 1) % NHOSTILE;
    cr_assert_eq(record_writer_frame(w, i % 2 ? RECORD_FRAME_NATIVE : RECORD_FRAME_PYTHON,
                                     ids[i], ids[j], 3, (int32_t)i + 4, &fr[i]),
                 0);
  }
  cr_assert_eq(record_writer_thread(w, 11, HOSTILE[1]), 0);
  cr_assert_eq(record_writer_thread(w, 12, HOSTILE[4]), 0);
  for (size_t i = 0; i < NHOSTILE; i++) {
    uint32_t k[3] = {froot, fr[i], fr[(i + 3) % NHOSTILE]};
    cr_assert_eq(record_writer_stack(w, k, 3, &st), 0);
    for (size_t r = 0; r <= i; r++, n++)
      cr_assert_eq(record_writer_sample(w, (uint32_t)(11 + r % 2), n * 1000000u, st, 0), 0);
  }
  cr_assert_eq(record_writer_close(w, NULL), 0);
  *nnames = NHOSTILE;
  *samples = n;
}

/* The names as the checker expects them: hex, one per line; the command line last. */
static void write_hostile_names(const char *path) {
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  for (size_t i = 0; i + 1 < NHOSTILE; i++) {
    for (size_t k = 0; k < hostile_len(i); k++)
      fprintf(f, "%02x", (unsigned char)HOSTILE[i][k]);
    fputc('\n', f);
  }
  for (size_t k = 0; long_name[k]; k++)
    fprintf(f, "%02x", (unsigned char)long_name[k]);
  fputc('\n', f);
  const char *cmd = HOSTILE[NHOSTILE - 1];
  for (size_t k = 0; cmd[k]; k++)
    fprintf(f, "%02x", (unsigned char)cmd[k]);
  fputc('\n', f);
  cr_assert_eq(fclose(f), 0);
}

Test(formats, hostile_names_stay_contained) {
  size_t nnames;
  uint64_t samples;
  build_hostile(ts_path("h.pyprof"), &nnames, &samples);
  write_hostile_names(ts_path("names.hex"));
  write_checker();
  struct profile *p = load(ts_path("h.pyprof"));
  cr_assert_eq(p->samples, samples);
  char args[1024];
  for (int threads = 0; threads <= 1; threads++) {
    char *page = render(p, "flamegraph", threads);
    ts_spit(ts_path("h.html"), page, strlen(page));
    xmllint_clean(ts_path("h.html"));
    snprintf(args, sizeof args, "hostile flamegraph %s %s %d", ts_path("h.html"),
             ts_path("names.hex"), threads);
    py(args);
    snprintf(args, sizeof args, "tree %s %lu", ts_path("h.html"), (unsigned long)samples);
    py(args);
    cr_assert_null(strstr(page, "<script>alert"));
    cr_assert_null(strstr(page, "<b>"));
    cr_assert_null(strstr(page, "\x1b"));
    free(page);
  }
  char *json = render(p, "speedscope", 0);
  ts_spit(ts_path("h.json"), json, strlen(json));
  snprintf(args, sizeof args, "hostile speedscope %s %s 1", ts_path("h.json"),
           ts_path("names.hex"));
  py(args);
  free(json);

  /* folded: one frame per ';', one count per line, nothing raw for a terminal */
  char *fold = render(p, "folded", 0);
  ts_spit(ts_path("h.folded"), fold, strlen(fold));
  snprintf(args, sizeof args, "text %s folded 3 %lu", ts_path("h.folded"), (unsigned long)samples);
  py(args);
  cr_assert(strstr(fold, "semi,colon,name"), "';' in a name becomes ','");
  free(fold);
  fold = render(p, "folded", 1);
  ts_spit(ts_path("h.folded"), fold, strlen(fold));
  snprintf(args, sizeof args, "text %s folded 4 %lu", ts_path("h.folded"), (unsigned long)samples);
  py(args);
  free(fold);
  /* top: no control character reaches the terminal */
  char *top = render(p, "top", 0);
  ts_spit(ts_path("h.top"), top, strlen(top));
  snprintf(args, sizeof args, "text %s top", ts_path("h.top"));
  py(args);
  cr_assert(strstr(top, "esc?[31mred?[0m?]0;title?"), "%.2000s", top);
  free(top);
  profile_free(p);
}

Test(formats, escapers) {
  struct textbuf b = {0};
  const char *s1 = "a\"\\\n\x01\x7f</script>\xe2\x80\xa8\xff";
  esc_json(&b, s1, strlen(s1), ESC_JSON_HTML);
  cr_assert_str_eq(b.p, "\"a\\\"\\\\\\n\\u0001\\u007f\\u003c/script\\u003e\\u2028\xef\xbf\xbd\"");
  b.len = 0;
  esc_json(&b, "<&>", 3, 0);
  cr_assert_str_eq(b.p, "\"<&>\"");
  b.len = 0;
  const char *s2 = "<a href='x'>&\"\x01\xc3";
  esc_html(&b, s2, strlen(s2));
  cr_assert_str_eq(b.p, "&lt;a href=&#39;x&#39;&gt;&amp;&quot;\xef\xbf\xbd\xef\xbf\xbd");
  b.len = 0;
  const char *s3 = "a;b\n\x1b[1m\xc2\x9b\xe2\x80\xae\xe2\x81\xa6\xf0\x9f\x90\x8d\xed\xa0\x80";
  esc_text(&b, s3, strlen(s3), ESC_TEXT_FOLDED);
  cr_assert_str_eq(b.p, "a,b??[1m???\xf0\x9f\x90\x8d\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  cr_assert_eq(b.err, 0);
  tb_free(&b);
  /* every byte string comes out as valid UTF-8 */
  unsigned char s[4];
  for (uint32_t v = 0; v < (1u << 24); v += 61) {
    s[0] = (unsigned char)v;
    s[1] = (unsigned char)(v >> 8);
    s[2] = (unsigned char)(v >> 16);
    s[3] = (unsigned char)(v * 31);
    b.len = 0;
    esc_json(&b, (const char *)s, 4, ESC_JSON_HTML);
    esc_html(&b, (const char *)s, 4);
    esc_text(&b, (const char *)s, 4, 0);
    const unsigned char *u = (const unsigned char *)b.p;
    for (size_t i = 0; i < b.len;) {
      size_t k = esc_utf8_seq(u + i, b.len - i);
      cr_assert_gt(k, 0, "invalid UTF-8 out of %02x %02x %02x %02x", s[0], s[1], s[2], s[3]);
      cr_assert(k > 1 || (u[i] >= 0x20 && u[i] != 0x7f), "control byte %02x out", u[i]);
      i += k;
    }
  }
  tb_free(&b);
}

/* A large profile: a hot path and a long tail of rare stacks. The page
 * stays small, the tail below 0.01 % is left out and the page says so. */
Test(formats, large_profile_is_pruned_and_compact) {
  const char *path = ts_path("big.pyprof");
  struct record_header_info h = {.py_major = 3, .py_minor = 12, .rate_hz = 1000, .rank = -1};
  struct record_writer *w = NULL;
  cr_assert_eq(record_writer_open(&w, path, &h), 0);
  uint32_t s[64], f[64];
  char name[32];
  for (int i = 0; i < 64; i++) {
    int n = snprintf(name, sizeof name, "func_%02d", i);
    cr_assert_eq(record_writer_string(w, name, (size_t)n, &s[i]), 0);
    cr_assert_eq(record_writer_frame(w, RECORD_FRAME_PYTHON, s[i], s[i / 8], 1, 2 + i % 5, &f[i]),
                 0);
  }
  uint64_t n = 0, t = 0;
  uint32_t st;
  /* 20000 distinct stacks 6 deep sharing prefixes: a few hot ones, 5000 with
   * 40 samples (above 0.01 % of ~257k) and 15000 with 1 (below) */
  for (uint32_t i = 0; i < 20000; i++) {
    uint32_t k[6] = {f[0], f[1 + i % 7], f[8 + (i / 7) % 8], f[16 + (i / 56) % 8],
                     f[24 + (i / 448) % 8], f[32 + (i / 3584) % 32]};
    cr_assert_eq(record_writer_stack(w, k, 6, &st), 0);
    uint32_t reps = i % 997 == 0 ? 2000 : i % 4 == 0 ? 40 : 1;
    for (uint32_t r = 0; r < reps; r++, n++, t += 1000000u)
      cr_assert_eq(record_writer_sample(w, 1, t, st, 0), 0);
  }
  cr_assert_eq(record_writer_close(w, NULL), 0);
  struct profile *p = load(path);
  char *page = render(p, "flamegraph", 0);
  size_t len = strlen(page);
  ts_spit(ts_path("big.html"), page, len);
  write_checker();
  xmllint_clean(ts_path("big.html"));
  char args[1024];
  snprintf(args, sizeof args, "tree %s %lu", ts_path("big.html"), (unsigned long)n);
  py(args);
  char *res = ts_slurp(ts_path("py-out"), NULL);
  unsigned long nodes, pruned, pruned_samples, min;
  cr_assert_eq(sscanf(res, "%lu %lu %lu %lu", &nodes, &pruned, &pruned_samples, &min), 4, "%s",
               res);
  cr_assert_eq(min, (n + 9999) / 10000);
  cr_assert_gt(pruned, 1000, "%s", res);
  cr_assert_gt(nodes, 1000, "%s", res);
  cr_assert(strstr(page, "Left out:"), "the page says what was left out");
  fprintf(stderr, "flamegraph: %lu samples, %lu nodes kept, %lu left out (%lu samples): %zu bytes\n",
          (unsigned long)n, nodes, pruned, pruned_samples, len);
  cr_assert_lt(len, 40000 + nodes * 40, "%zu bytes for %lu nodes", len, nodes);
  free(res);
  free(page);
  char *json = render(p, "speedscope", 0);
  ts_spit(ts_path("big.json"), json, strlen(json));
  char *fold = render(p, "folded", 1);
  ts_spit(ts_path("big.folded"), fold, strlen(fold));
  snprintf(args, sizeof args, "speedscope %s %s 0.001 %lu", ts_path("big.json"),
           ts_path("big.folded"), (unsigned long)n);
  py(args);
  free(json);
  free(fold);
  profile_free(p);
}

/* A full disk or a closed pipe is an error, not a silent short file. */
Test(formats, write_errors_are_reported) {
  build_fixture(ts_path("e.pyprof"));
  struct profile *p = load(ts_path("e.pyprof"));
  struct report_options o = {REPORT_SORT_OWN, 0, 0};
  FILE *f = fopen("/dev/full", "w");
  cr_assert_not_null(f);
  setvbuf(f, NULL, _IONBF, 0);
  cr_assert_eq(report_write_flamegraph(p, &o, f), PP_EIO);
  clearerr(f);
  cr_assert_eq(report_write_speedscope(p, &o, f), PP_EIO);
  fclose(f);
  profile_free(p);
}
