#!/bin/sh
# pyprof benchmark: build (Release, build-bench/) and run bench/bench.py.
#   bench/run.sh            full run (~10-15 min)
#   bench/run.sh --quick    smoke run (~1-2 min)
#   bench/run.sh --only 1,3 selected sections (0 syscall floor, 1 CPU/sample + 4 bytes/sample,
#                           2 max rate, 3 slowdown, 5 report, 6 native, 7 austin,
#                           8 truth of the default mode and the cost of stopped reads)
# PYPROF_BENCH_AUSTIN=/path/to/austin adds austin side by side.
# Results: table on stdout, bench/results/latest.{json,txt} + a timestamped copy.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
build=${PYPROF_BENCH_BUILD:-$repo/build-bench}
mkdir -p "$build"
log=$build/bench-build.log
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release -DPYPROF_TESTS=OFF -DPYPROF_BENCH=ON \
  >"$log.cmake" 2>&1 || { cat "$log.cmake"; exit 1; }
cmake --build "$build" -j"$jobs" --target pyprof pyprof-bench-gen pyprof-bench-syscost >"$log.build" 2>&1 \
  || { tail -40 "$log.build"; exit 1; }
exec /usr/bin/python3 "$here/bench.py" --pyprof "$build/pyprof" --gen "$build/pyprof-bench-gen" \
  --syscost "$build/pyprof-bench-syscost" "$@"
