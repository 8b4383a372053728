"""Integration tests: pyprof records real CPython processes with known ground
truth, in launch and attach mode, on every interpreter present.

Run: python3 tests/integration/test_integration.py --pyprof build/pyprof [-v]
Each interpreter is its own TestCase class (e.g. Py_debian_3_11); a missing
interpreter's tests are skipped with the reason."""
import json
import os
import pwd
import re
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
from support import folded, func, leaf_counts, prog, run  # noqa: E402


def frame_line(frame):
    m = re.search(r":(\d+)\)$", frame)
    return int(m.group(1)) if m else None


def on_stack_counts(stacks):
    out = {}
    for st, n in stacks.items():
        for f in {func(x) for x in st}:
            out[f] = out.get(f, 0) + n
    return out


class Base(unittest.TestCase):
    python = None
    label = None
    minor = None

    def setUp(self):
        if not interpreters.selected(self.label):
            self.skipTest(f"interpreter {self.label} not in PYPROF_TEST_ONLY")
        if not interpreters.present(self.python):
            self.skipTest(f"interpreter {self.label} not present at {self.python}")
        self.tmp = tempfile.mkdtemp(prefix="pyprof-it-")

    def tearDown(self):
        if hasattr(self, "tmp"):
            shutil.rmtree(self.tmp, ignore_errors=True)

    def out(self, name="rec.pyprof"):
        return os.path.join(self.tmp, name)

    def record_launch(self, args, extra=(), timeout=120):
        o = self.out()
        r = run([support.PYPROF, "record", "-q", "-o", o, *extra, "--", self.python, *args], timeout=timeout)
        self.assertEqual(r.returncode, 0, f"record failed: {r.stderr.decode()}")
        return o

    def record_attach(self, args, duration, extra=()):
        o = self.out()
        p = subprocess.Popen([self.python, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            self.assertEqual(p.stdout.readline().strip(), b"ready")
            r = run([support.PYPROF, "record", "-q", "-o", o, "-d", str(duration), *extra,
                     "-p", str(p.pid)])
            self.assertEqual(r.returncode, 0, f"record -p failed: {r.stderr.decode()}")
        finally:
            p.kill()
            p.communicate()
        return o

    def assert_split(self, path):
        leaves = leaf_counts(folded(path))
        heavy, light = leaves.get("heavy", 0), leaves.get("light", 0)
        self.assertGreater(heavy + light, 1000, f"too few samples: {leaves}")
        share = 100.0 * heavy / (heavy + light)
        self.assertAlmostEqual(share, 75.0, delta=5.0,
                               msg=f"heavy share {share:.1f}% (heavy {heavy}, light {light})")

    def test_split_launch(self):
        self.assert_split(self.record_launch([prog("split.py"), "3"], ["-r", "1k"]))

    def test_split_attach(self):
        self.assert_split(self.record_attach([prog("split.py"), "10"], 3, ["-r", "1k"]))

    def test_threads(self):
        o = self.record_launch([prog("threads.py"), "3"], ["-r", "200"])
        on = on_stack_counts(folded(o))
        a, b = on.get("busy_a", 0), on.get("busy_b", 0)
        self.assertGreater(a + b, 100, f"too few busy samples: {on}")
        self.assertAlmostEqual(100.0 * a / (a + b), 50.0, delta=12.0, msg=f"uneven busy threads: {on}")
        # The sleeper runs only for the instant between its start and its one
        # sleep() call: at most a sample or two may land there.
        self.assertLessEqual(on.get("sleeper", 0), 2, f"idle thread sampled without --idle: {on}")
        o = self.record_launch([prog("threads.py"), "2"], ["-r", "200", "--idle"])
        on = on_stack_counts(folded(o))
        self.assertGreater(on.get("sleeper", 0), 50, f"--idle did not keep the sleeper: {on}")

    def test_thread_lines(self):
        """Lines of code running in threads other than the main one: on a
        free-threaded build each thread runs its own copy of the bytecode,
        whose instruction pointer is not inside the code object."""
        o = self.record_launch([prog("threads.py"), "2", "gil"], ["-r", "500"])
        good = bad = 0
        badlines = {}
        for st, n in folded(o).items():
            names = [func(f) for f in st]
            if not names or names[-1] != "spin" or len(names) < 2:
                continue
            want_caller = {"busy_a": 30, "busy_b": 34}.get(names[-2])
            if frame_line(st[-1]) in (20, 21, 22, 23) and frame_line(st[-2]) == want_caller:
                good += n
            else:
                bad += n
                key = (frame_line(st[-2]), frame_line(st[-1]))
                badlines[key] = badlines.get(key, 0) + n
        self.assertGreater(good + bad, 300, "too few samples in spin()")
        self.assertLessEqual(bad, 0.02 * (good + bad),
                             f"samples at lines outside spin's loop or its call: {badlines}")

    def test_thread_names(self):
        """The Python-level names (threading.Thread(name=...), a renamed main
        thread), whole, in every output that names threads; not the OS name
        (python3.X for every thread before 3.14, 15 bytes of it after)."""
        want = {"Driver", "numerics-worker-0 \u00fcn\u00efc\u00f8de \u8a08\u7b97",
                "numerics-worker-1 \u00fcn\u00efc\u00f8de \u8a08\u7b97"}
        for mode in ("launch", "attach"):
            if mode == "launch":
                o = self.record_launch([prog("thread_names.py"), "2"], ["-r", "200"])
            else:
                o = self.record_attach([prog("thread_names.py"), "6"], 2, ["-r", "200"])
            r = run([support.PYPROF, "report", "-f", "folded", "--threads", o])
            self.assertEqual(r.returncode, 0, r.stderr.decode())
            roots = {}
            for line in r.stdout.decode().splitlines():
                root = line.split(";", 1)[0]
                name = re.sub(r" \(tid \d+\)$", "", root)
                roots[name] = roots.get(name, 0) + int(line.rsplit(" ", 1)[1])
            self.assertEqual(set(roots), want, f"{mode}: thread names {roots}")
            self.assertTrue(all(n > 20 for n in roots.values()), f"{mode}: {roots}")
            sp = os.path.join(self.tmp, "t.json")
            r = run([support.PYPROF, "report", "-f", "speedscope", "-o", sp, o])
            self.assertEqual(r.returncode, 0, r.stderr.decode())
            with open(sp, encoding="utf-8") as f:
                names = {re.sub(r" \(tid \d+\)$", "", p["name"]) for p in json.load(f)["profiles"]}
            self.assertEqual(names, want, f"{mode}: speedscope profiles")
            fg = os.path.join(self.tmp, "t.html")
            r = run([support.PYPROF, "report", "-f", "flamegraph", "--threads", "-o", fg, o])
            self.assertEqual(r.returncode, 0, r.stderr.decode())
            with open(fg, encoding="utf-8") as f:
                page = f.read()
            for n in want:
                self.assertIn(json.dumps(n, ensure_ascii=False)[1:-1].split(" ")[0], page)

    def test_deep_recursion(self):
        o = self.record_launch([prog("deep.py"), "700", "2"])
        stacks = folded(o)
        deepest = max((sum(1 for f in st if func(f) == "rec") for st in stacks), default=0)
        self.assertEqual(deepest, 700, "700-deep recursion not captured whole")
        whole = [st for st in stacks if func(st[-1]) == "bottom" and sum(1 for f in st if func(f) == "rec") == 700]
        self.assertTrue(whole, "no sample with the whole stack down to bottom()")
        self.assertEqual(func(whole[0][0]), "<module>")

    def test_short_program(self):
        o = self.record_launch([prog("short.py")], ["-r", "1k"])
        total = sum(folded(o).values())
        self.assertGreater(total, 20, "a 0.3 s program gave (almost) no samples")
        r = run([support.PYPROF, "report", o])
        self.assertEqual(r.returncode, 0, r.stderr.decode())

    def test_names_decode(self):
        o = self.record_launch([prog("names.py"), "1.5"], ["-r", "300"])
        names = set(leaf_counts(folded(o)))
        for n in ("café", "計算", "𠀀"):
            self.assertIn(n, names, f"{n!r} not among {names}")
        top = run([support.PYPROF, "report", "-f", "top", o]).stdout.decode("utf-8")
        for n in ("café", "計算", "𠀀"):
            self.assertIn(n, top)
        ps = self.out("n.prof")
        r = run([support.PYPROF, "report", "-f", "pstats", "-o", ps, o])
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        code = ("import pstats,sys; s=pstats.Stats(sys.argv[1]); "
                "print('\\n'.join(k[2] for k in s.stats))")
        r = run([self.python, "-c", code, ps])
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        got = set(r.stdout.decode("utf-8").split("\n"))
        for n in ("café", "計算", "𠀀"):
            self.assertIn(n, got)

    def test_hot_line(self):
        with open(prog("hotline.py")) as f:
            src = f.read().splitlines()
        hot = next(i + 1 for i, l in enumerate(src) if "# HOT_LINE" in l)
        o = self.record_launch([prog("hotline.py"), "2"], ["-r", "300"])
        lines = {}
        for st, n in folded(o).items():
            if func(st[-1]) == "kernel":
                lines[frame_line(st[-1])] = lines.get(frame_line(st[-1]), 0) + n
        self.assertTrue(lines, "no samples in kernel()")
        best = max(lines, key=lines.get)
        self.assertEqual(best, hot, f"hottest line {best}, expected {hot}: {lines}")

    def test_pstats_ranking(self):
        o = self.record_launch([prog("split.py"), "2"], ["-r", "300"])
        ps = self.out("split.prof")
        r = run([support.PYPROF, "report", "-f", "pstats", "-o", ps, o])
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        code = ("import pstats,sys,io\n"
                "s=pstats.Stats(sys.argv[1], stream=io.StringIO())\n"
                "tt=sorted(s.stats.items(), key=lambda kv: -kv[1][2])\n"
                "ct=sorted(s.stats.items(), key=lambda kv: -kv[1][3])\n"
                "print(tt[0][0][2], tt[1][0][2], ct[0][0][2])\n"
                "s.sort_stats('cumulative').print_stats()\n")
        r = run([self.python, "-c", code, ps])
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        first, second, cum = r.stdout.decode().split()[:3]
        self.assertEqual((first, second), ("heavy", "light"))
        self.assertIn(cum, ("<module>", "main"))
        # -m pstats, the command-line browser, must load it too.
        r = run([self.python, "-m", "pstats", ps], input=b"sort tottime\nstats 3\nquit\n")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertIn(b"heavy", r.stdout)


    def test_consistent_stacks_under_churn(self):
        """Stacks that change every microsecond (chains.py): a torn read
        that slipped through the checks would mix chain A and chain B or
        skip a level. Before the second-copy check (stack_plan_agrees) about
        10 % of the samples kept here were such mixtures on 3.11+ (measured
        at 5 kHz on a quiet 2-core VM); with it about 0.5 %."""
        o = self.record_launch([prog("chains.py"), "2"], ["-r", "5k"])
        good, bad = 0, {}
        for st, n in folded(o).items():
            names = [func(f) for f in st]
            if names[:2] != ["<module>", "main"]:
                continue
            chain = names[2:]
            ok = all(re.fullmatch(r"[ab]\d+", c) for c in chain) and all(
                c[0] == chain[0][0] and int(c[1:]) == i for i, c in enumerate(chain))
            if ok:
                good += n
            else:
                bad[";".join(chain)] = bad.get(";".join(chain), 0) + n
        total = good + sum(bad.values())
        # The default mode reads this program stopped nearly always; a
        # sanitizer build then gets ~400 samples here.
        self.assertGreater(total, 300, "too few samples in main()")
        self.assertGreater(good, 0)
        self.assertLess(100.0 * sum(bad.values()) / total, 2.0,
                        f"inconsistent stacks: {sorted(bad.items(), key=lambda kv: -kv[1])[:5]}")

    def test_gil_only(self):
        if interpreters.free_threaded(self.label):
            # No GIL: --gil says so and keeps every thread, both busy threads
            # run at once.
            o = self.out()
            r = run([support.PYPROF, "record", "-o", o, "-r", "200", "--gil", "--", self.python,
                     prog("threads.py"), "2", "gil"])
            self.assertEqual(r.returncode, 0, r.stderr.decode())
            self.assertIn("free-threaded build: it has no GIL", r.stderr.decode())
            on = on_stack_counts(folded(o))
            self.assertGreater(on.get("busy_a", 0), 100, f"{on}")
            self.assertGreater(on.get("busy_b", 0), 100, f"{on}")
            top = run([support.PYPROF, "report", o]).stdout.decode()
            self.assertNotIn("GIL: the sampled thread held", top)
            return
        o = self.record_launch([prog("threads.py"), "2", "gil"], ["-r", "200", "--idle", "--gil"])
        on = on_stack_counts(folded(o))
        total = sum(folded(o).values())
        self.assertGreater(total, 100, f"too few samples: {on}")
        # It holds the GIL only in the instant between its start and sleep().
        self.assertLessEqual(on.get("sleeper", 0), 2, f"a sleeping thread held the GIL: {on}")
        busy = on.get("busy_a", 0) + on.get("busy_b", 0)
        self.assertGreater(busy / total, 0.9, f"--gil kept non-holders: {on}")
        top = run([support.PYPROF, "report", o]).stdout.decode()
        self.assertIn("only samples of the thread holding the GIL were recorded", top)
        # Without --gil every sample says whether its thread held the GIL: with
        # four threads sampled per tick (--idle) and one GIL, at most a quarter
        # of the samples can be the holder's.
        o = self.record_launch([prog("threads.py"), "2", "gil"], ["-r", "200", "--idle"])
        m = re.search(r"GIL: the sampled thread held the GIL in ([0-9.]+)% of samples",
                      run([support.PYPROF, "report", o]).stdout.decode())
        self.assertIsNotNone(m, "top table does not give the GIL share")
        self.assertGreater(float(m.group(1)), 12.0)
        self.assertLessEqual(float(m.group(1)), 30.0)  # start-up: fewer threads, briefly

    def test_launch_wrappers(self):
        launchers = [["env", self.python]]
        if not self.label.startswith("chroot_"):
            # A venv made inside a chroot links to the chroot's python by its
            # inside path: outside, that link leads nowhere.
            venv = os.path.join(self.tmp, "venv")
            r = run([self.python, "-m", "venv", "--without-pip", venv])
            self.assertEqual(r.returncode, 0, r.stderr.decode())
            launchers.append([os.path.join(venv, "bin", "python")])
        script = os.path.join(self.tmp, "run.sh")
        with open(script, "w") as f:
            f.write(f'#!/bin/sh\nexec "{self.python}" "$@"\n')
        os.chmod(script, 0o755)
        launchers.append([script])
        for launcher in launchers:
            o = self.out("w.pyprof")
            r = run([support.PYPROF, "record", "-q", "-o", o, "--", *launcher, prog("split.py"), "1"])
            self.assertEqual(r.returncode, 0, f"{launcher}: {r.stderr.decode()}")
            leaves = leaf_counts(folded(o))
            self.assertGreater(leaves.get("heavy", 0) + leaves.get("light", 0), 50,
                               f"{launcher}: {leaves}")


def _make_cases():
    for label, path, major, minor in interpreters.candidates():
        name = f"Py_{label}"
        globals()[name] = type(name, (Base,), {"python": path, "label": label, "minor": minor})


_make_cases()
del Base  # only the per-interpreter subclasses run


class Embedded(unittest.TestCase):
    """A C program linking libpython3.15.so (Debian's libpython3.15-dev, in the
    sid chroot of tools/provision-chroot.sh), built here, profiles like
    python3.15: launched through chroot(8) and attached to."""

    def setUp(self):
        root = interpreters.CHROOT
        if not os.path.isfile(os.path.join(root, "usr/bin/x86_64-linux-gnu-python3.15-config")):
            self.skipTest(f"no sid chroot with libpython3.15-dev at {root}")
        if not interpreters.selected("chroot_3_15"):
            self.skipTest("chroot_3_15 not in PYPROF_TEST_ONLY")
        self.root = root
        self.tmp = tempfile.mkdtemp(prefix="pyprof-embed-")  # /tmp: the same path inside
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.exe = os.path.join(self.tmp, "embed")
        flags = run(["chroot", root, "x86_64-linux-gnu-python3.15-config", "--cflags", "--ldflags", "--embed"])
        self.assertEqual(flags.returncode, 0, flags.stderr.decode())
        r = run(["chroot", root, "gcc", "-o", self.exe, prog("embed.c"), *flags.stdout.decode().split()])
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.o = os.path.join(self.tmp, "e.pyprof")

    def check(self, o):
        leaves = leaf_counts(folded(o))
        heavy, light = leaves.get("heavy", 0), leaves.get("light", 0)
        self.assertGreater(heavy + light, 500, leaves)
        self.assertAlmostEqual(100.0 * heavy / (heavy + light), 75.0, delta=5.0, msg=str(leaves))
        r = run([support.PYPROF, "report", o])
        self.assertIn(b"python 3.15", r.stdout.lower())

    def test_launch(self):
        r = run([support.PYPROF, "record", "-q", "-r", "1k", "-o", self.o, "--", "chroot", self.root,
                 self.exe, prog("split.py"), "3"])
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.check(self.o)

    def test_attach(self):
        p = subprocess.Popen(["chroot", self.root, self.exe, prog("split.py"), "10"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(lambda: (p.kill(), p.communicate()))
        self.assertEqual(p.stdout.readline().strip(), b"ready")
        r = run([support.PYPROF, "record", "-q", "-r", "1k", "-d", "3", "-o", self.o, "-p", str(p.pid)])
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.check(self.o)

    def test_pie_and_non_pie(self):
        """What the 3.15 runs cover: Debian's python3.15 and python3.15d are
        non-PIE executables (ELF type EXEC, the runtime at a fixed address;
        their tests are Py_chroot_3_15*), this embedding program is a PIE
        (type DYN) whose runtime is in libpython3.15.so. Both must profile."""
        def elf_type(path):
            with open(path, "rb") as f:
                head = f.read(18)
            self.assertEqual(head[:4], b"\x7fELF", path)
            return int.from_bytes(head[16:18], "little")  # e_type: 2 EXEC, 3 DYN
        self.assertEqual(elf_type(os.path.join(self.root, "usr/bin/python3.15")), 2)
        self.assertEqual(elf_type(os.path.join(self.root, "usr/bin/python3.15d")), 2)
        self.assertEqual(elf_type(self.exe), 3)
        for exe in (os.path.join("/usr/bin/python3.15"), self.exe):
            o = os.path.join(self.tmp, "pie.pyprof")
            r = run([support.PYPROF, "record", "-q", "-r", "1k", "-o", o, "--", "chroot", self.root,
                     exe, prog("split.py"), "2"])
            self.assertEqual(r.returncode, 0, f"{exe}: {r.stderr.decode()}")
            leaves = leaf_counts(folded(o))
            self.assertGreater(leaves.get("heavy", 0) + leaves.get("light", 0), 300, f"{exe}: {leaves}")


class Lifecycle(unittest.TestCase):
    """Signals, exits and errors: on Debian's python3.11 (always present)."""
    python = "/usr/bin/python3.11"

    def setUp(self):
        if not interpreters.present(self.python):
            self.skipTest(f"{self.python} not present")
        self.tmp = tempfile.mkdtemp(prefix="pyprof-it-")
        self.o = os.path.join(self.tmp, "rec.pyprof")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def report_ok(self, path):
        r = run([support.PYPROF, "report", "-f", "folded", path])
        self.assertEqual(r.returncode, 0, f"report failed: {r.stderr.decode()}")
        return sum(int(l.rsplit(" ", 1)[1]) for l in r.stdout.decode().splitlines() if l.strip()), r

    def start_target(self, seconds="30"):
        p = subprocess.Popen([self.python, prog("split.py"), seconds], stdout=subprocess.PIPE)
        self.assertEqual(p.stdout.readline().strip(), b"ready")
        self.addCleanup(lambda: (p.kill(), p.communicate()))
        return p

    def test_sigint_attach_leaves_valid_file(self):
        t = self.start_target()
        rec = subprocess.Popen([support.PYPROF, "record", "-q", "-o", self.o, "-p", str(t.pid)],
                               stderr=subprocess.PIPE)
        time.sleep(1.5)
        rec.send_signal(signal.SIGINT)
        _, err = rec.communicate(timeout=30)
        self.assertEqual(rec.returncode, 0, err.decode())
        n, r = self.report_ok(self.o)
        self.assertGreater(n, 50)
        self.assertNotIn(b"truncated", r.stderr.lower())
        self.assertIsNone(t.poll(), "the target must keep running after pyprof stops")

    def test_kill9_leaves_readable_file(self):
        t = self.start_target()
        rec = subprocess.Popen([support.PYPROF, "record", "-q", "-o", self.o, "-p", str(t.pid)])
        time.sleep(1.5)
        rec.kill()
        rec.wait()
        n, r = self.report_ok(self.o)
        self.assertGreater(n, 50, "kill -9 lost the samples taken before it")
        self.assertIn(b"cut short", r.stderr.lower())
        self.assertIsNone(t.poll())

    def test_sigterm_launch_forwards_and_keeps_file(self):
        rec = subprocess.Popen([support.PYPROF, "record", "-q", "-o", self.o, "--", self.python,
                                prog("split.py"), "30"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(rec.stdout.readline().strip(), b"ready")
        time.sleep(1.0)
        rec.send_signal(signal.SIGTERM)
        _, err = rec.communicate(timeout=30)
        self.assertEqual(rec.returncode, 128 + signal.SIGTERM, err.decode())
        n, _ = self.report_ok(self.o)
        self.assertGreater(n, 30)

    def test_exit_status_passthrough(self):
        r = run([support.PYPROF, "record", "-q", "-o", self.o, "--", self.python, "-c",
                 "import sys; sys.exit(7)"])
        self.assertEqual(r.returncode, 7, r.stderr.decode())
        self.report_ok(self.o)

    def test_target_exits_during_recording(self):
        p = subprocess.Popen([self.python, prog("split.py"), "1"], stdout=subprocess.PIPE)
        self.assertEqual(p.stdout.readline().strip(), b"ready")
        r = run([support.PYPROF, "record", "-o", self.o, "-d", "30", "-p", str(p.pid)])
        p.communicate()
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertIn(b"target exited", r.stderr)
        n, _ = self.report_ok(self.o)
        self.assertGreater(n, 10)

    def test_summary_reports_failed_share(self):
        r = run([support.PYPROF, "record", "-o", self.o, "--", self.python, prog("split.py"), "1"])
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertRegex(r.stderr.decode(), r"failed samples: \d+ \(\d+\.\d+%")
        self.assertRegex(r.stderr.decode(), r"\d+ samples from 1 threads")

    def test_blocking_mode(self):
        t = self.start_target()
        r = run([support.PYPROF, "record", "-q", "--blocking", "-o", self.o, "-d", "1.5", "-p", str(t.pid)])
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        n, _ = self.report_ok(self.o)
        self.assertGreater(n, 50)
        self.assertIsNone(t.poll(), "target must survive --blocking")

    # --- errors ---------------------------------------------------------------
    def test_no_such_pid(self):
        r = run([support.PYPROF, "record", "-p", "999999999"])
        self.assertNotEqual(r.returncode, 0)
        r = run([support.PYPROF, "record", "-p", "4000000"])
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"no process with PID 4000000", r.stderr)

    def test_not_python(self):
        p = subprocess.Popen(["sleep", "30"])
        self.addCleanup(lambda: (p.kill(), p.wait()))
        time.sleep(0.2)
        r = run([support.PYPROF, "record", "-p", str(p.pid), "-o", self.o])
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"not a Python process", r.stderr)

    def test_launch_not_python(self):
        r = run([support.PYPROF, "record", "-o", self.o, "--", "true"])
        self.assertEqual(r.returncode, 0)  # true's own status
        self.assertIn(b"exited before a Python interpreter was found", r.stderr)
        r = run([support.PYPROF, "record", "-o", self.o, "--", "/nonexistent/prog"])
        self.assertEqual(r.returncode, 127)
        self.assertIn(b"cannot run", r.stderr)

    def test_permission_denied(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to run pyprof as another user")
        nobody = pwd.getpwnam("nobody")
        t = self.start_target()
        exe = os.path.abspath(support.PYPROF)
        # nobody must be able to reach the binary: copy it somewhere world-readable.
        os.chmod(self.tmp, 0o755)
        exe2 = os.path.join(self.tmp, "pyprof")
        shutil.copy(exe, exe2)
        os.chmod(exe2, 0o755)

        def demote():
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)

        r = run([exe2, "record", "-p", str(t.pid), "-o", "/tmp/never.pyprof"], preexec_fn=demote)
        self.assertEqual(r.returncode, 1, r.stderr.decode())
        err = r.stderr.decode()
        self.assertIn("permission denied", err)
        self.assertIn("same user", err)
        self.assertIn("CAP_SYS_PTRACE", err)

    def test_unsupported_version(self):
        old = [p for p in (os.path.expanduser(f"~/.pyenv/versions/{v}/bin/python3.{v.split('.')[1]}")
                           for v in ("3.7.16", "3.6.15")) if interpreters.present(p)]
        if not old:
            self.skipTest("no CPython < 3.8 here")
        p = subprocess.Popen([old[0], "-c", "import time; print('ready', flush=True); time.sleep(30)"],
                             stdout=subprocess.PIPE)
        self.addCleanup(lambda: (p.kill(), p.communicate()))
        p.stdout.readline()
        r = run([support.PYPROF, "record", "-p", str(p.pid), "-o", self.o])
        self.assertEqual(r.returncode, 1)
        err = r.stderr.decode()
        self.assertIn("unsupported Python", err)
        self.assertRegex(err, r"Python 3\.[67]\.\d+")
        self.assertIn("3.8-3.15", err)

    def test_wrong_layout_is_refused(self):
        # Forcing 3.10's table onto a 3.11 interpreter must end in a clear
        # error, not in a profile of garbage.
        r = run([support.PYPROF, "record", "--python-version", "3.10", "-o", self.o, "--", self.python,
                 prog("split.py"), "3"])
        self.assertEqual(r.returncode, 1, r.stderr.decode())
        self.assertIn(b"the layout forced with --python-version 3.10 does not fit", r.stderr)
        self.assertIn(b"drop --python-version", r.stderr)
        # and the launched program is said to run on unprofiled, at once
        self.assertIn(b"runs on unprofiled", r.stderr)

    def test_usage_errors(self):
        for args in (["record"], ["record", "-r", "fast", "-p", "1"], ["record", "-p", "x"],
                     ["record", "-p", "1", "--", "python3"], ["nosuchcommand"]):
            r = run([support.PYPROF, *args])
            self.assertEqual(r.returncode, 2, f"{args}: {r.returncode} {r.stderr.decode()}")
            self.assertTrue(r.stderr, args)

    def test_help(self):
        for args in (["--help"], ["record", "--help"], ["report", "--help"]):
            r = run([support.PYPROF, *args])
            self.assertEqual(r.returncode, 0, args)
            self.assertIn(b"example", r.stdout.lower(), args)

    def test_report_bad_files(self):
        empty = os.path.join(self.tmp, "empty.pyprof")
        open(empty, "wb").close()
        junk = os.path.join(self.tmp, "junk.pyprof")
        with open(junk, "wb") as f:
            f.write(b"#!/bin/sh\necho not a record\n" * 10)
        for path, words in ((os.path.join(self.tmp, "missing.pyprof"), b"no such file"),
                            (empty, b"empty"), (junk, b"not a pyprof record")):
            r = run([support.PYPROF, "report", path])
            self.assertNotEqual(r.returncode, 0, path)
            self.assertGreater(r.returncode, 0, f"crashed on {path}")
            self.assertIn(words, r.stderr.lower(), f"{path}: {r.stderr.decode()}")
        # A real record cut in half still reports, with a warning.
        r = run([support.PYPROF, "record", "-q", "-o", self.o, "--", self.python, prog("split.py"), "1"])
        self.assertEqual(r.returncode, 0)
        with open(self.o, "rb") as f:
            data = f.read()
        cut = os.path.join(self.tmp, "cut.pyprof")
        with open(cut, "wb") as f:
            f.write(data[: len(data) // 2])
        r = run([support.PYPROF, "report", cut])
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertIn(b"warning", r.stderr.lower())


if __name__ == "__main__":
    support.main()
