"""Faults while recording: the target dies, execs, forks, churns threads; the
output hits a file size limit or a full disk. Each must end with a clear
message, a documented exit status and a readable record file.

Run: python3 tests/integration/test_faults.py --pyprof build/pyprof [-v]"""
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import interpreters  # noqa: E402
import support  # noqa: E402
from support import leaf_counts, prog, run  # noqa: E402









def report_counts(test, path, expect_cut=None):
    """Sample count per leaf function of a record; asserts report succeeds."""
    stacks, r = support.folded_raw(path)
    if expect_cut is not None:
        test.assertEqual(b"cut short" in r.stderr, expect_cut, r.stderr.decode())
    return leaf_counts(stacks)


class Faults(unittest.TestCase):
    python = "/usr/bin/python3.11"

    def setUp(self):
        if not interpreters.present(self.python):
            self.skipTest(f"{self.python} not present")
        self.tmp = tempfile.mkdtemp(prefix="pyprof-faults-")
        self.o = os.path.join(self.tmp, "rec.pyprof")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def spawn(self, *args, python=None):
        p = subprocess.Popen([python or self.python, *args], stdout=subprocess.PIPE)

        def cleanup():
            p.kill()
            p.wait()
            p.stdout.close()
        self.addCleanup(cleanup)
        self.assertEqual(p.stdout.readline().strip(), b"ready")
        return p

    def test_target_killed_with_sigkill(self):
        t = self.spawn(prog("split.py"), "30")
        rec = subprocess.Popen([support.PYPROF, "record", "-r", "500", "-o", self.o, "-p", str(t.pid)],
                               stderr=subprocess.PIPE)
        time.sleep(1.5)
        t.kill()
        _, err = rec.communicate(timeout=30)
        self.assertEqual(rec.returncode, 0, err.decode())
        self.assertIn(b"target exited", err)
        leaves = report_counts(self, self.o, expect_cut=False)
        self.assertGreater(leaves.get("heavy", 0), 100)

    def test_target_execs(self):
        # Debian's python is not PIE: after exec, _PyRuntime is at the same
        # address and sampling just goes on. A libpython build lands at a new
        # address: pyprof must find the new interpreter.
        pythons = [self.python] + [p for p in interpreters.candidates_paths("pyenv_3_13", "pyenv_3_11")
                                   if interpreters.present(p)][:1]
        for py in pythons:
            t = self.spawn(prog("execer.py"), "2", python=py)
            r = run([support.PYPROF, "record", "-r", "500", "-o", self.o, "-p", str(t.pid), "-d", "30"])
            self.assertEqual(r.returncode, 0, r.stderr.decode())
            self.assertIn(b"target exited", r.stderr)
            if "libpython" in run(["ldd", py]).stdout.decode():
                self.assertIn(b"found the new interpreter", r.stderr)
            leaves = report_counts(self, self.o)
            self.assertGreater(leaves.get("before_exec", 0), 100, f"{py}: {leaves}")
            self.assertGreater(leaves.get("heavy", 0) + leaves.get("light", 0), 200, f"{py}: {leaves}")

    def test_target_forks_and_execs_children(self):
        t = self.spawn(prog("forker.py"), "3")
        r = run([support.PYPROF, "record", "-r", "500", "-o", self.o, "-p", str(t.pid), "-d", "30"])
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertIn(b"target exited", r.stderr)
        leaves = report_counts(self, self.o)
        self.assertGreater(leaves.get("compute", 0), 200, leaves)
        out = t.stdout.read()
        self.assertRegex(out.decode(), r"children \d+")

    def test_thread_churn(self):
        t = self.spawn(prog("churn.py"), "3")
        r = run([support.PYPROF, "record", "-r", "1k", "-o", self.o, "-p", str(t.pid), "-d", "30"])
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        rate = int(t.stdout.read().decode().split()[-1])
        self.assertGreater(rate, 1000, "the program did not churn > 1000 threads/s")
        leaves = report_counts(self, self.o)
        self.assertGreater(sum(leaves.values()), 500, leaves)
        sys.stderr.write(f"\n  churn: {rate} threads/s; {r.stderr.decode().splitlines()[-3]}\n")

    def _fill(self, preexec=None, out=None):
        t = self.spawn(prog("varied.py"), "20")
        # --blocking: every sample is read whole, so the file grows steadily.
        r = run([support.PYPROF, "record", "--blocking", "-r", "2k", "-o", out or self.o, "-p",
                 str(t.pid), "-d", "15"],
                preexec_fn=preexec)
        self.assertIsNone(t.poll(), "the target must survive pyprof's write failure")
        return r

    def test_file_size_limit(self):
        def limit():
            resource.setrlimit(resource.RLIMIT_FSIZE, (48 * 1024, 48 * 1024))
        r = self._fill(preexec=limit)
        self.assertEqual(r.returncode, 1, r.stderr.decode())
        self.assertIn(b"output file size limit exceeded", r.stderr)
        self.assertLessEqual(os.path.getsize(self.o), 48 * 1024)
        leaves = report_counts(self, self.o, expect_cut=True)
        self.assertGreater(sum(leaves.values()), 50)

    def test_disk_full(self):
        if os.geteuid() != 0 or not shutil.which("mount"):
            self.skipTest("needs root to mount a small tmpfs")
        mnt = os.path.join(self.tmp, "small")
        os.mkdir(mnt)
        m = run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt])
        if m.returncode != 0:
            self.skipTest(f"cannot mount tmpfs here: {m.stderr.decode().strip()}")
        self.addCleanup(lambda: run(["umount", "-l", mnt]))
        out = os.path.join(mnt, "rec.pyprof")
        r = self._fill(out=out)
        self.assertEqual(r.returncode, 1, r.stderr.decode())
        self.assertIn(b"no space left", r.stderr)
        keep = os.path.join(self.tmp, "copy.pyprof")
        shutil.copy(out, keep)
        leaves = report_counts(self, keep, expect_cut=True)
        self.assertGreater(sum(leaves.values()), 50)

    def test_sigint_launch_mode(self):
        rec = subprocess.Popen([support.PYPROF, "record", "-q", "-o", self.o, "--", self.python,
                                prog("split.py"), "30"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(rec.stdout.readline().strip(), b"ready")
        time.sleep(1.0)
        rec.send_signal(signal.SIGINT)   # as `kill -INT`: forwarded to the program
        _, err = rec.communicate(timeout=30)
        self.assertEqual(rec.returncode, 128 + signal.SIGINT, err.decode())
        leaves = report_counts(self, self.o, expect_cut=False)
        self.assertGreater(leaves.get("heavy", 0), 20)





if __name__ == "__main__":
    support.main()
