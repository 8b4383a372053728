#!/usr/bin/env bash
# The test command (README "Testing"; .ci/run calls exactly this).
# Sets up everything on a fresh Debian machine, then builds and runs the whole
# suite twice: a normal -Werror build, and an ASan+UBSan build; then runs each
# libFuzzer harness for 60 s (tools/fuzz.sh).
#   tools/test.sh            everything (~16 min on 2 cores once the interpreters are built)
#   tools/test.sh --quick    normal build only, no static interpreter builds, no fuzzing
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
[ "${1:-}" = "--quick" ] && quick=1

bash tools/setup-debian.sh

# Interpreters the suite also tests against, provisioned by the project's own
# tools (cached after the first run):
# - static CPython 3.9 and 3.13 built from Debian's source packages
#   (tools/build-cpython.sh, ~5 min each on 2 cores the first time);
# - a Debian sid chroot with python3.13/3.14/3.15 and their debug builds
#   (tools/provision-chroot.sh, ~1 min), the checkout and /tmp exposed in it.
if [ $quick -eq 0 ]; then
  for v in 3.9 3.13; do
    tools/build-cpython.sh "$v" >"/tmp/pyprof-build-cpython-$v.log" 2>&1 ||
      echo "test.sh: warning: building static CPython $v failed (see /tmp/pyprof-build-cpython-$v.log); its tests will be skipped" >&2
  done
fi
# The exposed directories and /proc are unmounted again when this script ends.
trap 'tools/provision-chroot.sh --umount >/dev/null 2>&1 || true' EXIT
tools/provision-chroot.sh --expose /tmp --expose "$PWD" >/tmp/pyprof-chroot.log 2>&1 ||
  echo "test.sh: warning: no sid chroot (see /tmp/pyprof-chroot.log); the 3.13-3.15 chroot tests will be skipped" >&2
python3 tests/integration/interpreters.py --summary
# The generated layout data must be what each version's headers say (the
# generators compile their probes against pyenv's and the chroot's headers).
if tools/provision-chroot.sh --check >/dev/null 2>&1; then
  python3 tools/gen-dbg-offsets.py --check
  python3 tools/gen-pyobjects.py --check
fi

run_suite() {  # $1 = build dir, $2 = ctest exclusion regex (or ""), rest = cmake options
  local dir=$1 exclude=$2; shift 2
  cmake -S . -B "$dir" -DPYPROF_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j"$(nproc)"
  (cd "$dir" && ctest --output-on-failure --timeout 2400 ${exclude:+-E "$exclude"})
}

echo "== normal build (-Werror) =="
run_suite build ""
if [ $quick -eq 0 ]; then
  echo "== ASan + UBSan build =="
  # One interpreter of each layout family (frame objects, 3.11, 3.12, and the
  # _Py_DebugOffsets minors) keeps this run's time in bounds; the normal
  # build above ran them all.
  export PYPROF_TEST_ONLY=pyenv_3_8,debian_3_11,pyenv_3_12,static_3_13,chroot_3_14d,chroot_3_15,ft_3_14t
  python3 tests/integration/interpreters.py --summary
  # The truth suite compares shares within a few points: a sanitizer build
  # samples too slowly for its statistics, so it runs in the normal build
  # only (the same code paths run here through the integration tests).
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_suite build-asan '^truth$' -DPYPROF_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
  echo "== fuzzing (60 s per harness) =="
  tools/fuzz.sh 60
fi
echo "test.sh: all tests passed"
