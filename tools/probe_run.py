"""Shared by the layout generators (tools/gen-dbg-offsets.py,
tools/gen-pyobjects.py): compile a C probe against one CPython's headers,
on this machine or inside the chroot of tools/provision-chroot.sh, run it,
and return what it printed."""
import os
import subprocess
import tempfile


class ProbeError(Exception):
    """The probe did not compile (compiled=False) or exited non-zero; .detail
    holds the compiler's error output or the probe's last line."""

    def __init__(self, compiled, detail):
        super().__init__(detail)
        self.compiled = compiled
        self.detail = detail


def run_probe(src, inc, chroot=None, cflags=()):
    """Compile src against include directory inc (and its internal/ and
    internal/mimalloc) with cflags, run it, return its stdout."""
    with tempfile.TemporaryDirectory(dir=os.path.join(chroot, "tmp") if chroot else None) as tmp:
        with open(os.path.join(tmp, "probe.c"), "w") as f:
            f.write(src)
        inner = "/" + os.path.relpath(tmp, chroot) if chroot else tmp
        cc = ["gcc", "-std=gnu11", "-w", *cflags, "-I" + inc, "-I" + inc + "/internal",
              "-I" + inc + "/internal/mimalloc", inner + "/probe.c", "-o", inner + "/probe"]
        run = [inner + "/probe"]
        if chroot:
            cc, run = ["chroot", chroot] + cc, ["chroot", chroot] + run
        r = subprocess.run(cc, capture_output=True, text=True)
        if r.returncode != 0:
            raise ProbeError(False, r.stderr[-3000:])
        r = subprocess.run(run, capture_output=True, text=True)
        if r.returncode != 0:
            raise ProbeError(True, (r.stdout.strip().splitlines() or ["exit %d" % r.returncode])[-1])
        return r.stdout


def chroot_root(prog, here):
    """The root of the chroot of tools/provision-chroot.sh, or exit naming prog."""
    r = subprocess.run(["bash", os.path.join(here, "provision-chroot.sh"), "--check"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("%s: no chroot (run tools/provision-chroot.sh first)" % prog)
    return r.stdout.strip()


def write_or_check(prog, path, text, check, what):
    """Write the generated text to path, or with check compare it with the
    committed file; the exit status (1: out of date)."""
    if check:
        with open(path) as f:
            same = f.read() == text
        print("%s: %s is %s" % (prog, path, "up to date" if same else "out of date"))
        return 0 if same else 1
    with open(path, "w") as f:
        f.write(text)
    print("%s: wrote %s (%s)" % (prog, path, what))
    return 0
