#!/bin/sh
# Makes the Dockerfile's base image, debian:bookworm, locally from Debian's
# archive with debootstrap, for machines that reach no container registry.
# Does nothing if podman already has an image of that name.
# Usage: make-base-image.sh [IMAGE_NAME]     (root; needs debootstrap, podman)
set -eu
name="${1:-debian:bookworm}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
if podman image exists "$name"; then
  echo "base image $name already present"
  exit 0
fi
work=$(mktemp -d /var/tmp/inputserve-rootfs.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "debootstrap --variant=minbase bookworm ($mirror)"
start=$(date +%s)
debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -n 20 "$work/debootstrap.log"; exit 1; }
# Like the official image: bookworm, bookworm-updates and the security
# archive in deb822 form, and no apt caches.
rm -f "$work/rootfs/etc/apt/sources.list"
cat >"$work/rootfs/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
rm -rf "$work/rootfs/var/cache/apt/archives"/*.deb "$work/rootfs/var/lib/apt/lists"/*
tar -C "$work/rootfs" -c . | podman import --quiet - "$name" >/dev/null
echo "imported $name in $(( $(date +%s) - start )) s"
