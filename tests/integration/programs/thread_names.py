"""Threads with Python-level names the OS does not have: two busy workers
named with long non-ASCII names (longer than the 15 bytes an OS thread name
holds), and the main thread renamed, for DURATION seconds.

    thread_names.py DURATION"""
import sys
import threading
import time

NAMES = ["numerics-worker-0 \u00fcn\u00efc\u00f8de \u8a08\u7b97", "numerics-worker-1 \u00fcn\u00efc\u00f8de \u8a08\u7b97"]


def work(end):
    s = 0
    while time.monotonic() < end:
        for i in range(10000):
            s += i
    return s


def main(duration):
    threading.current_thread().name = "Driver"
    end = time.monotonic() + duration
    ts = [threading.Thread(target=work, args=(end,), name=n) for n in NAMES]
    for t in ts:
        t.start()
    print("ready", flush=True)
    work(end)
    for t in ts:
        t.join()


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 2.0)
