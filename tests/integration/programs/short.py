"""A program that runs for 0.3 s in all, start-up included."""
import time

START = time.monotonic()


def work():
    s = 0
    while time.monotonic() - START < 0.25:
        for i in range(1000):
            s += i
    return s


work()
