"""One function whose time is almost all on one known line (HOT_LINE)."""
import sys
import time


def kernel(end):
    s = 0
    while time.monotonic() < end:
        for i in range(2000):
            s += i * i % 7  # HOT_LINE
    return s


if __name__ == "__main__":
    print("ready", flush=True)
    kernel(time.monotonic() + (float(sys.argv[1]) if len(sys.argv) > 1 else 2.0))
