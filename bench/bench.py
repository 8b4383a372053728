#!/usr/bin/env python3
"""pyprof benchmark: profiler cost, sustained rate, target slowdown, record
size and report throughput. Python 3 stdlib only; run through bench/run.sh.

Every figure is a median over repeats with its min-max; comparisons (slowdown,
pyprof/austin) are ratios of runs interleaved in the same invocation. Every
process started here (targets, pyprof, austin) is killed in a finally block;
targets also arm SIGALRM so none can outlive the bench.
"""
import argparse
import datetime
import json
import os
import platform
import re
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
HOME = os.path.expanduser("~")

PYTHONS = [
    ("3.11", "/usr/bin/python3.11"),
    ("3.13", os.path.join(HOME, ".pyenv/versions/3.13.0/bin/python3.13")),
]

# Targets from the issue: (key, description, comparison, limit, unit).
TARGETS = {
    "cpu_per_sample": "profiler CPU per sample, 50 deep / 1 thread <= 3 us",
    "max_rate": "sustained rate with < 1% failed >= 200 kHz",
    "slowdown_1k": "target CPU slowdown at 1 kHz <= 0.5%",
    "bytes_per_sample": "record bytes per sample, repeated stacks <= 4",
    "report_rate": "report throughput >= 10 M samples/s",
}

# ---------------------------------------------------------------- targets ---

TARGET_SRC = r'''
import os, signal, sys, threading, time

def spin_target(depth, nthreads):
    # Every thread recurses so that its sampled stack is exactly `depth`
    # frames (<module>, spin_target + rec... on the main thread; threading's _bootstrap,
    # _bootstrap_inner, run + rec... on the others), then spins on one line.
    reached = [0]
    lock = threading.Lock()

    def rec(n, main):
        if n > 1:
            return rec(n - 1, main)
        if not main:
            with lock:
                reached[0] += 1
        x = 0
        announced = not main
        while True:
            for _ in range(200000): x += 1
            if not announced and reached[0] >= nthreads - 1:
                print("ready", flush=True)
                announced = True

    for _ in range(nthreads - 1):
        threading.Thread(target=rec, args=(depth - 3, False), daemon=True).start()
    rec(depth - 2, True)  # <module> + spin_target + rec...

def work_target(depth, iters):
    # Fixed CPU-bound work at `depth`: waits for "go" on stdin, runs `iters`
    # loop iterations calling a small function (stacks alternate between
    # depth and depth+1), prints its own wall and CPU time, exits.
    def f(i):
        return i * 3 + 1

    def rec(n):
        if n > 1:
            return rec(n - 1)
        print("ready", flush=True)
        sys.stdin.readline()
        t0, c0 = time.perf_counter(), time.process_time()
        acc = 0
        for i in range(iters):
            acc += f(i)
        t1, c1 = time.perf_counter(), time.process_time()
        print("done %.6f %.6f %d" % (t1 - t0, c1 - c0, acc & 1), flush=True)

    rec(depth - 2)  # <module> + work_target + rec...

if __name__ == "__main__":
    mode, a, b, lifetime = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    signal.alarm(max(1, int(lifetime + 0.999)))  # never outlive the bench
    sys.setrecursionlimit(a + 200)
    if mode == "spin":
        spin_target(a, b)
    else:
        work_target(a, b)
'''

LIVE = []  # Popen objects to kill on the way out


def track(p):
    LIVE.append(p)
    return p


def kill_all():
    for p in LIVE:
        if p.returncode is None:
            try:
                p.kill()
            except OSError:
                pass
            try:
                os.waitpid(p.pid, 0)
            except OSError:
                pass
            p.returncode = -9
    LIVE.clear()


def reap(p, timeout, probe=None):
    """os.wait4 the child (its rusage) with a timeout; kill it if late.
    probe() is called while it runs. Returns (status, rusage, late)."""
    end = time.monotonic() + timeout
    late = False
    while True:
        if probe:
            probe()
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid == p.pid:
            p.returncode = os.waitstatus_to_exitcode(status)
            return status, ru, late
        if time.monotonic() > end and not late:
            late = True
            p.kill()
            end = time.monotonic() + 5
        elif late and time.monotonic() > end:
            raise RuntimeError("pid %d does not die" % p.pid)
        time.sleep(0.005)


def cpu(ru):
    return ru.ru_utime + ru.ru_stime


def read_line(p, timeout, stream=None):
    """One line from p.stdout (or stream) within timeout, else None."""
    f = stream or p.stdout
    r, _, _ = select.select([f], [], [], timeout)
    if not r:
        return None
    return f.readline()


def start_target(py, tmp, mode, a, b, lifetime):
    p = track(subprocess.Popen([py, os.path.join(tmp, "target.py"), mode, str(a), str(b),
                                str(lifetime)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True, bufsize=1))
    line = read_line(p, 30)
    if not line or line.strip() != "ready":
        p.kill()
        raise RuntimeError("target %s %s %s %s did not start: %r" % (py, mode, a, b, line))
    return p


def stop(p):
    if p.returncode is None:
        p.kill()
        try:
            os.waitpid(p.pid, 0)
        except OSError:
            pass
        p.returncode = -9
    if p in LIVE:
        LIVE.remove(p)


# --------------------------------------------------------------- pyprof ---

SUMMARY_RE = re.compile(r"after ([\d.]+) s: (\d+) samples from (\d+) threads, (\d+) ticks at "
                        r"([\d.]+) Hz \(asked (\d+) Hz\)")
FAILED_RE = re.compile(r"failed samples: (\d+) \(([\d.]+)%: (\d+) torn, (\d+) unreadable, "
                       r"(\d+) other\)")
STOPPED_RE = re.compile(r"([\d.]+)% of samples were read with the thread stopped \((\d+) running")
HELD_RE = re.compile(r"threads were held stopped ([\d.]+) ms in all \(at most\), ([\d.]+)% of the")


def parse_summary(text):
    m = SUMMARY_RE.search(text)
    if not m:
        return None
    d = {"duration_s": float(m.group(1)), "samples": int(m.group(2)),
         "threads": int(m.group(3)), "ticks": int(m.group(4)), "tick_hz": float(m.group(5)),
         "asked_hz": int(m.group(6))}
    m = FAILED_RE.search(text)
    if m:
        d.update(failed=int(m.group(1)), failed_pct=float(m.group(2)), torn=int(m.group(3)),
                 unreadable=int(m.group(4)), other=int(m.group(5)))
    m = STOPPED_RE.search(text)
    d.update(stopped_pct=float(m.group(1)) if m else 0.0, fallbacks=int(m.group(2)) if m else 0)
    m = HELD_RE.search(text)
    d.update(held_ms=float(m.group(1)) if m else 0.0, held_pct=float(m.group(2)) if m else 0.0)
    return d


def folded_sum(pyprof, path):
    """(total samples, sorted distinct stack depths) from `pyprof report -f folded`."""
    out = subprocess.run([pyprof, "report", "-q", "-f", "folded", path], capture_output=True,
                         text=True, timeout=120)
    if out.returncode != 0:
        return None, None
    tot, depths = 0, set()
    for line in out.stdout.splitlines():
        stack, _, n = line.rpartition(" ")
        if n.isdigit():
            tot += int(n)
            depths.add(stack.count(";") + 1)
    return tot, sorted(depths)


def record_attach(pyprof, pid, rate, dur, out, tmp):
    """Run `pyprof record -p` to completion; returns a dict with its rusage and
    parsed summary."""
    errf = os.path.join(tmp, "pyprof.err")
    with open(errf, "w") as ef:
        t0 = time.monotonic()
        p = track(subprocess.Popen([pyprof, "record", "-p", str(pid), "-d", str(dur), "-r",
                                    str(rate), "-o", out], stdout=subprocess.DEVNULL, stderr=ef))
        sched = [0, 0]

        def probe():
            # /proc/PID/schedstat: on-CPU ns, runqueue-wait ns, timeslices.
            # The last value read before exit tells how long pyprof was
            # runnable but waiting for a CPU (the machine's load).
            try:
                with open("/proc/%d/schedstat" % p.pid) as f:
                    v = f.read().split()
                sched[0], sched[1] = int(v[0]), int(v[1])
            except (OSError, ValueError, IndexError):
                pass
        try:
            status, ru, late = reap(p, dur + 60, probe)
        finally:
            stop(p)
        wall = time.monotonic() - t0
    err = open(errf).read()
    s = parse_summary(err)
    res = {"rc": p.returncode, "cpu_s": cpu(ru), "user_s": ru.ru_utime, "sys_s": ru.ru_stime,
           "wall_s": wall, "maxrss_kb": ru.ru_maxrss, "late_kill": late,
           "runq_wait_pct": 100.0 * sched[1] / 1e9 / wall if wall > 0 else None,
           "bytes": os.path.getsize(out) if os.path.exists(out) else 0}
    if s is None or p.returncode != 0:
        res["error"] = err.strip()[-500:] or "exit %s" % p.returncode
        return res
    res.update(s)
    return res


def startup_cost(pyprof, pid, tmp, reps):
    """CPU of an attach that takes one sample (-d 0.001 -r 1): symbol lookup,
    layout, first read, file header and exit; subtracted for 'steady' figures."""
    vals = []
    for _ in range(reps):
        r = record_attach(pyprof, pid, 1, 0.001, os.path.join(tmp, "startup.pyprof"), tmp)
        if "error" not in r:
            vals.append(r["cpu_s"])
    return vals


# ------------------------------------------------------------------ stats ---

def stat(vals):
    vals = [v for v in vals if v is not None]
    if not vals:
        return None
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "n": len(vals)}


