"""Truth suite: a tight recursion that climbs and unwinds 20 levels about a
million times a second, pushing frames again and again at the same
addresses with the same code. A caller frame can only be at its call site
(the line of `recurse(x - 1)` in recurse, of `recurse(20)` in run; the
test finds them in this file); a sample that shows a caller anywhere else
mixes two moments and cannot exist.
Usage: truth_recurse.py SECONDS [ready]"""
import sys
import time

def recurse(x):
    if x == 0:
        return
    recurse(x - 1)


def run(seconds):
    end = time.time() + seconds
    while time.time() < end:
        recurse(20)


if __name__ == "__main__":
    if len(sys.argv) > 2:
        print("ready", flush=True)
    run(float(sys.argv[1]))
