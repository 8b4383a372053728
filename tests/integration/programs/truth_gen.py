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
    end = time.time() + seconds
    s = 0
    while time.time() < end:
        for v in squares(200000):
            s += v
    return s


if __name__ == "__main__":
    if len(sys.argv) > 2:
        print("ready", flush=True)
    main(float(sys.argv[1]))