def fmt(st, scale=1.0, nd=2, unit=""):
    if not st:
        return "n/a"
    return "%.*f%s [%.*f–%.*f]" % (nd, st["median"] * scale, unit, nd, st["min"] * scale, nd,
                                   st["max"] * scale)


def verdict(ok):
    return "PASS" if ok else "MISS"


class Out:
    def __init__(self):
        self.lines = []

    def __call__(self, s=""):
        print(s, flush=True)
        self.lines.append(s)

    def table(self, header, rows):
        cols = [header] + rows
        w = [max(len(str(r[i])) for r in cols) for i in range(len(header))]
        self("  " + "  ".join(str(h).ljust(w[i]) for i, h in enumerate(header)).rstrip())
        self("  " + "  ".join("-" * w[i] for i in range(len(header))))
        for r in rows:
            self("  " + "  ".join(str(c).ljust(w[i]) for i, c in enumerate(r)).rstrip())


# --------------------------------------------------------------- machine ---

def machine_info(pyprof):
    model = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    def git(*a):
        try:
            return subprocess.run(["git", "-C", REPO] + list(a), capture_output=True, text=True,
                                  timeout=10).stdout.strip()
        except Exception:
            return ""
    commit = git("rev-parse", "--short=12", "HEAD")
    dirty = git("status", "--porcelain", "--untracked-files=no")
    mem = ""
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = "%.1f GiB" % (int(line.split()[1]) / 1048576)
    except OSError:
        pass
    vers = {}
    for name, py in PYTHONS:
        try:
            vers[name] = subprocess.run([py, "-c", "import sys;print(sys.version.split()[0])"],
                                        capture_output=True, text=True, timeout=10).stdout.strip()
        except OSError:
            vers[name] = None
    return {"cpu": model, "cores": os.cpu_count(), "kernel": platform.release(), "memory": mem,
            "commit": commit + ("-dirty" if dirty else ""), "loadavg": os.getloadavg(),
            "pythons": vers, "pyprof": pyprof,
            "date": datetime.datetime.now().isoformat(timespec="seconds")}


# ------------------------------------------------------------- sections ---

