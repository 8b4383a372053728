"""Two busy threads and one sleeping thread, for DURATION seconds.

    threads.py DURATION [nogil|gil]

nogil (default): the busy threads burn CPU inside sha256 of a large buffer,
which releases the GIL, so both really run at once on two cores and their
shares do not depend on how fairly the interpreter hands over the GIL.
gil: they spin in pure Python, taking turns holding the GIL."""
import hashlib
import sys
import threading
import time

BLOCK = b"x" * (1 << 20)
MODE = sys.argv[2] if len(sys.argv) > 2 else "nogil"


def spin(end):
    s = 0
    while time.monotonic() < end:
        if MODE == "gil":
            for i in range(10000):
                s += i
        else:
            hashlib.sha256(BLOCK).digest()
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
