"""The CPython interpreters the integration tests run against, present or not.

Each entry: (label, path, major, minor). A missing one is skipped by the tests
with the reason printed; CI installs what it needs (see .ci/run)."""
import glob
import os

HOME = os.path.expanduser("~")


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
    for minor in (9, 11, 13):
        c.append((f"static_3_{minor}", f"{HOME}/.cache/pyprof-pythons/3.{minor}/bin/python3.{minor}", 3, minor))
    c.append(("any_3_14", _first([
        f"{HOME}/.cache/pyprof-pythons*/3.14/bin/python3.14",
        "/tmp/py314*/bin/python3.14",
        "/usr/local/bin/python3.14",
        "/usr/bin/python3.14",
    ], "python3.14 (not found)"), 3, 14))
    return c


def present(path):
    return os.path.isfile(path) and os.access(path, os.X_OK)


def candidates_paths(*labels):
    """Paths of the named candidates, in the order asked."""
    by = {c[0]: c[1] for c in candidates()}
    return [by[l] for l in labels if l in by]
