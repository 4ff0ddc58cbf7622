#!/bin/sh
# The container image end to end: make the debian:bookworm base locally
# (debootstrap; skipped when present), build the Dockerfile with podman (this
# compiles the whole project inside the build stage: minutes), then run the
# image's server under chroot and check health and streaming
# (deploy/container/smoke-test-image.sh).
# Usage: container_test.sh SOURCE_DIR [TAG]
# Exit 77 (skip) unless root with podman, debootstrap, unshare and python3.
set -eu
src="$1"; tag="${2:-localhost/inputserve:ctest}"
if [ "$(id -u)" != 0 ]; then echo "SKIP: needs root (podman build, chroot)"; exit 77; fi
for t in podman debootstrap unshare python3; do
  if ! command -v "$t" >/dev/null 2>&1; then
    echo "SKIP: $t not installed (apt-get install podman buildah debootstrap)"; exit 77
  fi
done
t0=$(date +%s)
sh "$src/deploy/container/make-base-image.sh" debian:bookworm
t1=$(date +%s)
sh "$src/deploy/container/build-image.sh" "$src" "$tag"
t2=$(date +%s)
sh "$src/deploy/container/smoke-test-image.sh" "$tag"
t3=$(date +%s)
echo "times: base image $((t1 - t0)) s, podman build $((t2 - t1)) s, smoke test $((t3 - t2)) s, total $((t3 - t0)) s"
