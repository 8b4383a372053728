"""Shared helpers of the integration tests (test_integration.py, test_faults.py)."""
import argparse
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAMS = os.path.join(HERE, "programs")
PYPROF = os.environ.get("PYPROF", "build/pyprof")  # set by main() from --pyprof


def prog(name):
    return os.path.join(PROGRAMS, name)


def run(args, timeout=120, **kw):
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout, **kw)


def func(frame):
    """Function name of a folded frame `function (file:line)`."""
    return frame.rsplit(" (", 1)[0]


def folded_raw(path):
    """(stacks {tuple(frames root..leaf): count}, completed process) of `report -f folded`."""
    r = run([PYPROF, "report", "-f", "folded", path])
    if r.returncode != 0:
        raise AssertionError(f"report -f folded failed ({r.returncode}): {r.stderr.decode()}")
    stacks = {}
    for line in r.stdout.decode("utf-8").splitlines():
        if not line.strip():
            continue
        stack, count = line.rsplit(" ", 1)
        key = tuple(stack.split(";"))
        stacks[key] = stacks.get(key, 0) + int(count)
    return stacks, r


def folded(path):
    return folded_raw(path)[0]


def leaf_counts(stacks):
    out = {}
    for st, n in stacks.items():
        if st:
            f = func(st[-1])
            out[f] = out.get(f, 0) + n
    return out


def main():
    """Run the unittest module of the caller with --pyprof PATH."""
    global PYPROF
    ap = argparse.ArgumentParser()
    ap.add_argument("--pyprof", default=PYPROF)
    args, rest = ap.parse_known_args()
    PYPROF = os.path.abspath(args.pyprof)
    os.environ["PYPROF"] = PYPROF
    unittest.main(module="__main__", argv=[sys.argv[0], *rest], verbosity=2)
