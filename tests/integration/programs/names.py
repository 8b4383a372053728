"""Functions whose names need latin-1, UCS-2 and UCS-4 str storage."""
import sys
import time


def café(end):          # latin-1 (compact, 1 byte per char)
    s = 0
    while time.monotonic() < end:
        for i in range(1000):
            s += i
    return s


def 計算(end):          # UCS-2
    s = 0
    while time.monotonic() < end:
        for i in range(1000):
            s += i
    return s


def 𠀀(end):            # UCS-4 (U+20000)
    s = 0
    while time.monotonic() < end:
        for i in range(1000):
            s += i
    return s


if __name__ == "__main__":
    duration = float(sys.argv[1]) if len(sys.argv) > 1 else 1.5
    print("ready", flush=True)
    for f in (café, 計算, 𠀀):
        f(time.monotonic() + duration / 3)
