"""Truth suite: the default (non-stopping) mode must show what a stopped read
shows, on programs whose stacks change faster than a read takes.

Ground truth is `--blocking` (every thread stopped while read) on the same
program and interpreter. For each interpreter present:
- a generator loop: the generator's own share within +-3 points (attach,
  modes in turns on one process; +-10 between two launches, which differ
  that much by themselves), and every generator sample under its consumer;
- 2,000 asyncio tasks: the worker coroutine's share within +-5 points
  (attach; +-10 between two launches);
- a tight recursion: no impossible stack (a caller frame not at its call
  site) among the samples kept, and at most 5 % of samples failed;
- 50 attaches to that recursion: never refused as a wrong layout.
Run: python3 tests/integration/test_truth.py --pyprof build/pyprof [-v]"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import interpreters  # noqa: E402
import support  # noqa: E402
from support import folded, func, prog, run  # noqa: E402

RATE = "2k"  # ~6,000 samples per 3 s run: a share's sampling error is ~0.6 points
FAILED_RE = re.compile(r"failed samples: (\d+) \(([\d.]+)%")


def line_of(frame):
    m = re.search(r":(\d+)\)$", frame)
    return int(m.group(1)) if m else None


def source_line(path, text):
    with open(path) as f:
        for i, line in enumerate(f, 1):
            if line.strip() == text:
                return i
    raise AssertionError(f"{text!r} not in {path}")


class Base(unittest.TestCase):
    python = None
    label = None
    minor = None

    def setUp(self):
        if not interpreters.selected(self.label):
            self.skipTest(f"interpreter {self.label} not in PYPROF_TEST_ONLY")
        if not interpreters.present(self.python):
            self.skipTest(f"interpreter {self.label} not present at {self.python}")
        self.tmp = tempfile.mkdtemp(prefix="pyprof-truth-")

    def tearDown(self):
        if hasattr(self, "tmp"):
            shutil.rmtree(self.tmp, ignore_errors=True)

    def record(self, program, seconds, extra=(), name="rec.pyprof"):
        """Launch and record program; returns (path, pyprof's stderr)."""
        o = os.path.join(self.tmp, name)
        r = run([support.PYPROF, "record", "-r", RATE, "-o", o, *extra, "--", self.python,
                 prog(program), str(seconds)], timeout=300)
        self.assertEqual(r.returncode, 0, f"record failed: {r.stderr.decode()}")
        return o, r.stderr.decode()

    def counts(self, path, fn, under):
        """(own samples of fn, samples) among the samples with `under` on the
        stack (all samples when under is None)."""
        own = tot = 0
        for st, n in folded(path).items():
            names = [func(f) for f in st]
            if under is not None and under not in names:
                continue
            tot += n
            if names[-1] == fn:
                own += n
        return own, tot

    def share(self, counts, what):
        own, tot = counts
        self.assertGreater(tot, 1000, f"too few samples ({what})")
        return 100.0 * own / tot

    def agree_launch(self, program, fn, under, band):
        truth, _ = self.record(program, 3, ["--blocking"], "truth.pyprof")
        dflt, err = self.record(program, 3, [], "default.pyprof")
        t = self.share(self.counts(truth, fn, under), "--blocking")
        d = self.share(self.counts(dflt, fn, under), "default")
        self.assertAlmostEqual(d, t, delta=band,
                               msg=f"{fn}: default {d:.1f}% vs --blocking {t:.1f}%\n{err}")

    def agree_attach(self, program, fn, under, band, rounds=4, seconds=1.5):
        """One target process, recorded in turns with --blocking and with the
        default mode: both see the same process, so only the modes differ."""
        p = subprocess.Popen([self.python, prog(program), "600", "ready"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(lambda: (p.kill(), p.communicate()))
        self.assertEqual(p.stdout.readline().strip(), b"ready")
        acc = {True: [0, 0], False: [0, 0]}
        errs = []
        for i in range(rounds):
            blocking = i % 2 == 0
            o = os.path.join(self.tmp, f"r{i}.pyprof")
            r = run([support.PYPROF, "record", "-r", RATE, "-o", o, "-d", str(seconds),
                     *(["--blocking"] if blocking else []), "-p", str(p.pid)], timeout=300)
            self.assertEqual(r.returncode, 0, f"record -p failed: {r.stderr.decode()}")
            if not blocking:
                errs.append(r.stderr.decode())
            own, tot = self.counts(o, fn, under)
            acc[blocking][0] += own
            acc[blocking][1] += tot
        self.assertIsNone(p.poll(), "the target must survive")
        t, d = self.share(acc[True], "--blocking"), self.share(acc[False], "default")
        self.assertAlmostEqual(d, t, delta=band,
                               msg=f"{fn}: default {d:.1f}% vs --blocking {t:.1f}%\n{errs[-1]}")

    # Separate launches of a program differ among themselves even when both
    # are read stopped (seen: 45.7-52.1 % for the generator over 6 launches
    # of a release build, 7 points between two launches of a debug build on
    # a loaded machine), so launch mode is held to a band that covers that --
    # still far inside the 25 points the old default mode was off by -- and
    # to structure: every generator sample has its consumer beneath it.
    # Attach mode compares the modes on one process, to 3 points.
    def test_generator_launch(self):
        self.agree_launch("truth_gen.py", "squares", "main", 10.0)
        dflt = os.path.join(self.tmp, "default.pyprof")
        alone = under = 0
        for st, n in folded(dflt).items():
            names = [func(f) for f in st]
            if names[-1] == "squares":
                if "main" in names:
                    under += n
                else:
                    alone += n
        self.assertGreater(under, 500)
        # the old default mode kept 14 % (3.11) to 40 % (3.12) of them alone;
        # seen once since, under CI's load: 1.4 %
        self.assertLessEqual(alone, under // 20, f"{alone} generator samples without their consumer")

    def test_generator_attach(self):
        self.agree_attach("truth_gen.py", "squares", "main", 3.0)

    def test_asyncio_launch(self):
        # As for the generator: a band that covers launch-to-launch spread;
        # attach mode below holds the modes to 5 points on one process.
        self.agree_launch("truth_async.py", "worker", None, 10.0)

    def test_asyncio_attach(self):
        self.agree_attach("truth_async.py", "worker", None, 5.0)

    def test_recursion_no_impossible_stack(self):
        src = prog("truth_recurse.py")
        call = {"recurse": source_line(src, "recurse(x - 1)"), "run": source_line(src, "recurse(20)")}
        o, err = self.record("truth_recurse.py", 3)
        m = FAILED_RE.search(err)
        self.assertIsNotNone(m, err)
        self.assertLessEqual(float(m.group(2)), 5.0, f"too many failed samples\n{err}")
        bad, total = {}, 0
        for st, n in folded(o).items():
            total += n
            callers = [f for f in st[:-1] if func(f) in call]
            if any(line_of(f) != call[func(f)] for f in callers):
                bad[";".join(st)] = n
        self.assertGreater(total, 500)  # a debug build under load: ~500 samples/s
        self.assertEqual(sum(bad.values()), 0,
                         f"impossible stacks ({sum(bad.values())} of {total}): "
                         f"{sorted(bad.items(), key=lambda kv: -kv[1])[:3]}")

    def test_no_false_layout_refusal(self):
        """50 short attaches to the churning recursion: tearing must never
        be taken for a layout that does not fit."""
        p = subprocess.Popen([self.python, prog("truth_recurse.py"), "300", "ready"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(lambda: (p.kill(), p.communicate()))
        self.assertEqual(p.stdout.readline().strip(), b"ready")
        o = os.path.join(self.tmp, "a.pyprof")
        for i in range(50):
            r = run([support.PYPROF, "record", "-q", "-r", "1k", "-d", "0.05", "-o", o,
                     "-p", str(p.pid)])
            self.assertEqual(r.returncode, 0, f"attach {i + 1}: {r.stderr.decode()}")
        self.assertIsNone(p.poll(), "the target must survive 50 attaches")


class StoppedReads(unittest.TestCase):
    """The default mode stops threads of a churning program nearly every
    sample: whatever happens to pyprof, the target must be left running."""
    python = "/usr/bin/python3.11"

    def state(self, pid):
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]

    def cpu_ticks(self, pid):
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime

    def test_kill9_during_stopped_reads_leaves_target_running(self):
        p = subprocess.Popen([self.python, prog("truth_recurse.py"), "120", "ready"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(lambda: (p.kill(), p.communicate()))
        self.assertEqual(p.stdout.readline().strip(), b"ready")
        o = os.path.join(tempfile.mkdtemp(prefix="pyprof-k9-"), "k.pyprof")
        self.addCleanup(shutil.rmtree, os.path.dirname(o), True)
        for i in range(10):
            rec = subprocess.Popen([support.PYPROF, "record", "-q", "-r", "2k", "-o", o, "-p",
                                    str(p.pid)], stderr=subprocess.PIPE)
            time.sleep(0.3 + 0.037 * i)  # different phases of the tick
            rec.kill()
            rec.wait()
            rec.stderr.close()
            time.sleep(0.05)
            self.assertIn(self.state(p.pid), ("R", "S"), f"target left stopped after kill -9 #{i + 1}")
            t0 = self.cpu_ticks(p.pid)
            time.sleep(0.3)
            self.assertGreater(self.cpu_ticks(p.pid), t0, f"target not running after kill -9 #{i + 1}")
        # and the record of the last one reads back
        r = run([support.PYPROF, "report", "-q", o])
        self.assertEqual(r.returncode, 0, r.stderr.decode())


def _classes():
    for label, path, major, minor in interpreters.candidates():
        name = f"Truth_{label}"
        globals()[name] = type(name, (Base,), {"python": path, "label": label, "minor": minor})


_classes()
del Base  # only the per-interpreter subclasses run

if __name__ == "__main__":
    support.main()
