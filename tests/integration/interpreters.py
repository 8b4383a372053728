"""The CPython interpreters the integration tests run against, present or not.

Each entry: (label, path, major, minor). A missing one is skipped by the tests
with the reason printed; tools/test.sh provisions what it can (pyenv's come
with the machine; static 3.9/3.13 are built by tools/build-cpython.sh; the
Debian sid chroot of tools/provision-chroot.sh holds 3.13-3.15 and their
debug builds, run through wrappers that enter the chroot: pyprof stays
outside, as with a container). Free-threaded builds (ft_3_14t) exist only
when someone built one (configure --disable-gil): PYPROF_FT_PYTHON names it,
else the usual places are looked at; CI tests it when it is there."""
import glob
import os

HOME = os.path.expanduser("~")
CHROOT = os.environ.get("PYPROF_CHROOT", f"{HOME}/.cache/pyprof-chroot/sid")


def _pyenv(minor):
    hits = sorted(glob.glob(f"{HOME}/.pyenv/versions/3.{minor}.*/bin/python3.{minor}"))
    hits = [h for h in hits if "t/bin" not in h]  # no free-threaded variants here
    return hits[-1] if hits else f"{HOME}/.pyenv/versions/3.{minor}.*/bin/python3.{minor}"


def _first(patterns, fallback):
    for p in patterns:
        hits = sorted(glob.glob(p))
        if hits:
            return hits[-1]
    return fallback


def candidates():
    c = [("debian_3_11", "/usr/bin/python3.11", 3, 11)]
    for minor in range(8, 14):
        c.append((f"pyenv_3_{minor}", _pyenv(minor), 3, minor))
    for minor in (9, 13):
        c.append((f"static_3_{minor}", f"{HOME}/.cache/pyprof-pythons/3.{minor}/bin/python3.{minor}", 3, minor))
    for minor in (13, 14, 15):
        for d in ("", "d"):
            c.append((f"chroot_3_{minor}{d}", f"{CHROOT}.bin/python3.{minor}{d}", 3, minor))
    c.append(("ft_3_14t", os.environ.get("PYPROF_FT_PYTHON") or _first([
        "/tmp/ft/3.14t/bin/python3.14t",
        "/tmp/*/3.14t/bin/python3.14t",
        f"{HOME}/.cache/pyprof-pythons*/3.14t/bin/python3.14t",
    ], "python3.14t (not found)"), 3, 14))
    c.append(("any_3_14", _first([
        f"{HOME}/.cache/pyprof-pythons*/3.14/bin/python3.14",
        "/tmp/py314*/bin/python3.14",
        "/usr/local/bin/python3.14",
        "/usr/bin/python3.14",
    ], "python3.14 (not found)"), 3, 14))
    return c


ONLY = [l for l in os.environ.get("PYPROF_TEST_ONLY", "").split(",") if l]


def free_threaded(label):
    """The candidate is a free-threaded (--disable-gil) build."""
    return label.startswith("ft_")


def selected(label):
    """False when PYPROF_TEST_ONLY (comma-separated labels) leaves label out."""
    return not ONLY or label in ONLY


def present(path):
    return os.path.isfile(path) and os.access(path, os.X_OK)


def candidates_paths(*labels):
    """Paths of the named candidates, in the order asked."""
    by = {c[0]: c[1] for c in candidates()}
    return [by[l] for l in labels if l in by]


def summary():
    """One line: which interpreters the suite will test, which it skips and why."""
    have, miss = [], []
    for label, path, _, _ in candidates():
        if not selected(label):
            miss.append(label)
        else:
            (have if present(path) else miss).append(label)
    why = {"static": "not built (tools/build-cpython.sh)", "chroot": "no chroot (tools/provision-chroot.sh)",
           "any": "no 3.14 outside the chroot", "pyenv": "not installed",
           "ft": "no free-threaded build (set PYPROF_FT_PYTHON)"}
    skipped = ", ".join(f"{l} ({why.get(l.split('_')[0], 'missing') if selected(l) else 'not in PYPROF_TEST_ONLY'})"
                        for l in miss)
    return f"interpreters: testing {len(have)}: {', '.join(have)}; skipping {len(miss)}: {skipped or '-'}"


if __name__ == "__main__":
    import sys
    if sys.argv[1:] == ["--summary"]:
        print(summary())
