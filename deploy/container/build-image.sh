#!/bin/sh
# Builds the inputserve image from the repository's Dockerfile with podman,
# chroot isolation (works where no container runtime can start), Docker image
# format (OCI drops HEALTHCHECK).
# --force-rm: no build container is left behind when a step fails.
# Usage: build-image.sh SOURCE_DIR TAG [PODMAN_BUILD_ARGS...]   (root; podman)
#   e.g. --label key=value (buildah puts it on every intermediate image too).
set -eu
src="$1"; tag="$2"; shift 2
start=$(date +%s)
podman build --isolation=chroot --format=docker --layers --force-rm \
  --build-arg BUILD_JOBS="${BUILD_JOBS:-2}" "$@" -t "$tag" -f "$src/Dockerfile" "$src"
echo "built $tag in $(( $(date +%s) - start )) s"
podman image inspect --format '{{.Size}}' "$tag" | awk '{printf "image size: %.0f MB\n", $1/1e6}'
