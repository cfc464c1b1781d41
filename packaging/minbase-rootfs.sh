#!/usr/bin/env bash
# A minimal Debian root filesystem with python3 and nothing else of ours (no node, no C compiler), for the
# single-executable test (test/package.test.ts). Built once with `debootstrap --variant=minbase` and kept
# outside the repository, in ${GAUGE_ROOTFS:-$HOME/.cache/gauge-rootfs}; later runs reuse it.
# Prints the root's path. Exit 3: debootstrap is not installed; exit 4: no Debian mirror answered.
set -euo pipefail
cache="${GAUGE_ROOTFS:-$HOME/.cache/gauge-rootfs}"
root="$cache/bookworm-minbase-python3"
if [ -f "$root/.gauge-complete" ]; then
  echo "$root"
  exit 0
fi
if ! command -v debootstrap >/dev/null 2>&1; then
  echo "debootstrap not installed (Debian: apt-get install debootstrap)" >&2
  exit 3
fi
mirror="${GAUGE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
mkdir -p "$cache"
partial="$root.partial.$$"
trap 'rm -rf "$partial"' EXIT
if ! debootstrap --variant=minbase --include=python3 bookworm "$partial" "$mirror" >"$cache/debootstrap.log" 2>&1; then
  if grep -qiE "Failed getting release file|Couldn't download|unable to resolve|Could not resolve|Connection refused|Network is unreachable" "$cache/debootstrap.log"; then
    echo "no Debian mirror answered ($mirror); see $cache/debootstrap.log" >&2
    exit 4
  fi
  echo "debootstrap failed; see $cache/debootstrap.log" >&2
  tail -5 "$cache/debootstrap.log" >&2
  exit 1
fi
rm -rf "$root"
mv "$partial" "$root"
touch "$root/.gauge-complete"
echo "$root"
