#!/usr/bin/env bash
# Builds the libFuzzer harnesses (fuzz/, docs/robustness.md "Fuzzing") with
# clang into build-fuzz and runs each for SECONDS on a copy of its committed
# seed corpus (fuzz/corpus/NAME; the copy is thrown away, so the committed
# corpus does not grow). Exits non-zero if any harness reports a crash, a
# timeout (> 1 s on one input), a leak, an out-of-memory or a sanitizer error;
# the input that did it is kept under build-fuzz/fuzz-out/NAME/.
#
#   tools/fuzz.sh [SECONDS] [HARNESS...]      default: 60 s, every harness
#
# HARNESS is frame_walk, linetable, pystr, layout_dbg or record_reader.
# Environment: FUZZ_JOBS harnesses run at once (default: the number of CPUs;
# each libFuzzer process uses one), FUZZ_BUILD_DIR (default build-fuzz),
# FUZZ_ARGS extra libFuzzer flags. Needs clang and libclang-rt-14-dev
# (tools/setup-debian.sh installs both). With the defaults on 2 CPUs,
# `tools/fuzz.sh 60` takes about 4 minutes including the build.
set -euo pipefail
cd "$(dirname "$0")/.."

ALL=(frame_walk linetable pystr layout_dbg record_reader)
secs=60
if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then
  secs=$1
  shift
