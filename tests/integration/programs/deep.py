"""Recurse DEPTH levels deep, then spin at the bottom for DURATION seconds."""
import sys
import time

sys.setrecursionlimit(10000)


def bottom(end):
    s = 0
    while time.monotonic() < end:
        for i in range(1000):
            s += i
    return s


def rec(depth, end):
    if depth <= 1:
        return bottom(end)
    return rec(depth - 1, end)


if __name__ == "__main__":
    depth = int(sys.argv[1]) if len(sys.argv) > 1 else 700
    duration = float(sys.argv[2]) if len(sys.argv) > 2 else 2.0
    print("ready", flush=True)
    rec(depth, time.monotonic() + duration)
