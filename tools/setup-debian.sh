#!/usr/bin/env bash
# Installs the Debian packages pyprof needs to build, test and benchmark.
# Idempotent and non-interactive: packages already present are not reinstalled,
# and apt's index is refreshed only when something is missing.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config   # toolchain
  libelf-dev                         # ELF symbol lookup (_PyRuntime, libpython)
  libcriterion-dev                   # unit tests
  clang libclang-rt-14-dev           # sanitizer and fuzzer runtimes
  python3                            # Debian's static-in-executable 3.11, a test target
  procps psmisc                      # ps/kill used by integration tests
  libxml2-utils                      # xmllint: the flamegraph page is checked with it
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-debian: all ${#PKGS[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup-debian: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
echo "setup-debian: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