def sec_floor(cfg, out, res, tmp):
    """What a tick costs in system calls on this machine: per-call CPU from
    pyprof-bench-syscost, calls per tick from strace -c (when installed)."""
    out("== 0. machine floor: CPU per system call (pyprof-bench-syscost vs a live 3.11 target) ==")
    pyname, py = cfg.pythons[0]
    vals = {}
    tgt = start_target(py, tmp, "spin", 50, 1, 60 + cfg.reps * 5)
    counts = {}
    try:
        time.sleep(0.3)
        for _ in range(max(1, cfg.reps_floor)):
            p = track(subprocess.Popen([cfg.syscost, str(tgt.pid), str(cfg.floor_scale)],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
            try:
                o, e = p.communicate(timeout=120)
            finally:
                stop(p)
            for line in o.splitlines():
                k, _, v = line.partition("=")
                vals.setdefault(k, []).append(float(v))
        strace = shutil.which("strace")
        if strace:
            for rate in cfg.rates:
                sf = os.path.join(tmp, "strace.txt")
                errf = os.path.join(tmp, "strace.err")
                with open(errf, "w") as ef:
                    p = track(subprocess.Popen(
                        [strace, "-c", "-o", sf, cfg.pyprof, "record", "-p", str(tgt.pid), "-d",
                         "1", "-r", str(rate), "-o", os.path.join(tmp, "s.pyprof")],
                        stdout=subprocess.DEVNULL, stderr=ef))
                    try:
                        reap(p, 60)
                    finally:
                        stop(p)
                s = parse_summary(open(errf).read())
                calls = {}
                if os.path.exists(sf):
                    for line in open(sf):
                        f = line.split()
                        if len(f) >= 5 and f[0][0].isdigit() and f[-1] != "total":
                            try:
                                calls[f[-1]] = int(f[3])
                            except ValueError:
                                pass
                if s and s["ticks"]:
                    counts[rate] = {k: v / s["ticks"] for k, v in calls.items()}
    finally:
        stop(tgt)
    st = {k: stat(v) for k, v in vals.items()}
    res["floor"] = {"syscost_us": st, "calls_per_tick": counts}
    rows = []
    names = [("readv64", "process_vm_readv 64 B"), ("readv4k", "process_vm_readv 4 KiB"),
             ("proc_stat", "pread /proc/PID/task/TID/stat"), ("clock_gettime", "clock_gettime"),
             ("sleep_past", "clock_nanosleep to a past deadline"),
             ("sleep100us", "clock_nanosleep 100 us (sleep+wake)"),
             ("sleep1ms", "clock_nanosleep 1 ms (sleep+wake)")]
    for k, lbl in names:
        if k in st:
            wall = st.get(k + "_wall")
            rows.append([lbl, fmt(st[k], nd=2), fmt(wall, nd=0) if wall else ""])
    out.table(["call", "CPU us/call", "wall us/call"], rows)
    for rate, c in sorted(counts.items()):
        main = sorted(((v, k) for k, v in c.items() if v >= 0.05), reverse=True)
        est = 0.0
        for v, k in main:
            if k == "process_vm_readv":
                est += v * st["readv64"]["median"]
            elif k in ("pread64", "read"):
                est += v * st["proc_stat"]["median"]
            elif k == "clock_nanosleep":
                est += v * st["sleep1ms" if rate <= 1000 else "sleep100us"]["median"]
        out("   syscalls per tick (strace -c, %s, 50 deep, 1 thread, %gk): %s  => floor ~%.1f us "
            "CPU/tick" % (pyname, rate / 1000, ", ".join("%s %.2f" % (k, v) for v, k in main),
                          est))
        counts[rate]["_floor_us"] = est
    if not counts:
        out("   (strace not installed: syscalls per tick not counted)")


def sec_cpu(cfg, out, res, tmp):
    """1 + 4: profiler CPU per sample and bytes per sample."""
    out("== 1. profiler CPU per sample (attach, user+sys of pyprof / samples written) ==")
    out("   %d repeats x %.1f s per cell; 'steady' subtracts the median CPU of a one-sample "
        "attach (startup)" % (cfg.reps, cfg.dur))
    rows, data = [], []
    startups = {}
    for pyname, py in cfg.pythons:
        for depth in (10, 50, 500):
            for nth in (1, 8):
                life = cfg.reps * (len(cfg.rates) * (cfg.dur + 1.0) + 1.0) + 20
                tgt = start_target(py, tmp, "spin", depth, nth, life)
                try:
                    time.sleep(0.3)
                    if pyname not in startups:
                        startups[pyname] = stat(startup_cost(cfg.pyprof, tgt.pid, tmp,
                                                             max(3, cfg.reps)))
                    runs = {r: [] for r in cfg.rates}
                    for rep in range(cfg.reps):
                        for rate in cfg.rates:
                            f = os.path.join(tmp, "c.pyprof")
                            r = record_attach(cfg.pyprof, tgt.pid, rate, cfg.dur, f, tmp)
                            if rep == 0 and "error" not in r:
                                r["folded_samples"], r["folded_depth"] = folded_sum(cfg.pyprof, f)
                            runs[rate].append(r)
                finally:
                    stop(tgt)
                for rate in cfg.rates:
                    rs = runs[rate]
                    ok = [r for r in rs if "error" not in r]
                    errs = [r["error"] for r in rs if "error" in r]
                    su = startups[pyname]["median"] if startups[pyname] else 0.0
                    cell = {
                        "python": pyname, "depth": depth, "threads": nth, "rate": rate,
                        "cpu_us_per_sample": stat([r["cpu_s"] / r["samples"] * 1e6
                                                   for r in ok if r["samples"]]),
                        "steady_us_per_sample": stat([(r["cpu_s"] - su) / r["samples"] * 1e6
                                                      for r in ok if r["samples"]]),
                        "cpu_us_per_tick": stat([r["cpu_s"] / r["ticks"] * 1e6
                                                 for r in ok if r["ticks"]]),
                        "samples_per_tick": stat([r["samples"] / r["ticks"]
                                                  for r in ok if r["ticks"]]),
                        "tick_hz": stat([r["tick_hz"] for r in ok]),
                        "failed_pct": stat([r.get("failed_pct") for r in ok]),
                        "cpu_util": stat([r["cpu_s"] / r["duration_s"] for r in ok
                                          if r["duration_s"]]),
                        "runq_wait_pct": stat([r.get("runq_wait_pct") for r in ok]),
                        "bytes_per_sample": stat([r["bytes"] / r["samples"]
                                                  for r in ok if r["samples"]]),
                        "errors": errs,
                        "check": [{"summary_samples": r["samples"],
                                   "folded_samples": r.get("folded_samples"),
                                   "folded_depth": r.get("folded_depth")}
                                  for r in ok if "folded_samples" in r],
                        "runs": rs,
                    }
                    data.append(cell)
                    chk = cell["check"][0] if cell["check"] else {}
                    note = ""
                    if chk and chk["folded_samples"] != chk["summary_samples"]:
                        note += " folded=%s!=summary" % chk["folded_samples"]
                    if chk and chk["folded_depth"] != [depth]:
                        note += " depth=%s" % chk["folded_depth"]
                    if errs:
                        note += " %d errors" % len(errs)
                    mark = ""
                    if depth == 50 and nth == 1 and cell["cpu_us_per_sample"]:
                        mark = verdict(cell["cpu_us_per_sample"]["median"] <= 3.0)
                    rows.append([pyname, depth, nth, "%gk" % (rate / 1000),
                                 fmt(cell["cpu_us_per_sample"], nd=1),
                                 fmt(cell["steady_us_per_sample"], nd=1),
                                 fmt(cell["cpu_us_per_tick"], nd=1),
                                 fmt(cell["samples_per_tick"], nd=2),
                                 fmt(cell["tick_hz"], scale=1e-3, nd=2),
                                 fmt(cell["failed_pct"], nd=2),
                                 fmt(cell["cpu_util"], scale=100, nd=0),
                                 fmt(cell["runq_wait_pct"], nd=0),
                                 mark + note])
    out.table(["py", "depth", "thr", "asked", "CPU us/sample", "steady us/sample",
               "CPU us/tick", "samples/tick", "achieved kHz", "failed %", "pyprof CPU %",
               "runq wait %", ""], rows)
    out("   runq wait % = share of pyprof's wall time spent runnable but waiting for a CPU "
        "(/proc/PID/schedstat): the machine's load, which costs achieved rate")
    for pyname, st in startups.items():
        out("   startup (one-sample attach) CPU, %s: %s ms" % (pyname, fmt(st, 1e3, 1)))
    out("   8 threads: all spin on the GIL; threads waiting for it are off CPU (state S) and "
        "skipped, so samples/tick ~ running threads.")
    res["cpu_per_sample"] = {"cells": data, "startup_cpu_s": startups}

    # 4. bytes per sample, from the same runs.
    out()
    out("== 4. record size (file bytes / samples written, same runs as 1, 50 deep) ==")
    rows, bdata = [], []
    for c in data:
        if c["depth"] != 50:
            continue
        mark = ""
        if c["threads"] == 1 and c["bytes_per_sample"]:
            mark = verdict(c["bytes_per_sample"]["median"] <= 4.0)
        rows.append([c["python"], c["threads"], "%gk" % (c["rate"] / 1000),
                     fmt(c["bytes_per_sample"], nd=2), mark])
        bdata.append({k: c[k] for k in ("python", "threads", "rate", "bytes_per_sample")})
    out.table(["py", "threads", "asked", "bytes/sample", ""], rows)
    out("   (includes header, string/frame/stack tables and chunk framing of a %.1f s record)"
        % cfg.dur)
    res["bytes_per_sample"] = bdata


def sec_rate(cfg, out, res, tmp):
    out("== 2. highest sustained rate (50 deep, 1 thread; %d x %.1f s per rate) =="
        % (cfg.reps_rate, cfg.dur_rate))
    rows, data = [], []
    best = {}
    for pyname, py in cfg.pythons:
        life = cfg.reps_rate * len(cfg.max_rates) * (cfg.dur_rate + 1.0) + 20
        tgt = start_target(py, tmp, "spin", 50, 1, life)
        runs = {r: [] for r in cfg.max_rates}
        try:
            time.sleep(0.3)
            for rep in range(cfg.reps_rate):
                for rate in cfg.max_rates:
                    runs[rate].append(record_attach(cfg.pyprof, tgt.pid, rate, cfg.dur_rate,
                                                    os.path.join(tmp, "r.pyprof"), tmp))
        finally:
            stop(tgt)
        best[pyname] = None
        for rate in cfg.max_rates:
            ok = [r for r in runs[rate] if "error" not in r]
            cell = {"python": pyname, "asked": rate,
                    "achieved_hz": stat([r["tick_hz"] for r in ok]),
                    "failed_pct": stat([r.get("failed_pct") for r in ok]),
                    "cpu_util": stat([r["cpu_s"] / r["duration_s"] for r in ok
                                      if r["duration_s"]]),
                    "cpu_us_per_sample": stat([r["cpu_s"] / r["samples"] * 1e6
                                               for r in ok if r["samples"]]),
                    "ceiling_khz": stat([r["ticks"] / r["cpu_s"] / 1e3 for r in ok
                                         if r["cpu_s"]]),
                    "runq_wait_pct": stat([r.get("runq_wait_pct") for r in ok]),
                    "errors": [r["error"] for r in runs[rate] if "error" in r],
                    "runs": runs[rate]}
            sustained = (cell["achieved_hz"] and cell["failed_pct"] is not None
                         and cell["achieved_hz"]["median"] >= 0.9 * rate
                         and cell["failed_pct"]["median"] < 1.0)
            cell["sustained"] = bool(sustained)
            if sustained:
                best[pyname] = rate
            data.append(cell)
            rows.append([pyname, "%gk" % (rate / 1000), fmt(cell["achieved_hz"], 1e-3, 2),
                         "%.0f%%" % (100 * cell["achieved_hz"]["median"] / rate)
                         if cell["achieved_hz"] else "n/a",
                         fmt(cell["failed_pct"], nd=2), fmt(cell["cpu_util"], 100, 0),
                         fmt(cell["runq_wait_pct"], nd=0),
                         fmt(cell["cpu_us_per_sample"], nd=1),
                         fmt(cell["ceiling_khz"], nd=1),
                         "yes" if sustained else "no",
                         ("%d errors" % len(cell["errors"])) if cell["errors"] else ""])
    out.table(["py", "asked", "achieved kHz", "of asked", "failed %", "pyprof CPU %",
               "runq wait %", "CPU us/sample", "1-core ceiling kHz", "sustained", ""], rows)
    out("   1-core ceiling = ticks / pyprof CPU seconds: the tick rate one fully available core "
        "would give at this cost per tick.")
    for pyname in best:
        b = best[pyname]
        out("   highest sustained (achieved >= 90%% of asked, failed < 1%%), %s: %s  %s"
            % (pyname, "%g kHz" % (b / 1000) if b else "none",
               verdict(b is not None and b >= 200000)))
    res["max_rate"] = {"cells": data, "highest_sustained_hz": best}


def run_work(cfg, py, tmp, iters, rate, tool):
    """One fixed-work target run, optionally with a profiler attached before the
    work starts. Returns target CPU (rusage), work wall/CPU, profiler stats."""
    tgt = start_target(py, tmp, "work", 50, iters, cfg.work_s * 6 + 30)
    prof = None
    res = {"rate": rate, "tool": tool}
    try:
        if rate:
            of = os.path.join(tmp, "w.prof")
            if tool == "wake":
                cmd = [cfg.syscost, "--wake", str(rate), str(int(cfg.work_s * 6 + 20))]
            elif tool in ("pyprof", "pyprof-blocking"):
                cmd = [cfg.pyprof, "record", "-p", str(tgt.pid), "-d", str(cfg.work_s * 6 + 20),
                       "-r", str(rate), "-o", of]
                if tool == "pyprof-blocking":
                    cmd.append("--blocking")
            else:
                cmd = austin_cmd(cfg, tgt.pid, rate, int(cfg.work_s * 6 + 20), of)
            prof = track(subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.PIPE, text=True))
            if tool.startswith("pyprof"):
                # Sampling starts right after this line.
                seen = []
                while True:
                    line = read_line(prof, 30, prof.stderr)
                    if not line:
                        raise RuntimeError("pyprof did not start: %r" % "".join(seen))
                    seen.append(line)
                    if "recording PID" in line:
                        break
            time.sleep(0.15)  # austin prints nothing at start; pyprof: settle
        tgt.stdin.write("go\n")
        tgt.stdin.flush()
        status, ru, late = reap(tgt, cfg.work_s * 6 + 30)
        done = tgt.stdout.readline().split()
        res.update(target_cpu_s=cpu(ru), late_kill=late)
        if len(done) >= 3 and done[0] == "done":
            res.update(work_wall_s=float(done[1]), work_cpu_s=float(done[2]))
        if prof:
            if tool == "wake":
                prof.kill()
            st, pru, plate = reap(prof, 30)
            err = prof.stderr.read()
            res.update(prof_cpu_s=cpu(pru), prof_rc=prof.returncode)
            if tool.startswith("pyprof"):
                s = parse_summary(err)
                if s:
                    res.update(samples=s["samples"], failed_pct=s.get("failed_pct"),
                               tick_hz=s["tick_hz"], torn=s.get("torn"),
                               unreadable=s.get("unreadable"), other=s.get("other"),
                               stopped_pct=s.get("stopped_pct"))
                else:
                    res["error"] = err.strip()[-300:]
            elif tool == "austin":
                res.update(austin_output_stats(of))
    finally:
        if prof:
            stop(prof)
        stop(tgt)
    return res


def calibrate(cfg, py, tmp):
    iters = 1000000
    r = run_work(cfg, py, tmp, iters, 0, None)
    per = r["work_cpu_s"] / iters
    return max(100000, int(cfg.work_s / per))


def sec_slowdown(cfg, out, res, tmp, austin):
    pyname, py = cfg.pythons[0]
    iters = calibrate(cfg, py, tmp)
    conds = [("none", 0, None)] + [("pyprof %s" % lbl, r, "pyprof") for lbl, r in
                                   (("100", 100), ("1k", 1000), ("10k", 10000))]
    # --blocking: each sample stops the thread with ptrace (seize, interrupt,
    # detach) -- what an exact snapshot costs the target.
    conds += [("blocking 100", 100, "pyprof-blocking"), ("blocking 1k", 1000, "pyprof-blocking")]
    if cfg.syscost:
        conds += [("wakeups 10k", 10000, "wake")]
    if austin:
        conds += [("austin 1k", 1000, "austin"), ("austin 10k", 10000, "austin")]
    out("== 3. target slowdown (Python %s, 50 deep fixed work: %d iterations, ~%.1f s alone; "
        "%d interleaved rounds) ==" % (pyname, iters, cfg.work_s, cfg.rounds))
    runs = {c[0]: [] for c in conds}
    for rnd in range(cfg.rounds):
        order = conds if rnd % 2 == 0 else [conds[0]] + conds[:0:-1]
        for name, rate, tool in order:
            runs[name].append(run_work(cfg, py, tmp, iters, rate, tool))
    base_cpu = stat([r.get("target_cpu_s") for r in runs["none"]])
    base_wall = stat([r.get("work_wall_s") for r in runs["none"]])
    rows, data = [], []
    for name, rate, tool in conds:
        rs = runs[name]
        tc = stat([r.get("target_cpu_s") for r in rs])
        ww = stat([r.get("work_wall_s") for r in rs])
        # Per-round ratio against the same round's baseline, then median.
        ratios_cpu = [r.get("target_cpu_s") / b.get("target_cpu_s") - 1
                      for r, b in zip(rs, runs["none"]) if r.get("target_cpu_s")]
        ratios_wall = [r.get("work_wall_s") / b.get("work_wall_s") - 1
                       for r, b in zip(rs, runs["none"])
                       if r.get("work_wall_s") and b.get("work_wall_s")]
        cell = {"condition": name, "rate": rate, "tool": tool, "target_cpu_s": tc,
                "work_wall_s": ww,
                "cpu_slowdown_pct": (tc["median"] / base_cpu["median"] - 1) * 100
                if tc and base_cpu else None,
                "wall_slowdown_pct": (ww["median"] / base_wall["median"] - 1) * 100
                if ww and base_wall else None,
                "paired_cpu_slowdown_pct": stat([x * 100 for x in ratios_cpu]),
                "paired_wall_slowdown_pct": stat([x * 100 for x in ratios_wall]),
                "profiler_cpu_s": stat([r.get("prof_cpu_s") for r in rs]),
                "samples": stat([r.get("samples") for r in rs]),
                "failed_pct": stat([r.get("failed_pct") for r in rs]),
                "errors": [r["error"] for r in rs if "error" in r],
                "runs": rs}
        data.append(cell)
        mark = ""
        if name == "pyprof 1k" and cell["cpu_slowdown_pct"] is not None:
            mark = verdict(cell["cpu_slowdown_pct"] <= 0.5)
        rows.append([name, fmt(tc, nd=3), "%+.2f%%" % cell["cpu_slowdown_pct"]
                     if cell["cpu_slowdown_pct"] is not None else "",
                     fmt(cell["paired_cpu_slowdown_pct"], nd=2),
                     fmt(ww, nd=3), "%+.2f%%" % cell["wall_slowdown_pct"]
                     if cell["wall_slowdown_pct"] is not None else "",
                     fmt(cell["profiler_cpu_s"], nd=3) if tool else "",
                     fmt(cell["failed_pct"], nd=2) if tool and tool.startswith("pyprof") else "", mark])
    out.table(["condition", "target CPU s", "CPU slowdown", "paired [min–max] %",
               "work wall s", "wall slowdown", "profiler CPU s", "failed %", ""], rows)
    out("   slowdown = median(with) / median(none) - 1; 'paired' = per-round ratio to that "
        "round's baseline (noise band).")
    if base_cpu:
        out("   baseline target CPU spread (max-min)/median: %.2f%%; wall times follow the "
            "machine's load, not only the profiler" % ((base_cpu["max"] - base_cpu["min"])
                                                        / base_cpu["median"] * 100))
    if cfg.syscost:
        out("   'wakeups 10k' = a process that only wakes 10000 times/s (no reads): the part of "
            "the slowdown due to wakeups alone")
    res["slowdown"] = {"python": pyname, "iterations": iters, "cells": data}
    return data


def report_formats(pyprof):
    h = subprocess.run([pyprof, "report", "--help"], capture_output=True, text=True).stdout
    fmts, inside = [], False
    for line in h.splitlines():
        if re.match(r"\s*-f, --format", line):
            inside = True
            continue
        if inside:
            m = re.match(r"\s{10,}(\w+)\s{2,}", line)
            if m:
                fmts.append(m.group(1))
            elif re.match(r"\s*-", line) or not line.strip():
                break
    return fmts or ["top", "folded", "pstats"]


def sec_report(cfg, out, res, tmp):
    fmts = report_formats(cfg.pyprof)
    rec = os.path.join(tmp, "gen.pyprof")
    g = subprocess.run([cfg.gen, rec, str(cfg.gen_samples), "8"], capture_output=True, text=True,
                       timeout=600)
    if g.returncode != 0:
        out("== 5. report: generator failed: %s" % g.stderr.strip())
        return
    n, stacks, frames, funcs, nbytes, gen_s = g.stdout.split()
    n, nbytes = int(n), int(nbytes)
    out("== 5. report throughput (generated record: %.1f M samples, 8 threads, %s functions, "
        "%s frames, %s distinct stacks 10-60 deep, %.1f MB; %d repeats) =="
        % (n / 1e6, funcs, frames, stacks, nbytes / 1e6, cfg.reps_report))
    out("   formats from `pyprof report --help`: %s" % ", ".join(fmts))
    runs = {f: [] for f in fmts}
    for rep in range(cfg.reps_report):
        for f in fmts:
            o = os.path.join(tmp, "rep.%s" % f)
            cmd = [cfg.pyprof, "report", "-f", f, "-o", o, rec]
            t0 = time.monotonic()
            p = track(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                       text=True))
            try:
                status, ru, late = reap(p, 300)
                err = p.stderr.read()
            finally:
                stop(p)
            wall = time.monotonic() - t0
            r = {"wall_s": wall, "cpu_s": cpu(ru), "maxrss_kb": ru.ru_maxrss, "rc": p.returncode,
                 "out_bytes": os.path.getsize(o) if os.path.exists(o) else 0}
            if p.returncode != 0:
                r["error"] = err.strip()[-300:]
            runs[f].append(r)
            if os.path.exists(o):
                os.unlink(o)
    rows, data = [], []
    for f in fmts:
        ok = [r for r in runs[f] if "error" not in r]
        cell = {"format": f, "wall_s": stat([r["wall_s"] for r in ok]),
                "msamples_per_s": stat([n / r["wall_s"] / 1e6 for r in ok]),
                "maxrss_mb": stat([r["maxrss_kb"] / 1024 for r in ok]),
                "errors": [r["error"] for r in runs[f] if "error" in r], "runs": runs[f]}
        data.append(cell)
        mark = verdict(cell["msamples_per_s"]["median"] >= 10) if cell["msamples_per_s"] else ""
        rows.append([f, fmt(cell["wall_s"], nd=3), fmt(cell["msamples_per_s"], nd=1),
                     fmt(cell["maxrss_mb"], nd=1), mark,
                     ("errors: %s" % cell["errors"][0][:80]) if cell["errors"] else ""])
    out.table(["format", "wall s", "M samples/s", "peak RSS MB", "", ""], rows)
    out("   generator: %.2f s to write (%.2f bytes/sample with 0-50 us jitter, 8 threads)"
        % (float(gen_s), nbytes / n))
    res["report"] = {"samples": n, "distinct_stacks": int(stacks), "bytes": nbytes,
                     "cells": data}
    os.unlink(rec)


