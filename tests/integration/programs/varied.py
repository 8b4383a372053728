"""Many distinct stacks: recursion through 16 functions to random depths, so a
record file grows quickly (used to fill a size-limited output)."""
import random
import sys
import time

sys.setrecursionlimit(5000)
random.seed(7)


def make(i):
    def f(depth, end):
        if depth == 0:
            s = 0
            for k in range(200):
                s += k
            return s
        return FUNCS[random.randrange(16)](depth - 1, end)
    f.__name__ = f.__qualname__ = f"level_{i}"
    return f


FUNCS = [make(i) for i in range(16)]

print("ready", flush=True)
end = time.monotonic() + (float(sys.argv[1]) if len(sys.argv) > 1 else 5.0)
while time.monotonic() < end:
    FUNCS[0](random.randrange(1, 200), end)
