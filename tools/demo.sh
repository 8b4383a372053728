#!/usr/bin/env bash
# The main job in one command (README "Quick start"): set up, build, profile
# examples/simulate.py, print the top table and write the profiles.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup-debian.sh
cmake -S . -B build >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
mkdir -p demo-out
build/pyprof record -r 1k -o demo-out/simulate.pyprof -- python3 examples/simulate.py
build/pyprof report demo-out/simulate.pyprof
build/pyprof report -f folded -o demo-out/simulate.folded demo-out/simulate.pyprof
build/pyprof report -f pstats -o demo-out/simulate.prof demo-out/simulate.pyprof
build/pyprof report -f flamegraph -o demo-out/simulate.html demo-out/simulate.pyprof
echo
echo "demo: flamegraph in demo-out/simulate.html (open it in a browser);"
echo "      also demo-out/simulate.folded (folded stacks) and demo-out/simulate.prof (pstats)"
