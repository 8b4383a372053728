"""3:1 split of CPU work between heavy() and light(), for DURATION seconds.

Prints "ready" once running, so attach-mode tests know when to attach."""
import sys
import time


# Both loops do identical work per iteration on small ints (no multi-digit
# arithmetic, whose cost would grow with i), so the work is exactly 3:1.
def heavy(n):
    s = 0
    for i in range(3 * n):
        s = (s + (i & 1023) * 3) & 0xFFFF
    return s


def light(n):
    s = 0
    for i in range(n):
        s = (s + (i & 1023) * 3) & 0xFFFF
    return s


def main(duration):
    print("ready", flush=True)
    end = time.monotonic() + duration
    while time.monotonic() < end:
        heavy(20000)
        light(20000)


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 3.0)
