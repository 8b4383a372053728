"""Stacks that change every few microseconds, with a known shape: main()
calls chain A (a0 -> a1 -> ... ) or chain B (b0 -> b1 -> ...) to a depth
that varies call by call. A sampled stack is consistent only if, below
main, it is a0, a1, ..., ak or b0, b1, ..., bk: a stack read while the
thread was returning and calling again (a torn read that slipped through)
would mix the chains or skip a level."""
import sys
import time

DEPTH = 12



def make(prefix):
    """Functions prefix0 .. prefix{DEPTH-1}, each its own code object."""
    src = "".join(
        f"def {prefix}{i}(k):\n"
        f"    if k == {i}:\n"
        f"        return {i}\n"
        f"    return {prefix}{i + 1}(k)\n"
        for i in range(DEPTH))
    exec(compile(src, __file__ + f":{prefix}", "exec"), globals())
    return [globals()[f"{prefix}{i}"] for i in range(DEPTH)]


A = make("a")
B = make("b")


def main(seconds):
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        for k in range(DEPTH):
            A[0](k)
            B[0]((k * 7) % DEPTH)
        n += 1
    return n


print("ready", flush=True)
main(float(sys.argv[1]) if len(sys.argv) > 1 else 3.0)
