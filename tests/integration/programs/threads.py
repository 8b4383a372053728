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
    # One long sleep: this thread never runs again, so it must never be
    # sampled without --idle. It is a daemon: the process ends without it.
    time.sleep(3600)


def main(duration):
    end = time.monotonic() + duration
    busy = [threading.Thread(target=f, args=(end,), name=f.__name__) for f in (busy_a, busy_b)]
    sleepy = threading.Thread(target=sleeper, args=(end,), name="sleeper", daemon=True)
    sleepy.start()
    for t in busy:
        t.start()
    print("ready", flush=True)
    for t in busy:
        t.join()


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 3.0)
