#!/usr/bin/env bash
# Regenerates the fuzz seed corpora (fuzz/corpus/*) and fuzz/fuzz_dbg_data.c
# from the CPython interpreters present (pyenv 3.8-3.13, a 3.14 on PATH or in
# /tmp/py314*, 3.14/3.15 of tools/provision-chroot.sh's chroot). Inputs a harness found (regress-*) are kept. Not run by CI:
# the corpora are committed.
#
#   fuzz/gen_seeds.sh [BUILD_DIR]      (default build-fuzz)
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build-fuzz}
C=fuzz/corpus
T=$(mktemp -d /tmp/pyprof-seeds.XXXXXX)
trap 'rm -rf "$T"' EXIT

find_python() {  # $1 = minor
  local m=$1 p
  for p in "$HOME"/.pyenv/versions/3."$m".*/bin/python3."$m"; do
    [ -x "$p" ] && { echo "$p"; return 0; }
  done
  if [ "$m" -ge 14 ]; then
    p=$(command -v "python3.$m" 2>/dev/null || true)
    [ -n "$p" ] && { echo "$p"; return 0; }
    for p in /tmp/py3"$m"*/bin/python3."$m" "$HOME"/.cache/pyprof-pythons*/3."$m"/bin/python3."$m" \
             "${PYPROF_CHROOT:-$HOME/.cache/pyprof-chroot/sid}.bin/python3.$m"; do
      [ -x "$p" ] && { echo "$p"; return 0; }
    done
  fi
  return 1
}

declare -A PY
for m in 8 9 10 11 12 13 14 15; do
  if p=$(find_python $m); then PY[$m]=$p; echo "gen_seeds: 3.$m: $p"; else echo "gen_seeds: 3.$m: not found, skipped"; fi
done

# The fixed 3.13 / 3.14 layouts of the harnesses.
if [ -n "${PY[13]:-}" ] && [ -n "${PY[14]:-}" ]; then
  python3 fuzz/gen_dbg_data.py "${PY[13]}" "${PY[14]}" fuzz/fuzz_dbg_data.c
fi

if [ ! -f "$B/CMakeCache.txt" ]; then
  cmake -S . -B "$B" -DPYPROF_FUZZ=ON -DCMAKE_C_COMPILER=clang -DPYPROF_TESTS=OFF \
    -DPYPROF_BENCH=OFF >/dev/null
fi
cmake --build "$B" -j"$(nproc)" --target pyprof-fuzz-seedgen >/dev/null
SG=$B/pyprof-fuzz-seedgen

for h in frame_walk linetable pystr layout_dbg record_reader; do
  mkdir -p "$C/$h"
  find "$C/$h" -type f ! -name 'regress-*' -delete
done

for m in "${!PY[@]}"; do
  p=${PY[$m]}
  # frame_walk: tests/layout_dump.py's snapshot (2 threads, 6 frames) and
  # fuzz/snapshot.py's (4 threads, ~120 frames, non-ASCII names).
  out=$("$p" tests/layout_dump.py snapshot "$T/dump")
  rt=$(awk '$1 == "runtime" {print $2}' <<<"$out")
  "$SG" image "$T/dump" "$rt" "$m" "$C/frame_walk/basic-3.$m"
  out=$("$p" fuzz/snapshot.py "$T/dump")
  rt=$(awk '$1 == "runtime" {print $2}' <<<"$out")
  "$SG" image "$T/dump" "$rt" "$m" "$C/frame_walk/rich-3.$m"
  rm -f "$T/dump"
  # pystr and linetable: real objects and tables.
  "$p" fuzz/seed_objects.py "$("$SG" layout-index "$m")" "$C/pystr" "$C/linetable"
done

# layout_dbg: real _Py_DebugOffsets (2048 bytes, as pyprof reads them) and
# edited copies: a pre-release, an unknown newer minor, free-threaded, cut.
for m in 13 14 15; do
  [ -n "${PY[$m]:-}" ] || continue
  "${PY[$m]}" - "$C/layout_dbg" "$m" <<'PYEOF'
import ctypes, struct, sys
out, m = sys.argv[1], sys.argv[2]
b = ctypes.string_at(ctypes.addressof(ctypes.c_char.in_dll(ctypes.pythonapi, "_PyRuntime")), 2048)
def w(name, data):
    open("%s/3.%s-%s" % (out, m, name), "wb").write(data)
w("real", b)
v = struct.unpack_from("<Q", b, 8)[0]
w("prerelease", b[:8] + struct.pack("<Q", (v & ~0xff) | 0xb1) + b[16:])
w("newer-minor", b[:8] + struct.pack("<Q", (v & ~0xff0000) | (20 << 16)) + b[16:])
w("free-threaded", b[:16] + struct.pack("<Q", 1) + b[24:])
w("cut", b[:600])
PYEOF
done

# record_reader: files from the real writer, and one cut inside a chunk.
"$SG" record "$C/record_reader"
head -c 700 "$C/record_reader/chunks.pyprof" >"$C/record_reader/cut.pyprof"

for h in frame_walk linetable pystr layout_dbg record_reader; do
  printf 'gen_seeds: %-14s %3d files %6d KiB\n' "$h" "$(find "$C/$h" -type f | wc -l)" \
    "$(du -sk "$C/$h" | cut -f1)"
done
