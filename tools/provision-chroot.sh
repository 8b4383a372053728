#!/usr/bin/env bash
# Provisions the test interpreters that Debian ships only in its newest suite:
# a Debian sid chroot (debootstrap --variant=minbase) holding python3.13,
# python3.14, python3.15, their -dbg builds (python3.Xd) and libpython3.15-dev,
# with /proc mounted inside it. pyprof runs outside the chroot and profiles
# processes inside it, as it would a container's.
#
#   tools/provision-chroot.sh            create or update; print the root
#   tools/provision-chroot.sh --check    print the root if it is usable, else exit 1
#   tools/provision-chroot.sh --umount   unmount its /proc
#
# The mirror is the one this machine's apt already uses (read from apt's
# sources, never hard-coded). The chroot is cached in
# ${PYPROF_CHROOT:-$HOME/.cache/pyprof-chroot/sid}: a second run only checks
# that the packages are there and /proc is mounted (seconds). About a minute
# the first time, plus the packages' download. Needs root (debootstrap,
# mount); as non-root it says so and exits 1.
set -euo pipefail

ROOT=${PYPROF_CHROOT:-$HOME/.cache/pyprof-chroot/sid}
PKGS=(python3.13 python3.14 python3.15 python3.13-dbg python3.14-dbg python3.15-dbg
      libpython3.15-dev gcc libc6-dev)
mode=${1:-}

say() { echo "provision-chroot: $*" >&2; }

mounted() { mountpoint -q "$ROOT/proc" 2>/dev/null; }

usable() {
  [ -x "$ROOT/usr/bin/python3.15" ] && [ -x "$ROOT/usr/bin/python3.14" ] &&
    [ -x "$ROOT/usr/bin/python3.13" ] && [ -x "$ROOT/usr/bin/python3.15d" ] && mounted
}

case "$mode" in
  --check)
    if usable; then echo "$ROOT"; exit 0; fi
    exit 1 ;;
  --umount)
    if mounted; then umount "$ROOT/proc"; fi
    exit 0 ;;
  ""|--update) ;;
  -h|--help)
    sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
    exit 0 ;;
  *) say "unknown option '$mode' (see --help)"; exit 2 ;;
esac

if [ "$(id -u)" -ne 0 ]; then
  say "needs root (debootstrap and mount); skipping"
  exit 1
fi

# The mirror of this machine's Debian sources (deb822 .sources or one-line
# sources.list), the first http(s) URI that serves /debian.
mirror() {
  local f uri
  for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    while read -r uri; do
      case "$uri" in
        http*://*/debian|http*://*/debian/) echo "${uri%/}"; return 0 ;;
      esac
    done < <(sed -n -e 's/^URIs:[[:space:]]*//p' -e 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\{0,1\}\([^[:space:]]*\).*/\2/p' "$f" |
             tr ' ' '\n')
  done
  return 1
}

if ! command -v debootstrap >/dev/null; then
  say "installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null; }
fi

MIRROR=$(mirror) || { say "no Debian mirror found in /etc/apt/sources*; cannot build the chroot"; exit 1; }

if [ ! -x "$ROOT/usr/bin/apt-get" ]; then
  say "creating a sid chroot in $ROOT from $MIRROR (about a minute)"
  rm -rf "$ROOT"
  mkdir -p "$ROOT"
  # sid's keyring may be newer than this machine's: the signatures are still
  # checked against the machine's Debian archive keyring.
  debootstrap --variant=minbase --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
    sid "$ROOT" "$MIRROR" >"$ROOT.debootstrap.log" 2>&1 ||
    { say "debootstrap failed; see $ROOT.debootstrap.log"; exit 1; }
fi

if ! mounted; then
  mount -t proc proc "$ROOT/proc"
fi

# This workplace's mirror may be a frozen copy whose sid Release file has
# passed its Valid-Until date; the signatures are still checked.
echo 'Acquire::Check-Valid-Until "false";' >"$ROOT/etc/apt/apt.conf.d/99pyprof-valid-until"

missing=()
for p in "${PKGS[@]}"; do
  chroot "$ROOT" dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]} in the chroot"
  chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$ROOT.apt.log" 2>&1 ||
    { say "installing the interpreters failed; see $ROOT.apt.log"; exit 1; }
fi

usable || { say "the chroot at $ROOT is incomplete"; exit 1; }
echo "$ROOT"
