"""Line-table test vectors from the running interpreter (CPython 3.8+).

Run with each interpreter under test; tests/test_linetable.c parses the output
and checks pyprof's decoder against it. Ground truth is CPython's own
PyCode_Addr2Line (called through ctypes), cross-checked against the Python-level
views of the same table: dis.findlinestarts (3.8-3.9), co_lines() (3.10+) and
co_positions() (3.11+). The script refuses to print a vector when those
disagree, so a vector is never an artifact of one API alone.

Output, one record per line, space separated:
  VERSION <major> <minor> <micro> <kind>     kind: 1 lnotab, 2 3.10, 3 locations
  CODE <name> <firstlineno> <step> <table hex or ->
  RAW <l_0> <l_1> ...       line CPython gives at offsets 0, step, 2*step, ...
                            (-1: no line), via PyCode_Addr2Line
  LOOKUP <l_0> <l_1> ...    what line_map_lookup must return at those offsets:
                            RAW, or for -1 the nearest earlier line, or
                            firstlineno when there is none
  NEG <line at -2> <line at -1>   PyCode_Addr2Line for not-started frames
  FRAME <f_lasti> <f_lineno>      a live frame of the code above, captured
                            while it ran (or before it started, for a
                            generator): f_lasti is the byte offset the
                            sampler computes (f_lasti, f_lasti*2, prev_instr
                            or instr_ptr, per version) and f_lineno the line
                            CPython shows for that frame
  END <number of CODE records>
Offsets are bytes; step is 1 for 3.8-3.9 (every byte), 2 for 3.10+ (every
code unit, cache entries included).
"""
import bisect
import ctypes
import dis
import random
import sys
import types

MAJOR, MINOR, MICRO = sys.version_info[:3]
if (MAJOR, MINOR) < (3, 8):
    sys.exit("need CPython 3.8+")
KIND = 1 if MINOR < 10 else (2 if MINOR == 10 else 3)
STEP = 1 if KIND == 1 else 2

_addr2line = ctypes.pythonapi.PyCode_Addr2Line
_addr2line.argtypes = (ctypes.py_object, ctypes.c_int)
_addr2line.restype = ctypes.c_int


def fail(msg):
    sys.stderr.write("linetable_vectors: " + msg + "\n")
    sys.exit(1)


def table_of(co):
    return co.co_lnotab if KIND == 1 else co.co_linetable


