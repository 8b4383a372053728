"""Ground truth for tests/test_layout.c and tests/test_pystr.c.

Run by the interpreter under test. It knows nothing of pyprof's layout tables:
addresses come from id() and the C API (through ctypes.pythonapi), expected
values from the Python level.

  layout_dump.py snapshot OUT   write every rw mapping of this process to OUT
                                (binary: b"PPDUMP01", then records of u64
                                address, u64 length, bytes; a 0,0 record ends
                                it) while the stack is <module> -> snapshot_mode
                                -> f -> g -> h -> snap, and print the expectations
  layout_dump.py strings        print str objects with their raw bytes

Output lines (numbers in decimal unless named hex):
  version MAJOR MINOR MICRO HEXVERSION
  runtime ADDR
  debug_offsets HEX              first 2048 bytes of _PyRuntime
  interp ADDR THREADS_HEAD       PyInterpreterState_Head(), its ThreadHead()
  tstate ADDR IDENT NATIVE_ID    PyThreadState_Get() and the current thread
  thread IDENT NATIVE_ID         every live threading.Thread
  stack CODE...                  code objects from the running frame outwards
  code LABEL ADDR FIRSTLINENO NAME QUALNAME FILENAME LINETABLE LINETABLE_HEX
                                 (QUALNAME 0 before 3.11)
  str LABEL ADDR RAW_HEX UTF8_HEX   (strings mode; RAW = sys.getsizeof bytes)
  bytes LABEL ADDR RAW_HEX DATA_HEX
  end
"""
import ctypes
import os
import sys
import threading

api = ctypes.pythonapi
api.PyInterpreterState_Head.restype = ctypes.c_void_p
api.PyInterpreterState_ThreadHead.restype = ctypes.c_void_p
api.PyInterpreterState_ThreadHead.argtypes = [ctypes.c_void_p]
api.PyThreadState_Get.restype = ctypes.c_void_p

RUNTIME = ctypes.addressof(ctypes.c_char.in_dll(api, "_PyRuntime"))
MODULE_CODE = sys._getframe(0).f_code

# pread through a PyDLL handle keeps the GIL held while reading, so the GIL
# state in the snapshot is "locked by this thread".
libc = ctypes.PyDLL(None)
libc.pread.restype = ctypes.c_ssize_t
libc.pread.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_long]


def raw(obj):
    return ctypes.string_at(id(obj), sys.getsizeof(obj))


def linetable(code):
    if sys.version_info >= (3, 10):
        return code.co_linetable
    return code.co_lnotab


def code_line(label, code):
    lt = linetable(code)
    qual = id(code.co_qualname) if sys.version_info >= (3, 11) else 0
    return "code %s %d %d %d %d %d %d %s" % (
        label, id(code), code.co_firstlineno, id(code.co_name), qual,
        id(code.co_filename), id(lt), lt.hex() or "-")


BIG = 256 << 20   # a mapping larger than this is copied only around WANT
AROUND = 1 << 20  # bytes each side of an address of WANT


def wanted_addresses():
    """Objects the checks read, for mappings too big to copy whole (the
    free-threaded build's mimalloc arenas reserve 1 GiB)."""
    out = []
    for c in (snap.__code__, h.__code__, g.__code__, f.__code__, snapshot_mode.__code__, MODULE_CODE):
        out += [id(c), id(c.co_name), id(c.co_filename), id(linetable(c))]
        if sys.version_info >= (3, 11):
            out.append(id(c.co_qualname))
    # what thread names are read through (threading._active)
    out += [id(sys.modules), id(threading), id(vars(threading)), id(threading._active)]
    for k in list(sys.modules):
        out.append(id(k))
    for th in threading.enumerate():
        out += [id(th), id(th._name), id(type(th))]
    return out


