#!/bin/sh
# Builds the inputserve image from the repository's Dockerfile with podman,
# chroot isolation (works where no container runtime can start), Docker image
# format (OCI drops HEALTHCHECK).
# Usage: build-image.sh SOURCE_DIR TAG        (root; needs podman)
set -eu
src="$1"; tag="$2"
start=$(date +%s)
podman build --isolation=chroot --format=docker --layers \
  --build-arg BUILD_JOBS="${BUILD_JOBS:-2}" -t "$tag" -f "$src/Dockerfile" "$src"
echo "built $tag in $(( $(date +%s) - start )) s"
podman image inspect --format '{{.Size}}' "$tag" | awk '{printf "image size: %.0f MB\n", $1/1e6}'
