"""Creates and ends threads as fast as it can (well over 1000 per second)."""
import sys
import threading
import time


def short_lived(out):
    s = 0
    for i in range(200):
        s += i
    out.append(s)


def main(duration):
    print("ready", flush=True)
    out = []
    started = 0
    t0 = time.monotonic()
    while time.monotonic() - t0 < duration:
        batch = [threading.Thread(target=short_lived, args=(out,)) for _ in range(8)]
        for t in batch:
            t.start()
        for t in batch:
            t.join()
        started += len(batch)
    print(f"threads_per_second {started / (time.monotonic() - t0):.0f}", flush=True)


main(float(sys.argv[1]) if len(sys.argv) > 1 else 3.0)