def resident(lo, hi):
    """The runs of pages of [lo, hi) that are in memory (/proc/self/pagemap,
    bit 63), or None when pagemap cannot be read."""
    page = os.sysconf("SC_PAGE_SIZE")
    try:
        with open("/proc/self/pagemap", "rb") as pm:
            pm.seek(lo // page * 8)
            raw = pm.read((hi - lo) // page * 8)
    except OSError:
        return None
    runs, start = [], None
    for i in range(len(raw) // 8):
        present = raw[i * 8 + 7] & 0x80
        a = lo + i * page
        if present and start is None:
            start = a
        elif not present and start is not None:
            runs.append((start, a))
            start = None
    if start is not None:
        runs.append((start, lo + len(raw) // 8 * page))
    return runs


def rw_mappings(want=()):
    out = []
    with open("/proc/self/maps") as fh:
        for line in fh:
            f = line.split()
            lo, hi = (int(x, 16) for x in f[0].split("-"))
            name = f[5] if len(f) > 5 else ""
            if not f[1].startswith("rw") or name in ("[vvar]", "[vsyscall]"):
                continue
            if hi - lo <= BIG:
                out.append((lo, hi - lo))
                continue
            spans = resident(lo, hi)
            if spans is None:
                spans = sorted((max(lo, a - AROUND), min(hi, a + AROUND)) for a in want if lo <= a < hi)
            merged = []
            for a, b in spans:
                if merged and a <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], b)
                else:
                    merged.append([a, b])
            out += [(a, b - a) for a, b in merged]
    return out


def snap(path, lines):
    maps = rw_mappings(wanted_addresses())
    bufs = [ctypes.create_string_buffer(n) for _, n in maps]
    got = [0] * len(maps)
    fd = os.open("/proc/self/mem", os.O_RDONLY)
    i = 0
    while i < len(maps):
        # every read happens here, in this frame, so the thread state and
        # the frame chain captured are the same for all mappings
        got[i] = libc.pread(fd, bufs[i], maps[i][1], maps[i][0])
        i += 1
    os.close(fd)
    with open(path, "wb") as out:
        out.write(b"PPDUMP01")
        for (addr, n), buf, k in zip(maps, bufs, got):
            if k <= 0:
                continue  # unreadable mapping: leave it out
            # k < n: the mapping shrank meanwhile (malloc trims the brk heap
            # after the buffers above are allocated); keep what was there.
            out.write(addr.to_bytes(8, "little") + k.to_bytes(8, "little"))
            out.write(buf.raw[:k])
        out.write(bytes(16))
    codes = [snap.__code__, h.__code__, g.__code__, f.__code__, snapshot_mode.__code__,
             MODULE_CODE]
    lines.append("stack " + " ".join(str(id(c)) for c in codes))
    for label, c in zip(("snap", "h", "g", "f", "snapshot_mode", "module"), codes):
        lines.append(code_line(label, c))


def h(path, lines):
    snap(path, lines)


def g(path, lines):
    h(path, lines)


def f(path, lines):
    g(path, lines)


def header(lines):
    v = sys.version_info
    lines.append("version %d %d %d %d" % (v.major, v.minor, v.micro, sys.hexversion))
    lines.append("runtime %d" % RUNTIME)
    lines.append("debug_offsets " + ctypes.string_at(RUNTIME, 2048).hex())


def snapshot_mode(path):
    lines = []
    header(lines)
    native = threading.get_native_id() if hasattr(threading, "get_native_id") else 0
    lines.append("tstate %d %d %d" % (api.PyThreadState_Get(), threading.get_ident(), native))
    # a second thread, parked, so the thread list has two entries
    ready, stop = threading.Event(), threading.Event()

    def parked():
        ready.set()
        stop.wait()

    t = threading.Thread(target=parked, name="parked \u00e9t\u00e9 \u8a08")
    t.start()
    ready.wait()
    interp = api.PyInterpreterState_Head()
    lines.append("interp %d %d" % (interp, api.PyInterpreterState_ThreadHead(interp)))
    for th in threading.enumerate():
        lines.append("thread %d %d %s" % (th.ident, getattr(th, "native_id", 0) or 0,
                                          th.name.encode().hex()))
    f(path, lines)
    stop.set()
    t.join()
    lines.append("end")
    print("\n".join(lines))


STRINGS = {
    "ascii": "abc",
    "empty": "",
    "latin1": "caf\u00e9",
    "ucs2": "\u8a08\u7b97",
    "ucs4": "\U0001F600",
    "long_ascii": "x" * 5000,
    "long_ucs2": "\u00e9\u8a08" * 3000,
    "mixed": "a\u00e9\u8a08\U0001F600z",
}


def strings_mode():
    lines = []
    header(lines)
    # build the strings at run time so none is a shared constant
    objs = {k: "".join(list(v)) for k, v in STRINGS.items()}
    for label, s in objs.items():
        lines.append("str %s %d %s %s" % (label, id(s), raw(s).hex(), s.encode().hex() or "-"))
    for label, b in (("bytes", bytes(range(256)) * 3), ("bytes_empty", b"")):
        lines.append("bytes %s %d %s %s" % (label, id(b), raw(b).hex(), b.hex() or "-"))
    lines.append("end")
    print("\n".join(lines))
    return objs


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "snapshot":
        snapshot_mode(sys.argv[2])
    elif len(sys.argv) == 2 and sys.argv[1] == "strings":
        strings_mode()
    else:
        sys.exit("usage: layout_dump.py snapshot OUT | strings")
