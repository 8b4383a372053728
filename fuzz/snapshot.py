"""A whole-process snapshot for fuzz seeds (fuzz/gen_seeds.sh), richer than
tests/layout_dump.py's own: four threads, a 30-deep recursion through
functions with latin-1, UCS-2 and UCS-4 names, a method, a generator and a
lambda on the stack. The snapshot itself is written by layout_dump.snap()
(format in tests/layout_dump.py).

  python3.X fuzz/snapshot.py OUT     prints "runtime ADDR" and "minor N"
"""
import ctypes
import os
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import layout_dump  # noqa: E402


def façade(n, done):
    if n == 0:
        return done()
    return façade(n - 1, done)


def 計算(n, done):
    return façade(n, done) if n % 2 else 𝔣𝔲𝔫𝔠(n, done)


def 𝔣𝔲𝔫𝔠(n, done):
    return façade(n, done)


class Worker:
    def run(self, n, done):
        return (lambda: 計算(n, done))()


def gen(done):
    yield Worker().run(30, done)


def parked(ready, stop, depth):
    def wait():
        ready.release()
        stop.wait()
    façade(depth, wait)


def main(out):
    stop = threading.Event()
    ready = threading.Semaphore(0)
    threads = [threading.Thread(target=parked, args=(ready, stop, d)) for d in (3, 12, 40)]
    for t in threads:
        t.start()
    for _ in threads:
        ready.acquire()
    lines = []
    next(gen(lambda: layout_dump.snap(out, lines)))
    stop.set()
    for t in threads:
        t.join()
    print("runtime %d" % layout_dump.RUNTIME)
    print("minor %d" % sys.version_info[1])


if __name__ == "__main__":
    main(sys.argv[1])
