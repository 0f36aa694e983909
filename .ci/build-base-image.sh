#!/usr/bin/env bash
# Build (or reuse) the local Python base image for the Docker tests:
#   debootstrap --variant=minbase bookworm + python3, venv, pip  ->  docker import
# made to behave like the official python image: `python` and `pip` on PATH, no EXTERNALLY-MANAGED
# marker, CMD ["python3"]. Images cannot be pulled on these machines, hence the local build.
#
# Usage: .ci/build-base-image.sh [--force]      (image name: $DEPLOYTOOL_TEST_BASE_IMAGE or .ci/base-image.env)
# Mirror: $DEBOOTSTRAP_MIRROR, else the Debian mirror apt is already configured with on this machine.
# Safe to run concurrently (flock): a second caller waits and then reuses the first one's image.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=base-image.env
default_image="$(. "$here/base-image.env" && echo "$DEPLOYTOOL_TEST_BASE_IMAGE")"
IMAGE="${DEPLOYTOOL_TEST_BASE_IMAGE:-$default_image}"
SUITE="${DEPLOYTOOL_TEST_BASE_SUITE:-bookworm}"
INCLUDE="python3,python3-venv,python3-pip,git,ca-certificates"
force=0
[[ "${1:-}" == "--force" ]] && force=1

log() { printf '%s [build-base-image] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v docker >/dev/null || die "docker CLI not found (apt-get install docker.io)"
command -v debootstrap >/dev/null || die "debootstrap not found (apt-get install debootstrap)"
docker info >/dev/null 2>&1 || die "no Docker daemon answers (start dockerd first)"

# Only one build at a time on this machine; later callers reuse the result.
lock="${TMPDIR:-/tmp}/deploytool-test-base-image.lock"
exec 9>"$lock"
if ! flock -n 9; then
  log "another build holds $lock; waiting for it"
  flock 9
fi

if [[ $force -eq 0 ]] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  log "reusing $IMAGE ($(docker image inspect -f '{{.Id}}' "$IMAGE" | cut -c1-19))"
  exit 0
fi

# The Debian mirror apt already uses here (never a hardcoded internet host).
find_mirror() {
  local f
  # deb822 files: a stanza whose Suites has exactly $SUITE
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" ]] || continue
    awk -v suite="$SUITE" '
      function flush() { if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " suite " ") && uri != "") { print uri; found=1; exit } types=""; suites=""; uri="" }
      /^[[:space:]]*$/ { flush(); next }
      /^[[:space:]]*#/ { next }
      tolower($1) == "types:"  { $1=""; types=$0 }
      tolower($1) == "suites:" { $1=""; suites=$0 }
      tolower($1) == "uris:"   { uri=$2 }
      END { if (!found) flush() }
    ' "$f"
  done
  # one-line format: deb [options] URI SUITE COMPONENTS...
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f "$f" ]] || continue
    sed -e 's/\[[^]]*\]//' "$f" | awk -v suite="$SUITE" '$1 == "deb" && $3 == suite { print $2 }'
  done
}
MIRROR="${DEBOOTSTRAP_MIRROR:-$(find_mirror | head -n1)}"
[[ -n "$MIRROR" ]] || die "no Debian mirror for '$SUITE' found in /etc/apt/sources.list{,.d/*}; set DEBOOTSTRAP_MIRROR"

work="$(mktemp -d "${TMPDIR:-/tmp}/deploytool-base-image.XXXXXX")"
rootfs="$work/rootfs"
cleanup() {
  # debootstrap may leave /proc or /sys mounted when it fails half-way
  local m
  for m in $(awk -v r="$rootfs" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r); do umount -l "$m" || true; done
  rm -rf "$work"
}
trap cleanup EXIT

log "debootstrap $SUITE ($INCLUDE) from $MIRROR into $rootfs"
start=$SECONDS
if ! debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$rootfs" "$MIRROR" >"$work/debootstrap.log" 2>&1; then
  tail -n 30 "$work/debootstrap.log" >&2
  [[ -f "$rootfs/debootstrap/debootstrap.log" ]] && tail -n 30 "$rootfs/debootstrap/debootstrap.log" >&2
  die "debootstrap failed"
fi
log "debootstrap done in $((SECONDS - start)) s"

# Mimic the official python image.
rm -f "$rootfs"/usr/lib/python3*/EXTERNALLY-MANAGED
ln -sf /usr/bin/python3 "$rootfs/usr/local/bin/python"
ln -sf /usr/bin/pip3 "$rootfs/usr/local/bin/pip"
# Slim it: package caches and lists are of no use in the image.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/* "$rootfs"/tmp/* \
  "$rootfs"/root/.cache
# Docker provides /dev, /proc and /sys; the host's name service files must not leak in.
rm -rf "${rootfs:?}"/dev/* "${rootfs:?}"/proc/* "${rootfs:?}"/sys/*
: >"$rootfs/etc/hostname"

py_version="$(chroot "$rootfs" python3 -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null || echo unknown)"

log "docker import -> $IMAGE (python $py_version)"
tar -C "$rootfs" --numeric-owner -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change "ENV PYTHON_VERSION=$py_version" \
  --change 'LABEL org.deploytool.test-base-image=1' \
  --change 'WORKDIR /' \
  --change 'CMD ["python3"]' \
  --message "deploytool test base image: debootstrap $SUITE minbase + $INCLUDE" \
  - "$IMAGE" >/dev/null

docker run --rm "$IMAGE" python -c 'import sys, venv, ensurepip; print("python", sys.version.split()[0], "ok")' >&2 \
  || die "the new image does not run python"
log "built $IMAGE in $((SECONDS - start)) s"
