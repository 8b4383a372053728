"""Truth suite: a generator consumed by a for loop. The thread switches
between the consumer (main) and the generator (squares) every ~100 ns, so
a read that takes microseconds sees the stack change under it. A stopped
read (--blocking) shows the real split; the default mode must agree.
Usage: truth_gen.py SECONDS [ready]"""
import sys
import time


def squares(n):
    for i in range(n):
        yield i * i


def main(seconds):
    # s restarts for every generator, so the work per item, and with it the
    # split between the two frames, stays the same all along (a sum growing
    # without bound would make main slower and slower).
    end = time.time() + seconds
    while time.time() < end:
        s = 0
        for v in squares(20000):
            s += v


if __name__ == "__main__":
    if len(sys.argv) > 2:
        print("ready", flush=True)
    main(float(sys.argv[1]))