# ----------------------------------------------------------------- austin ---

def austin_help(path):
    try:
        p = subprocess.run([path, "--help"], capture_output=True, text=True, timeout=10)
        return p.stdout + p.stderr
    except OSError as e:
        return "ERROR %s" % e


def austin_cmd(cfg, pid, rate, secs, out):
    interval = max(1, int(round(1e6 / rate)))
    cmd = [cfg.austin, "-i", str(interval), "-p", str(pid), "-o", out]
    if cfg.austin_flags.get("exposure"):
        cmd += ["-x", str(max(1, int(secs)))]
    if cfg.austin_flags.get("sleepless"):
        cmd += ["-s"]  # like pyprof's default: leave idle threads out
    return cmd


def austin_output_stats(path):
    samples, errors = 0, None
    try:
        with open(path, errors="replace") as f:
            for line in f:
                if line.startswith("#"):
                    m = re.match(r"#\s*errors\s*:\s*(\d+)\s*/\s*(\d+)", line)
                    if m:
                        errors = (int(m.group(1)), int(m.group(2)))
                elif line.strip():
                    samples += 1
    except OSError:
        pass
    r = {"samples": samples}
    if errors:
        r["failed_pct"] = 100.0 * errors[0] / errors[1] if errors[1] else 0.0
    return r