fi
if [ $# -gt 0 ]; then
  harnesses=("$@")
else
  harnesses=("${ALL[@]}")
fi
for h in "${harnesses[@]}"; do
  [ -d "fuzz/corpus/$h" ] || { echo "fuzz.sh: unknown harness '$h' (have: ${ALL[*]})" >&2; exit 2; }
done

B=${FUZZ_BUILD_DIR:-build-fuzz}
jobs=${FUZZ_JOBS:-$(nproc)}
[ "$jobs" -ge 1 ] || jobs=1

command -v clang >/dev/null || { echo "fuzz.sh: clang not found (run tools/setup-debian.sh)" >&2; exit 1; }

echo "== fuzz build ($B) =="
t0=$(date +%s)
mkdir -p "$B"
cmake -S . -B "$B" -DPYPROF_FUZZ=ON -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DPYPROF_TESTS=OFF -DPYPROF_BENCH=OFF >"$B/fuzz-cmake.log" 2>&1 ||
  { cat "$B/fuzz-cmake.log" >&2; echo "fuzz.sh: cmake failed" >&2; exit 1; }
targets=()
for h in "${harnesses[@]}"; do targets+=(--target "fuzz_$h"); done
cmake --build "$B" -j"$(nproc)" "${targets[@]}" >"$B/fuzz-build.log" 2>&1 ||
  { tail -40 "$B/fuzz-build.log" >&2; echo "fuzz.sh: build failed (log: $B/fuzz-build.log)" >&2; exit 1; }
echo "built in $(($(date +%s) - t0)) s"

out=$B/fuzz-out
rm -rf "$out"
mkdir -p "$out"

# One harness: fresh corpus copy, then libFuzzer until SECONDS have passed.
# libFuzzer's timeout is wall-clock time: on a machine loaded by other work a
# fast input can be descheduled past it, which ends the run. Such a timeout
# is checked by running the input alone three times; if it is fast at least
# once it was the machine, not the input: it is set aside (flaky-N) and
# fuzzing resumes on the same corpus (at most 10 times). Anything else ends
# the harness's run. Logs: $out/NAME.runK.log; result in $out/NAME.rc, the
# number of set-aside timeouts in $out/NAME.flaky.
run_one() {
  local h=$1 dir=$out/$h rc=0 k=0 flaky=0 start left
  mkdir -p "$dir/corpus" "$dir/artifacts"
  cp fuzz/corpus/"$h"/* "$dir/corpus/"
  local dict=()
  [ -f "fuzz/$h.dict" ] && dict=(-dict="fuzz/$h.dict")
  start=$(date +%s)
  while :; do
    left=$((secs - ($(date +%s) - start)))
    [ $k -eq 0 ] || [ $left -gt 5 ] || break
    [ $left -ge 1 ] || left=1
    k=$((k + 1))
    rc=0
    # shellcheck disable=SC2086
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
      UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
      timeout $((left + 300)) "$B/fuzz_$h" -max_total_time="$left" -timeout=1 \
      -rss_limit_mb=2048 -malloc_limit_mb=512 -print_final_stats=1 \
      -artifact_prefix="$dir/artifacts/" "${dict[@]}" ${FUZZ_ARGS:-} "$dir/corpus" \
      >"$dir.run$k.log" 2>&1 || rc=$?
    [ $rc -ne 0 ] || break
    local a
    a=$(find "$dir/artifacts" -name 'timeout-*' | head -1)
    [ -n "$a" ] && grep -q 'ERROR: libFuzzer: timeout' "$dir.run$k.log" && [ $flaky -lt 10 ] || break
    local fails=0
    for _ in 1 2 3; do
      "$B/fuzz_$h" -timeout=1 -rss_limit_mb=2048 -malloc_limit_mb=512 "$a" \
        >>"$dir.rerun.log" 2>&1 || fails=$((fails + 1))
    done
    [ $fails -lt 3 ] || break
    flaky=$((flaky + 1))
    mv "$a" "$dir/flaky-$flaky"
  done
  echo "$rc" >"$dir.rc"
  echo "$flaky" >"$dir.flaky"
  echo "$k" >"$dir.runs"
}

echo "== fuzzing: ${harnesses[*]} for $secs s each, $jobs at a time =="
running=0
for h in "${harnesses[@]}"; do
  run_one "$h" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait || true

fail=0
printf '%-14s %12s %8s %6s %7s %7s  %s\n' harness execs exec/s cov ft corpus result
for h in "${harnesses[@]}"; do
  rc=$(cat "$out/$h.rc" 2>/dev/null || echo 1)
  runs=$(cat "$out/$h.runs" 2>/dev/null || echo 1)
  flaky=$(cat "$out/$h.flaky" 2>/dev/null || echo 0)
  log=$out/$h.run$runs.log
  execs=0
  for ((k = 1; k <= runs; k++)); do
    e=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$h.run$k.log" 2>/dev/null | tail -1)
    execs=$((execs + ${e:-0}))
  done
  eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
  cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$last")
  artifacts=$(find "$out/$h/artifacts" -type f 2>/dev/null | head -3)
  result=ok
  [ "$flaky" -eq 0 ] || result="ok ($flaky timeouts under load did not reproduce alone: $out/$h/flaky-*)"
  if [ "$rc" != 0 ] || [ -n "$artifacts" ] ||
    grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|fuzz invariant violated|unexpected result' "$log"; then
    result="FAIL (exit $rc)"
    if grep -q 'ERROR: libFuzzer: timeout' "$log"; then result="FAIL: timeout"
    elif grep -q 'ERROR: LeakSanitizer' "$log"; then result="FAIL: leak"
    elif grep -qE 'out-of-memory|malloc limit' "$log"; then result="FAIL: out of memory"
    elif grep -q 'runtime error:' "$log"; then result="FAIL: undefined behaviour"
    elif grep -q 'ERROR: AddressSanitizer' "$log"; then result="FAIL: memory error"
    elif grep -qE 'fuzz invariant violated|unexpected result' "$log"; then result="FAIL: invariant"
    elif grep -q 'deadly signal' "$log"; then result="FAIL: crash"
    fi
    fail=1
  fi
  printf '%-14s %12s %8s %6s %7s %7s  %s\n' "$h" "$execs" "${eps:-?}" "${cov:-?}" \
    "${ft:-?}" "${corp:-?}" "$result"
  if [[ $result == FAIL* ]]; then
    echo "  log: $log"
    for a in $artifacts; do
      echo "  input: $a   (reproduce: $B/fuzz_$h $a)"
    done
  fi
done
echo "total $(($(date +%s) - t0)) s"
if [ $fail -ne 0 ]; then
  echo "fuzz.sh: FAILED: a harness found a problem (see above)" >&2
  exit 1
fi
echo "fuzz.sh: all harnesses ok"