def python_view(co):
    """Per-offset lines from the Python-level APIs (None: no line)."""
    n = len(co.co_code)
    offsets = list(range(0, n, STEP))
    if KIND == 1:
        starts = sorted(dis.findlinestarts(co))
        keys = [start for start, _ in starts]
        out = []
        for off in offsets:
            i = bisect.bisect_right(keys, off)
            out.append(starts[i - 1][1] if i else co.co_firstlineno)
        return out
    by_lines = [None] * len(offsets)
    seen = [False] * len(offsets)
    for start, end, line in co.co_lines():
        for off in range(start, min(end, n), STEP):
            if start % STEP or off % STEP:
                fail("odd co_lines bound in %s" % co.co_name)
            by_lines[off // STEP] = line
            seen[off // STEP] = True
    if KIND == 2:
        if not all(seen):
            fail("co_lines does not cover %s" % co.co_name)
        return by_lines
    positions = [p[0] for p in co.co_positions()]
    if len(positions) != len(offsets):
        fail("co_positions length %d != %d units in %s"
             % (len(positions), len(offsets), co.co_name))
    for i, (a, b, s) in enumerate(zip(positions, by_lines, seen)):
        if s and a != b:
            fail("co_positions/co_lines disagree at %d in %s: %r %r"
                 % (i * 2, co.co_name, a, b))
    return positions


def emit(co, name, out, frames=()):
    n = len(co.co_code)
    view = python_view(co)
    raw = []
    for i, off in enumerate(range(0, n, STEP)):
        c_line = _addr2line(co, off)
        py_line = -1 if view[i] is None else view[i]
        if c_line != py_line:
            fail("PyCode_Addr2Line(%s, %d) = %d but the Python view says %r"
                 % (name, off, c_line, view[i]))
        raw.append(c_line)
    lookup = []
    last = None
    for line in raw:
        if line >= 0:
            last = line
            lookup.append(line)
        else:
            lookup.append(co.co_firstlineno if last is None else last)
    neg = [_addr2line(co, -2), _addr2line(co, -1)]
    if neg != [co.co_firstlineno] * 2:
        fail("PyCode_Addr2Line(%s, <0) = %r, not firstlineno" % (name, neg))
    tab = table_of(co)
    out.append("CODE %s %d %d %s" % (name.replace(" ", "_") or "?", co.co_firstlineno, STEP,
                                     tab.hex() if tab else "-"))
    out.append("RAW " + " ".join(map(str, raw)))
    out.append("LOOKUP " + " ".join(map(str, lookup)))
    out.append("NEG %d %d" % tuple(neg))
    for lasti, lineno in frames:
        out.append("FRAME %d %d" % (lasti, lineno))


def walk(co, prefix=""):
    name = prefix + co.co_name
    yield name, co
    for const in co.co_consts:
        if isinstance(const, types.CodeType):
            for item in walk(const, name + "."):
                yield item


BASIC = '''
def loops(n):
    total = 0
    for i in range(n):
        if i % 3 == 0:
            continue
        total += i
    while n > 0:
        n -= 1
        if n == 5:
            break
    else:
        total = -1
    return total

def multiline(a, b):
    x = (a +
         b *
         (a -
          b))
    y = max(
        a,
        b,
    )
    return {
        "x": x,
        "y": y,
    }

def tries(path):
    try:
        f = open(path)
    except FileNotFoundError as e:
        return str(e)
    except (OSError,
            ValueError):
        raise
    else:
        f.close()
    finally:
        path = None
    try:
        return 1 / 0
    except ZeroDivisionError:
        pass
    with open(__file__) as g, \\
            open(__file__) as h:
        return g.read(1) + h.read(1)

def comprehensions(xs):
    a = [x * 2 for x in xs if x]
    b = {x: [y for y in range(x)]
         for x in xs}
    c = sum(x for x in xs)
    d = {
        x
        for x in xs
    }
    return a, b, c, d

def lambdas():
    f = lambda x: x + 1
    g = (lambda y:
         y * 2)
    return sorted([3, 1, 2], key=lambda v: -v), f, g

def outer(a):
    def middle(b):
        def inner(c):
            return a + b + c
        return inner
    class Local:
        attr = 1
        def method(self):
            return self.attr
    return middle, Local

def gen(n):
    yield 1
    for i in range(n):
        yield i
    return n

async def coro(x):
    await x
    async for y in x:
        pass
    return y

@staticmethod
def decorated(
        a,
        b=1,
        *args,
        **kwargs):
    return (a, b,
            args, kwargs)

def one_liner(): return 1

def fstrings(x):
    return f"{x!r:>{10}} and {x + 1}"
'''

MATCH = '''
def matcher(v):
    match v:
        case [1, 2, *rest]:
            return rest
        case {"k": k}:
            return k
        case str() | bytes():
            return 0
        case _:
            return None
'''


FRAMES = '''
def looped(n):
    acc = []
    for i in range(n):
        if i % 2:
            acc.append(probe())
        else:
            acc.append(
                probe(
                    i,
                ))
    while n:
        n -= 1
        acc.append(probe())
    return acc

def excepting():
    try:
        1 / 0
    except ZeroDivisionError:
        probe()
    finally:
        probe()
    return [probe() for _ in range(2)], (lambda: probe())()

def generator():
    probe()
    yield 1
    probe()
    yield 2

def run():
    looped(3)
    excepting()
    g = generator()
    probe(frame=g.gi_frame)
    next(g)
    probe(frame=g.gi_frame)
    next(g)
    probe(frame=g.gi_frame)
    def nested():
        return probe()
    nested()
'''


def capture_frames():
    """Run FRAMES; return its module code and {code: [(f_lasti, f_lineno)]}."""
    captured = {}

    def probe(*args, frame=None):
        frame = frame or sys._getframe(1)
        if frame.f_lineno is not None:
            captured.setdefault(frame.f_code, []).append((frame.f_lasti, frame.f_lineno))
        return 0

    module = compile(FRAMES, "<vectors-frames>", "exec")
    env = {"probe": probe}
    exec(module, env)
    env["run"]()
    return module, captured


def long_source():
    """> 256 lines, line gaps > 127 and > 255, single lines with > 255 bytes of
    code and wide columns, a call whose arguments span 300 lines (the call
    instruction then goes back to the first line), and a loop body of 300
    lines (backward jump of the line number at the loop end)."""
    s = ["def long_func(n):", "    total = 0"]
    for i in range(300):
        s.append("    total += n * %d" % i)
    s.extend(["    # gap"] * 200)
    s.append("    x = " + " + ".join("n * %d" % i for i in range(150)))
    s.extend(["    # gap"] * 400)
    s.append("    y = max(")
    for i in range(300):
        s.append("        n + %d," % i)
    s.append("    )")
    s.append("    while n > 0:")
    for i in range(300):
        s.append("        total -= %d" % i)
    s.append("        n -= 1")
    s.append("    return total, x, y")
    return "\n".join(s) + "\n"


def synthetic_tables(base, rng, count):
    """Random but well-formed tables put into a copy of base, decoded by
    CPython itself. Lines stay >= 1 so "no line" is never ambiguous."""
    n = len(base.co_code)
    first = base.co_firstlineno
    for k in range(count):
        if KIND == 1:
            tab = bytearray()
            line = first
            covered = 0
            while covered < n + 64:
                b = rng.choice([0, 0, 1, 2, 6, 100, 254, 255, rng.randrange(256)])
                d = rng.randrange(-128, 128)
                if line + d < 1:
                    d = min(-d, 127)
                tab += bytes([b, d & 0xFF])
                covered += b
                line += d
            co = base.replace(co_lnotab=bytes(tab))
        elif KIND == 2:
            tab = bytearray()
            line = first
            covered = 0
            while covered < n:
                b = min(rng.choice([0, 2, 4, 10, 254, 2 * rng.randrange(128)]), n - covered)
                if rng.random() < 0.2:
                    d = -128
                else:
                    d = rng.randrange(-127, 128)
                    if line + d < 1:
                        d = -d
                    line += d
                tab += bytes([b, d & 0xFF])
                covered += b
            co = base.replace(co_linetable=bytes(tab))
        else:
            tab = bytearray()
            line = first
            units = n // 2
            covered = 0
            while covered < units:
                length = min(rng.randrange(1, 9), units - covered)
                code = rng.randrange(16)
                head = bytes([0x80 | (code << 3) | (length - 1)])
                if code == 15:
                    tab += head
                elif code == 14:
                    d = rng.choice([0, 1, -1, 63, -64, 1000, -1000, rng.randrange(-5000, 5000)])
                    if line + d < 1:
                        d = -d
                    line += d
                    tab += head + svarint(d) + varint(rng.randrange(0, 3)) + \
                        varint(rng.randrange(0, 300)) + varint(rng.randrange(0, 300))
                elif code == 13:
                    d = rng.randrange(-200, 200)
                    if line + d < 1:
                        d = -d
                    line += d
                    tab += head + svarint(d)
                elif code >= 10:
                    line += code - 10
                    col = rng.randrange(128)
                    tab += head + bytes([col, rng.randrange(col, 128)])
                else:
                    tab += head + bytes([rng.randrange(128)])
                covered += length
            co = base.replace(co_linetable=bytes(tab))
        yield "synthetic_%d" % k, co


def varint(v):
    out = bytearray()
    while v >= 64:
        out.append(64 | (v & 63))
        v >>= 6
    out.append(v)
    return bytes(out)


def svarint(v):
    return varint((-v << 1) | 1 if v < 0 else v << 1)


def main():
    sources = [("basic", BASIC, 0), ("long", long_source(), 0),
               ("late", "def late(a):\n    if a:\n        return 1\n    return 2\n", 1200),
               ("very_late", "def very_late():\n    return [\n        1]\n", 70000)]
    if MINOR >= 10:
        sources.append(("match", MATCH, 0))
    codes = []
    for label, src, pad in sources:
        module = compile("\n" * pad + src, "<vectors-%s>" % label, "exec")
        for name, co in walk(module, label + ":"):
            codes.append((name, co))
    long_func = [co for name, co in codes if name.endswith(".long_func")][0]
    codes.extend(synthetic_tables(long_func, random.Random(20240611), 12))
    frames_module, captured = capture_frames()
    codes.extend(walk(frames_module, "frames:"))
    if sum(len(v) for v in captured.values()) < 15:
        fail("too few frames captured")

    out = ["VERSION %d %d %d %d" % (MAJOR, MINOR, MICRO, KIND)]
    for name, co in codes:
        emit(co, name, out, captured.get(co, ()))
    out.append("END %d" % len(codes))
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