def sec_austin(cfg, out, res, tmp, slow):
    out("== 7. austin side by side ==")
    if not cfg.austin:
        out("   austin: not measured (set PYPROF_BENCH_AUSTIN)")
        res["austin"] = None
        return
    h = austin_help(cfg.austin)
    out("   austin: %s; flags: exposure(-x)=%s sleepless(-s)=%s"
        % (cfg.austin, cfg.austin_flags.get("exposure"), cfg.austin_flags.get("sleepless")))
    pyname, py = cfg.pythons[0]
    rows, data = [], []
    tgt = start_target(py, tmp, "spin", 50, 1, cfg.reps * 2 * (cfg.dur + 3) * 2 + 30)
    try:
        time.sleep(0.3)
        for rate in cfg.rates:
            a_vals, p_vals = [], []
            for rep in range(cfg.reps):
                pr = record_attach(cfg.pyprof, tgt.pid, rate, cfg.dur,
                                   os.path.join(tmp, "a.pyprof"), tmp)
                if "error" not in pr and pr["samples"]:
                    p_vals.append(pr["cpu_s"] / pr["samples"] * 1e6)
                of = os.path.join(tmp, "a.austin")
                secs = max(1, int(round(cfg.dur)))
                p = track(subprocess.Popen(austin_cmd(cfg, tgt.pid, rate, secs, of),
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
                try:
                    if cfg.austin_flags.get("exposure"):
                        st, ru, late = reap(p, secs + 30)
                    else:
                        time.sleep(secs)
                        p.send_signal(signal.SIGINT)
                        st, ru, late = reap(p, 30)
                finally:
                    stop(p)
                s = austin_output_stats(of)
                if s["samples"]:
                    a_vals.append(cpu(ru) / s["samples"] * 1e6)
            ps, as_ = stat(p_vals), stat(a_vals)
            ratio = ps["median"] / as_["median"] if ps and as_ and as_["median"] else None
            data.append({"rate": rate, "pyprof_us": ps, "austin_us": as_, "ratio": ratio})
            rows.append(["%gk" % (rate / 1000), fmt(ps, nd=1), fmt(as_, nd=1),
                         "%.2f" % ratio if ratio else "n/a"])
    finally:
        stop(tgt)
    out("   CPU per sample (us), %s, 50 deep, 1 thread, %d x %.0f s interleaved:"
        % (pyname, cfg.reps, max(1, round(cfg.dur))))
    out.table(["asked", "pyprof", "austin", "pyprof/austin"], rows)
    if slow:
        by = {c["condition"]: c for c in slow}
        rows = []
        for lbl in ("1k", "10k"):
            p, a = by.get("pyprof " + lbl), by.get("austin " + lbl)
            if p and a:
                rows.append([lbl, "%+.2f%%" % p["cpu_slowdown_pct"],
                             "%+.2f%%" % a["cpu_slowdown_pct"],
                             "%+.2f%%" % p["wall_slowdown_pct"],
                             "%+.2f%%" % a["wall_slowdown_pct"]])
        out("   target slowdown (from section 3, same interleaved rounds):")
        out.table(["rate", "pyprof CPU", "austin CPU", "pyprof wall", "austin wall"], rows)
    res["austin"] = {"path": cfg.austin, "help_head": h[:400], "cpu_per_sample": data}


# ------------------------------------------------------------------- main ---

# ------------------------------------------------------------ 8. truth ---

TRUTH_SRC = r"""
import asyncio, os, signal, sys, threading, time
signal.signal(signal.SIGALRM, lambda *a: os._exit(3))


def squares(n):
    for i in range(n):
        yield i * i


def gen_loop(end):
    while time.time() < end:
        s = 0
        for v in squares(1000):
            s += v


async def worker(end):
    while time.time() < end:
        s = 0
        for k in range(300):
            s += k * k
        await asyncio.sleep(0)


async def tasks(end):
    await asyncio.gather(*(worker(end) for _ in range(2000)))


def recurse(x):
    if x == 0:
        return
    recurse(x - 1)


def rec_loop(end):
    while time.time() < end:
        recurse(20)


def gen_work(iters, nthreads):
    def one():
        k = iters // nthreads
        while k > 0:
            s = 0
            for v in squares(min(k, 1000)):
                s += v
            k -= 1000
    ts = [threading.Thread(target=one) for _ in range(nthreads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


kind, a, b, life = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
signal.alarm(int(life) + 1)
print("ready", flush=True)
if kind == "gen":
    gen_loop(time.time() + life)
elif kind == "async":
    asyncio.run(tasks(time.time() + life))
elif kind == "rec":
    rec_loop(time.time() + life)
else:  # fixed work: gen_work, timed
    sys.stdin.readline()
    w0, c0 = time.time(), time.process_time()
    gen_work(a, b)
    print("done %.6f %.6f" % (time.time() - w0, time.process_time() - c0), flush=True)
"""

TRUTH_PROGRAMS = [("gen", "generator loop", "squares"), ("async", "2,000 asyncio tasks", "worker"),
                  ("rec", "recursion 20 deep", None)]
TRUTH_MODES = [("no-stop", ["--no-stop"]), ("default", []), ("blocking", ["--blocking"])]


def truth_counts(pyprof, path, fn):
    """(own samples of fn, samples, impossible stacks) from the folded output."""
    r = subprocess.run([pyprof, "report", "-q", "-f", "folded", path], capture_output=True,
                       text=True, timeout=120)
    own = tot = bad = 0
    for line in r.stdout.splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        n = int(n)
        frames = stack.split(";")
        tot += n
        if fn and frames[-1].startswith(fn + " "):
            own += n
        # a caller of recurse() is at its call site, `recurse(x - 1)` or `recurse(20)`
        if any(f.startswith(("recurse (", "rec_loop (")) and not f.endswith((":%d)" % REC_CALL,
               ":%d)" % LOOP_CALL)) for f in frames[:-1]):
            bad += n
    return own, tot, bad


REC_CALL = TRUTH_SRC.split("\n").index("    recurse(x - 1)") + 1
LOOP_CALL = TRUTH_SRC.split("\n").index("        recurse(20)") + 1


def sec_truth(cfg, out, res, tmp):
    """Default mode against --blocking (ground truth) and --no-stop on programs
    whose stacks change faster than a read, on one target process per cell,
    the modes in interleaved turns; then what stopped reads cost a churning
    target."""
    src = os.path.join(tmp, "truth.py")
    with open(src, "w") as f:
        f.write(TRUTH_SRC)
    turns = 2 if cfg.quick else 3
    secs = 1.0 if cfg.quick else 2.0
    out("== 8. truth: default mode against --blocking (ground truth), attach, modes in %d "
        "interleaved turns on one process (>= %.1f s and ~2,000 samples per mode) =="
        % (turns, secs))
    rows, cells = [], []
    for pyname, py in cfg.pythons:
        for kind, label, fn in TRUTH_PROGRAMS:
            for rate in (100, 1000):
                tgt = track(subprocess.Popen([py, src, kind, "0", "0", "600"],
                                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                             text=True))
                try:
                    if read_line(tgt, 30) is None:
                        raise RuntimeError("truth target did not start")
                    acc = {m: {"own": 0, "tot": 0, "bad": 0, "failed": [], "stopped": [],
                               "cpu_us": []} for m, _ in TRUTH_MODES}
                    # ~2,000 samples per mode and cell (a share's sampling
                    # error then ~1 point), at least secs per turn.
                    turn_s = max(secs, 2000.0 / rate / turns) if not cfg.quick else secs
                    for t in range(turns):
                        for mode, flags in (TRUTH_MODES if t % 2 == 0 else TRUTH_MODES[::-1]):
                            o = os.path.join(tmp, "t.pyprof")
                            p = track(subprocess.Popen(
                                [cfg.pyprof, "record", "-p", str(tgt.pid), "-d", "%.2f" % turn_s,
                                 "-r", str(rate), "-o", o, *flags], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True))
                            _, ru, _ = reap(p, turn_s + 60)
                            sm = parse_summary(p.stderr.read()) or {}
                            own, tot, bad = truth_counts(cfg.pyprof, o, fn)
                            a = acc[mode]
                            a["own"] += own
                            a["tot"] += tot
                            a["bad"] += bad
                            a["failed"].append(sm.get("failed_pct"))
                            a["stopped"].append(sm.get("stopped_pct"))
                            if sm.get("samples"):
                                a["cpu_us"].append(cpu(ru) / sm["samples"] * 1e6)
                finally:
                    stop(tgt)
                share = {m: 100.0 * a["own"] / a["tot"] if a["tot"] else None
                         for m, a in acc.items()}
                cell = {"python": pyname, "program": kind, "rate": rate, "share": share,
                        "impossible_pct": {m: 100.0 * a["bad"] / a["tot"] if a["tot"] else None
                                           for m, a in acc.items()},
                        "failed_pct": {m: stat(a["failed"]) for m, a in acc.items()},
                        "stopped_pct": {m: stat(a["stopped"]) for m, a in acc.items()},
                        "cpu_us_per_sample": {m: stat(a["cpu_us"]) for m, a in acc.items()}}
                cells.append(cell)
                if fn:
                    d = share["default"] - share["blocking"]
                    band = 3.0 if kind == "gen" else 5.0
                    what = "%s own" % fn
                    vals = ["%.1f%%" % share[m] for m, _ in TRUTH_MODES]
                    agree = "%+.1f" % d
                    mark = verdict(abs(d) <= band)
                else:
                    what = "impossible"
                    vals = ["%.2f%%" % cell["impossible_pct"][m] for m, _ in TRUTH_MODES]
                    agree = ""
                    mark = verdict(cell["impossible_pct"]["default"] == 0 and
                                   (cell["failed_pct"]["default"] or {}).get("median", 0) <= 5)
                rows.append([pyname, label, "%d" % rate, what, *vals, agree,
                             fmt(cell["failed_pct"]["no-stop"], nd=1),
                             fmt(cell["failed_pct"]["default"], nd=1),
                             fmt(cell["stopped_pct"]["default"], nd=1),
                             fmt(cell["cpu_us_per_sample"]["default"], nd=1), mark])
    out.table(["py", "program", "Hz", "figure", "--no-stop", "default", "--blocking",
               "default-blk", "failed% nostop", "failed% dflt", "stopped% dflt",
               "CPU us/sample dflt", ""], rows)
    out("   goals: generator share within 3 points of --blocking, asyncio worker within 5, "
        "recursion 0 impossible stacks and <= 5 % failed")
    res["truth"] = cells

    # What stopped reads cost: a fixed amount of generator work (the default
    # mode reads it stopped nearly always), 1 and 64 threads.
    pyname, py = cfg.pythons[0]
    iters = 6000000 if cfg.quick else 25000000  # ~0.6 / ~2.5 s of work alone
    conds = [("none", 0, [])] + [("%s %s" % (m, lbl), r, f) for lbl, r in (("100", 100), ("1k", 1000))
                                 for m, f in (("default", []), ("blocking", ["--blocking"]))]
    out()
    out("== 8b. target slowdown on a generator loop the default mode reads stopped (Python %s, "
        "%d interleaved rounds) ==" % (pyname, cfg.rounds))
    rows = []
    slow = []
    for nthreads in (1, 64):
        runs = {c[0]: [] for c in conds}
        for rnd in range(cfg.rounds):
            for name, rate, flags in (conds if rnd % 2 == 0 else [conds[0]] + conds[:0:-1]):
                tgt = track(subprocess.Popen([py, src, "work", str(iters), str(nthreads), "300"],
                                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                             stderr=subprocess.DEVNULL, text=True, bufsize=1))
                prof = None
                try:
                    if read_line(tgt, 30) is None:
                        raise RuntimeError("work target did not start")
                    if rate:
                        prof = track(subprocess.Popen(
                            [cfg.pyprof, "record", "-p", str(tgt.pid), "-d", "200", "-r",
                             str(rate), "-o", os.path.join(tmp, "w.pyprof"), *flags],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
                        while True:
                            line = read_line(prof, 30, prof.stderr)
                            if not line:
                                raise RuntimeError("pyprof did not start")
                            if "recording PID" in line:
                                break
                        time.sleep(0.15)
                    tgt.stdin.write("go\n")
                    tgt.stdin.flush()
                    _, ru, _ = reap(tgt, 300)
                    r = {"target_cpu_s": cpu(ru)}
                    if prof:
                        try:  # not prof.send_signal: it polls, and reaps, first
                            os.kill(prof.pid, signal.SIGINT)
                        except OSError:
                            pass
                        _, pru, _ = reap(prof, 30)
                        sm = parse_summary(prof.stderr.read()) or {}
                        r.update(prof_cpu_s=cpu(pru), stopped_pct=sm.get("stopped_pct"),
                                 samples=sm.get("samples"), held_ms=sm.get("held_ms"))
                        if r.get("held_ms") is not None and r["target_cpu_s"] > 0:
                            r["held_pct"] = r["held_ms"] / 10.0 / r["target_cpu_s"]
                    runs[name].append(r)
                finally:
                    if prof:
                        stop(prof)
                    stop(tgt)
        base = stat([r["target_cpu_s"] for r in runs["none"]])
        for name, rate, flags in conds:
            rs = runs[name]
            tc = stat([r["target_cpu_s"] for r in rs])
            paired = stat([(r["target_cpu_s"] / b["target_cpu_s"] - 1) * 100
                           for r, b in zip(rs, runs["none"])])
            sd = (tc["median"] / base["median"] - 1) * 100 if tc and base else None
            mark = verdict(sd <= 1.0) if name == "default 100" and sd is not None else ""
            slow.append({"threads": nthreads, "condition": name, "target_cpu_s": tc,
                         "cpu_slowdown_pct": sd, "paired_pct": paired,
                         "stopped_pct": stat([r.get("stopped_pct") for r in rs]),
                         "runs": rs})
            rows.append(["%d" % nthreads, name, fmt(tc, nd=3),
                         "%+.2f%%" % sd if sd is not None else "", fmt(paired, nd=2),
                         fmt(stat([r.get("stopped_pct") for r in rs]), nd=1) if rate else "",
                         fmt(stat([r.get("prof_cpu_s") for r in rs]), nd=3) if rate else "",
                         fmt(stat([r.get("held_pct") for r in rs]), nd=2) if rate else "", mark])
        if base:
            rows.append(["", "(baseline spread %.1f%%)" % ((base["max"] - base["min"]) /
                                                         base["median"] * 100), "", "", "", "", "", "", ""])
    out.table(["threads", "condition", "target CPU s", "CPU slowdown", "paired [min–max] %",
               "stopped %", "profiler CPU s", "held % of target", ""], rows)
    out("   'held' = the time pyprof held threads stopped (its own clock, from the stop request "
        "to the resume: an upper bound) over the target's CPU time: what stopping takes from "
        "the target, without the noise of comparing whole runs")
    out("   64 threads share the GIL: those waiting for it are off CPU and not sampled (nor "
        "stopped); goal: default mode <= 1 % at 100 Hz")
    res["truth_slowdown"] = slow


# --------------------------------------------- 9. CPython's own sampler ---

CHROOT_PY315 = os.path.join(os.environ.get("PYPROF_CHROOT", os.path.join(HOME, ".cache/pyprof-chroot/sid"))
                            + ".bin", "python3.15")


def cpython_sampler(pid, rate, dur, out):
    """`python3.15 -m profiling.sampling attach` (in the sid chroot, like the
    target): its CPU (rusage) and the samples in its collapsed output."""
    # Its -d takes whole seconds (a one-sample attach is -r 1 -d 1: it sleeps
    # most of that second, so its CPU is still the start-up's).
    secs = str(max(1, int(round(dur))))
    try:
        os.unlink(out)  # never count a previous run's file
    except OSError:
        pass
    p = track(subprocess.Popen([CHROOT_PY315, "-m", "profiling.sampling", "attach", "-r", str(rate),
                                "-d", secs, "--collapsed", "-o", out, str(pid)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
    try:
        _, ru, _ = reap(p, dur + 120)
    finally:
        stop(p)
    err = p.stderr.read()
    n = 0
    try:
        with open(out, errors="replace") as f:
            for line in f:
                _, _, c = line.rstrip("\n").rpartition(" ")
                if c.isdigit():
                    n += int(c)
    except OSError:
        pass
    res = {"cpu_s": cpu(ru), "samples": n, "rc": p.returncode}
    if p.returncode != 0 or n == 0:
        res["error"] = err.strip()[-300:] or "exit %s, %d samples" % (p.returncode, n)
    return res


def sec_cpython(cfg, out, res, tmp):
    out("== 9. CPython's own sampler side by side (python3.15 -m profiling.sampling attach "
        "--collapsed; both attached to the same 3.15 target in the sid chroot, 50 deep, "
        "1 thread, interleaved) ==")
    # The chroot's /proc and this machine's /tmp (the targets' scripts) inside it.
    subprocess.run(["bash", os.path.join(REPO, "tools", "provision-chroot.sh"), "--expose", "/tmp"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not os.access(CHROOT_PY315, os.X_OK):
        out("   n/a: no %s (tools/provision-chroot.sh)" % CHROOT_PY315)
        res["cpython_sampler"] = None
        return
    reps = 2 if cfg.quick else 5
    dur = 1.0 if cfg.quick else 2.0
    rates = [1000, 10000, 1000000]
    tgt = start_target(CHROOT_PY315, tmp, "spin", 50, 1, reps * len(rates) * 2 * (dur + 3) + 60)
    runs = {(t, r): [] for t in ("pyprof", "cpython") for r in rates}
    startup = {"pyprof": [], "cpython": []}
    try:
        time.sleep(0.3)
        for _ in range(3):  # what a one-sample attach costs each: subtracted for 'steady'
            startup["pyprof"].append(record_attach(cfg.pyprof, tgt.pid, 1, 0.001,
                                                   os.path.join(tmp, "s9.out"), tmp)["cpu_s"])
            startup["cpython"].append(cpython_sampler(tgt.pid, 1, 1,
                                                      os.path.join(tmp, "s9.out"))["cpu_s"])
        for rep in range(reps):
            for rate in rates:
                order = ("pyprof", "cpython") if rep % 2 == 0 else ("cpython", "pyprof")
                for tool in order:
                    f = os.path.join(tmp, "s9.out")
                    if tool == "pyprof":
                        r = record_attach(cfg.pyprof, tgt.pid, rate, dur, f, tmp)
                    else:
                        r = cpython_sampler(tgt.pid, rate, dur, f)
                    runs[(tool, rate)].append(r)
    finally:
        stop(tgt)
    rows, cells = [], []
    for rate in rates:
        st = {}
        for tool in ("pyprof", "cpython"):
            ok = [r for r in runs[(tool, rate)] if "error" not in r and r.get("samples")]
            su = statistics.median(startup[tool])
            st[tool] = {"us": stat([r["cpu_s"] / r["samples"] * 1e6 for r in ok]),
                        "steady_us": stat([(r["cpu_s"] - su) / r["samples"] * 1e6 for r in ok]),
                        "startup_ms": su * 1000,
                        "khz": stat([r["samples"] / dur / 1000 for r in ok]),
                        "errors": [r["error"] for r in runs[(tool, rate)] if "error" in r]}
        ratio = (st["cpython"]["us"]["median"] / st["pyprof"]["us"]["median"]
                 if st["cpython"]["us"] and st["pyprof"]["us"] else None)
        cells.append({"rate": rate, "pyprof": st["pyprof"], "cpython": st["cpython"],
                      "ratio_cpython_over_pyprof": ratio})
        label = "flat out" if rate >= 1000000 else "%dk" % (rate // 1000)
        sr = (st["cpython"]["steady_us"]["median"] / st["pyprof"]["steady_us"]["median"]
              if st["cpython"]["steady_us"] and st["pyprof"]["steady_us"] else None)
        cells[-1]["steady_ratio"] = sr
        rows.append([label, fmt(st["pyprof"]["us"], nd=1), fmt(st["cpython"]["us"], nd=1),
                     "%.2fx" % ratio if ratio else "", fmt(st["pyprof"]["steady_us"], nd=1),
                     fmt(st["cpython"]["steady_us"], nd=1), "%.2fx" % sr if sr else "",
                     fmt(st["pyprof"]["khz"], nd=1),
                     fmt(st["cpython"]["khz"], nd=1), verdict(ratio is not None and ratio >= 2.0)])
        for tool in ("pyprof", "cpython"):
            if st[tool]["errors"]:
                out("   %s at %s: %s" % (tool, label, st[tool]["errors"][0]))
    out.table(["asked", "pyprof us/sample", "CPython us/sample", "ratio", "pyprof steady",
               "CPython steady", "steady ratio", "pyprof kHz", "CPython kHz", ""], rows)
    out("   start-up (one-sample attach) CPU: pyprof %.1f ms, CPython's sampler %.1f ms; 'steady' "
        "subtracts it" % (statistics.median(startup["pyprof"]) * 1000,
                          statistics.median(startup["cpython"]) * 1000))
    out("   CPU = user+sys of the profiler process / samples it wrote (pyprof: its summary; "
        "CPython's: the counts of its collapsed file, which include its start-up: a Python "
        "interpreter and imports); goal: >= 2x ahead at every rate")
    res["cpython_sampler"] = cells


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--pyprof", required=True)
    ap.add_argument("--gen", required=True, help="pyprof-bench-gen binary")
    ap.add_argument("--syscost", help="pyprof-bench-syscost binary")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--only", default="0,1,2,3,5,6,7,8,9", help="sections to run, e.g. 1,3")
    a = ap.parse_args()

    class Cfg:
        pass
    cfg = Cfg()
    cfg.pyprof, cfg.gen = os.path.abspath(a.pyprof), os.path.abspath(a.gen)
    cfg.syscost = os.path.abspath(a.syscost) if a.syscost else None
    cfg.pythons = [(n, p) for n, p in PYTHONS if os.access(p, os.X_OK)]
    cfg.rates = [1000, 10000]
    cfg.max_rates = [1000, 10000, 100000, 200000, 500000]
    if a.quick:
        cfg.reps, cfg.dur = 2, 0.5
        cfg.reps_rate, cfg.dur_rate = 1, 1.0
        cfg.rounds, cfg.work_s = 2, 1.0
        cfg.gen_samples, cfg.reps_report = 10000000, 2
        cfg.reps_floor, cfg.floor_scale = 1, 0.3
    else:
        cfg.reps, cfg.dur = 5, 2.0
        cfg.reps_rate, cfg.dur_rate = 3, 2.0
        cfg.rounds, cfg.work_s = 7, 2.5
        cfg.gen_samples, cfg.reps_report = 10000000, 5
        cfg.reps_floor, cfg.floor_scale = 3, 1.0
    cfg.quick = a.quick
    cfg.austin = os.environ.get("PYPROF_BENCH_AUSTIN") or None
    cfg.austin_flags = {}
    if cfg.austin:
        h = austin_help(cfg.austin)
        cfg.austin_flags = {"exposure": bool(re.search(r"--exposure|-x\b", h)),
                            "sleepless": bool(re.search(r"--sleepless|-s\b", h))}
    sections = set(a.only.split(","))

    out = Out()
    res = {"quick": a.quick}
    tmp = tempfile.mkdtemp(prefix="pyprof-bench-")
    with open(os.path.join(tmp, "target.py"), "w") as f:
        f.write(TARGET_SRC)

    def on_term(sig, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    t_start = time.monotonic()
    ok = False
    try:
        m = machine_info(cfg.pyprof)
        res["machine"] = m
        out("pyprof benchmark%s  %s" % (" (--quick)" if a.quick else "", m["date"]))
        out("machine: %s, %s cores, %s RAM, kernel %s, load %.2f %.2f %.2f at start"
            % (m["cpu"], m["cores"], m["memory"], m["kernel"], *m["loadavg"]))
        out("pyprof:  %s (commit %s)" % (cfg.pyprof, m["commit"]))
        out("pythons: %s" % ", ".join("%s=%s" % (k, v) for k, v in m["pythons"].items()))
        out("figures: median [min–max] over repeats")
        res["sections"] = sorted(sections)
        out()
        if "0" in sections and cfg.syscost:
            sec_floor(cfg, out, res, tmp)
            out()
        if "1" in sections:
            sec_cpu(cfg, out, res, tmp)
            out()
        if "2" in sections:
            sec_rate(cfg, out, res, tmp)
            out()
        slow = None
        if "3" in sections:
            slow = sec_slowdown(cfg, out, res, tmp, cfg.austin)
            out()
        if "5" in sections:
            sec_report(cfg, out, res, tmp)
            out()
        if "6" in sections:
            help_rec = subprocess.run([cfg.pyprof, "record", "--help"], capture_output=True,
                                      text=True).stdout
            out("== 6. native mode ==")
            if "--native" in help_rec:
                out("   `pyprof record --help` lists --native, but this bench does not measure it "
                    "yet")
                res["native"] = "listed, not measured"
            else:
                out("   n/a (no --native yet)")
                res["native"] = None
            out()
        if "7" in sections:
            sec_austin(cfg, out, res, tmp, slow)
            out()
        if "8" in sections:
            sec_truth(cfg, out, res, tmp)
            out()
        if "9" in sections:
            sec_cpython(cfg, out, res, tmp)
            out()
        summarize_targets(out, res)
        ok = True
    except KeyboardInterrupt:
        out("interrupted")
    finally:
        kill_all()
        shutil.rmtree(tmp, ignore_errors=True)
    res["elapsed_s"] = time.monotonic() - t_start
    res["loadavg_end"] = os.getloadavg()
    out("load at end: %.2f %.2f %.2f" % res["loadavg_end"])
    res["table"] = "\n".join(out.lines)
    out("(%.0f s)" % res["elapsed_s"])
    if ok:
        os.makedirs(a.out, exist_ok=True)
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        partial = sections != set(ap.get_default("only").split(","))
        tag = ("-quick" if a.quick else "") + ("-partial" if partial else "")
        names = ["%s%s.json" % (stamp, tag)] + ([] if partial else ["latest.json"])
        for name in names:
            with open(os.path.join(a.out, name), "w") as f:
                json.dump(res, f, indent=1, default=str)
        if not partial:
            with open(os.path.join(a.out, "latest.txt"), "w") as f:
                f.write(res["table"] + "\n")
        print("wrote %s" % ", ".join(os.path.join(a.out, n) for n in names))
    return 0 if ok else 1


def summarize_targets(out, res):
    out("== targets (from the issue) ==")
    rows = []
    cps = res.get("cpu_per_sample")
    if cps:
        for c in cps["cells"]:
            if c["depth"] == 50 and c["threads"] == 1 and c["cpu_us_per_sample"]:
                v = c["cpu_us_per_sample"]["median"]
                rows.append([TARGETS["cpu_per_sample"], "%s @%gk: %.2f us"
                             % (c["python"], c["rate"] / 1000, v), verdict(v <= 3.0)])
    mr = res.get("max_rate")
    if mr:
        for py, b in mr["highest_sustained_hz"].items():
            rows.append([TARGETS["max_rate"], "%s: %s" % (py, "%g kHz" % (b / 1000) if b
                                                          else "none"),
                         verdict(b is not None and b >= 200000)])
    sl = res.get("slowdown")
    if sl:
        for c in sl["cells"]:
            if c["condition"] == "pyprof 1k" and c["cpu_slowdown_pct"] is not None:
                rows.append([TARGETS["slowdown_1k"], "%s: %+.2f%%" % (sl["python"],
                                                                      c["cpu_slowdown_pct"]),
                             verdict(c["cpu_slowdown_pct"] <= 0.5)])
    bp = res.get("bytes_per_sample")
    if bp:
        for c in bp:
            if c["threads"] == 1 and c["bytes_per_sample"]:
                v = c["bytes_per_sample"]["median"]
                rows.append([TARGETS["bytes_per_sample"], "%s @%gk: %.2f"
                             % (c["python"], c["rate"] / 1000, v), verdict(v <= 4.0)])
    rp = res.get("report")
    if rp:
        for c in rp["cells"]:
            if c["msamples_per_s"]:
                v = c["msamples_per_s"]["median"]
                rows.append([TARGETS["report_rate"], "%s: %.1f M/s" % (c["format"], v),
                             verdict(v >= 10)])
    out.table(["target", "measured (median)", ""], rows)


if __name__ == "__main__":
    sys.exit(main())
