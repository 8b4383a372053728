#!/usr/bin/env bash
# Provisions the test interpreters that Debian ships only in its newest suite:
# a Debian sid chroot (debootstrap --variant=minbase) holding python3.13,
# python3.14, python3.15, their -dbg builds (python3.Xd) and libpython3.15-dev,
# with /proc mounted inside it. pyprof runs outside the chroot and profiles
# processes inside it, as it would a container's.
#
#   tools/provision-chroot.sh [--expose DIR]...   create or update; print the root
#   tools/provision-chroot.sh --check    print the root if it is usable, else exit 1
#   tools/provision-chroot.sh --umount   unmount its /proc and exposed directories
#
# --expose DIR bind-mounts DIR of this machine at the same path inside the
# chroot (the test suite exposes the checkout and /tmp, so a test program's
# path and a temporary file's name mean the same inside and out). Each
# interpreter gets a wrapper outside the chroot, $ROOT.bin/python3.X[d],
# that runs it inside, from the caller's directory: what the tests launch
# and attach to.
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
      libpython3.13-dev libpython3.14-dev libpython3.15-dev gcc libc6-dev)
PYS=(python3.13 python3.13d python3.14 python3.14d python3.15 python3.15d)
mode=${1:-}
expose=()
if [ "$mode" = "--expose" ]; then
  while [ "${1:-}" = "--expose" ]; do
    [ -n "${2:-}" ] || { echo "provision-chroot: --expose needs a directory" >&2; exit 2; }
    expose+=("$(cd "$2" && pwd)")
    shift 2
  done
  mode=""
fi

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
    # exposed directories first (deepest first), then /proc
    awk -v r="$ROOT/" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r |
      while read -r m; do umount "$m" || true; done
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
  "$0" --umount
  rm -rf --one-file-system "$ROOT"
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

for d in ${expose[@]+"${expose[@]}"}; do
  mkdir -p "$ROOT$d"
  # Already the same directory inside (a parent is exposed, or it was
  # mounted before): mounting it again would make it a mount point of itself.
  [ "$(stat -c %d:%i "$d")" = "$(stat -c %d:%i "$ROOT$d")" ] && continue
  mount --bind "$d" "$ROOT$d"
done

mkdir -p "$ROOT.bin"
for py in "${PYS[@]}"; do
  cat >"$ROOT.bin/$py" <<WRAP
#!/bin/sh
# $py of the pyprof test chroot $ROOT, run inside it from the caller's
# directory (made by tools/provision-chroot.sh).
exec /usr/sbin/chroot "$ROOT" /usr/bin/env -C "\$PWD" /usr/bin/$py "\$@"
WRAP
  chmod 755 "$ROOT.bin/$py"
done
echo "$ROOT"
