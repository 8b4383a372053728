#!/usr/bin/env bash
# The test command (README "Testing"; .ci/run calls exactly this).
# Sets up everything on a fresh Debian machine, then builds and runs the whole
# suite twice: a normal -Werror build, and an ASan+UBSan build; then runs each
# libFuzzer harness for 60 s (tools/fuzz.sh).
#   tools/test.sh            everything (~16 min on 2 cores once the interpreters are built)
#   tools/test.sh --quick    normal build only, no interpreter builds, no fuzzing
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
[ "${1:-}" = "--quick" ] && quick=1

bash tools/setup-debian.sh

# Static interpreters the suite also tests against (cached after the first
# build, ~5 min each on 2 cores). Built from Debian's sources by the team's
# shared script when it is there.
if [ $quick -eq 0 ] && [ -x ../shared/tools/build-cpython.sh ]; then
  for v in 3.9 3.13; do
    ../shared/tools/build-cpython.sh "$v" >"/tmp/pyprof-build-cpython-$v.log" 2>&1 ||
      echo "test.sh: warning: building static CPython $v failed (see /tmp/pyprof-build-cpython-$v.log); its tests will be skipped" >&2
  done
fi

run_suite() {  # $1 = build dir, rest = cmake options
  local dir=$1; shift
  cmake -S . -B "$dir" -DPYPROF_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j"$(nproc)"
  (cd "$dir" && ctest --output-on-failure --timeout 2400)
}

echo "== normal build (-Werror) =="
run_suite build
if [ $quick -eq 0 ]; then
  echo "== ASan + UBSan build =="
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_suite build-asan -DPYPROF_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
  echo "== fuzzing (60 s per harness) =="
  tools/fuzz.sh 60
fi
echo "test.sh: all tests passed"
