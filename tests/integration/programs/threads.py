"""Two busy threads and one sleeping thread, for DURATION seconds."""
import sys
import threading
import time


def spin(end):
    s = 0
    while time.monotonic() < end:
        for i in range(10000):
            s += i
    return s


def busy_a(end):
    spin(end)


def busy_b(end):
    spin(end)


def sleeper(end):
    while time.monotonic() < end:
        time.sleep(0.05)


def main(duration):
    end = time.monotonic() + duration
    ts = [threading.Thread(target=f, args=(end,), name=f.__name__) for f in (busy_a, busy_b, sleeper)]
    for t in ts:
        t.start()
    print("ready", flush=True)
    for t in ts:
        t.join()


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 3.0)
