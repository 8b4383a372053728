"""Seeds for fuzz_pystr and fuzz_linetable from the running interpreter
(fuzz/gen_seeds.sh runs it under every CPython found).

  python3.X fuzz/seed_objects.py SELECTOR PYSTR_DIR LINETABLE_DIR

SELECTOR is the fuzz layout index of this version (seedgen layout-index).
pystr seeds: selector byte, mode byte 0, then the raw bytes of a str or bytes
object (sys.getsizeof of them, read with ctypes). linetable seeds: kind byte
(1 co_lnotab, 2 3.10 co_linetable, 3 3.11+ location table), co_firstlineno
as little-endian int32, then the table of a function.
"""
import ctypes
import os
import sys

V = "3.%d" % sys.version_info[1]


def raw(obj):
    return ctypes.string_at(id(obj), sys.getsizeof(obj))


def write(path, data):
    with open(path, "wb") as fh:
        fh.write(data)


def pystr_seeds(sel, out):
    strs = {
        "ascii": "run_simulation",
        "empty": "",
        "latin1": "caf\u00e9_r\u00e9sum\u00e9",
        "ucs2": "\u8a08\u7b97_\u03bb",
        "ucs4": "\U0001F600_\U0001D4D5",
        "surrogate": "a\ud800b",
        "long": "x" * 4100,
    }
    for label, s in strs.items():
        s = "".join(list(s))  # a fresh object, not a shared constant
        write(os.path.join(out, "%s-str-%s" % (V, label)), bytes([sel, 0]) + raw(s))
    for label, b in (("bytes", bytes(range(64))), ("bytes-empty", b"")):
        write(os.path.join(out, "%s-%s" % (V, label)), bytes([sel, 0]) + raw(b))


def simple(a):
    return a + 1


def loops(n):
    total = 0
    for i in range(n):
        if i % 3:
            total += i
        else:
            total -= 1
    while total > 10:
        total //= 2
    return total


def far_lines(x):
    y = x
    # a long gap, so line deltas need more than one step






















































































































































































































































































    return y + (
        1
    )


def gen(n):
    try:
        yield from range(n)
    except ValueError:
        pass
    finally:
        n = 0


def linetable_seeds(out):
    if sys.version_info >= (3, 11):
        kind = 3
    elif sys.version_info >= (3, 10):
        kind = 2
    else:
        kind = 1
    for f in (simple, loops, far_lines, gen):
        c = f.__code__
        table = c.co_linetable if kind > 1 else c.co_lnotab
        write(os.path.join(out, "%s-%s" % (V, f.__name__)),
              bytes([kind]) + c.co_firstlineno.to_bytes(4, "little", signed=True) + table)


if __name__ == "__main__":
    pystr_seeds(int(sys.argv[1]), sys.argv[2])
    linetable_seeds(sys.argv[3])
