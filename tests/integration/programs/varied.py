"""Many distinct stacks: recursion through 16 functions along random paths,
so a record file grows quickly (used to fill a size-limited output). Each
level works a little before going deeper, so a stack holds still for tens of
microseconds at a time, long enough to be read consistently."""
import random
import sys
import time

sys.setrecursionlimit(5000)
random.seed(7)


def make(i):
    def f(path, k, end):
        s = 0
        for j in range(300):
            s += j
        if k == len(path):
            return s
        return FUNCS[path[k]](path, k + 1, end)
    f.__name__ = f.__qualname__ = f"level_{i}"
    return f


FUNCS = [make(i) for i in range(16)]
PATHS = [[random.randrange(16) for _ in range(random.randrange(5, 120))] for _ in range(500)]

print("ready", flush=True)
end = time.monotonic() + (float(sys.argv[1]) if len(sys.argv) > 1 else 5.0)
n = 0
while time.monotonic() < end:
    FUNCS[0](PATHS[n % len(PATHS)], 0, end)
    n += 1
