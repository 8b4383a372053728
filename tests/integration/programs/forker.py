"""Keeps computing while starting short-lived child processes (fork + exec)."""
import subprocess
import sys
import time


def compute(n):
    s = 0
    for i in range(n):
        s += i * i
    return s


def main(duration):
    print("ready", flush=True)
    end = time.monotonic() + duration
    children = 0
    while time.monotonic() < end:
        compute(50000)
        subprocess.run(["true"])
        children += 1
    print(f"children {children}", flush=True)


main(float(sys.argv[1]) if len(sys.argv) > 1 else 3.0)
