#!/bin/sh
# The container image end to end: make the debian:bookworm base locally
# (debootstrap; skipped when present), build the Dockerfile with podman (this
# compiles the whole project inside the build stage: minutes), then run the
# image's server under chroot and check health and streaming
# (deploy/container/smoke-test-image.sh).
#
# Clean-up, so repeated CI runs do not grow /var/lib/containers: every image
# this run builds (the final one and each intermediate layer of both stages)
# carries the labels io.inputserve.test=container_test and
# io.inputserve.test.run=<this run>, and its tag is unique to the run; on exit
# (pass, fail or SIGTERM) the run's containers and images are removed by that
# label. Images of runs that died without cleaning up (SIGKILL) are removed
# once they are older than 3 hours (the test times out after 45 minutes).
# Nothing without the label is touched. The base image debian:bookworm is
# kept (one image, reused so later runs skip debootstrap).
# Usage: container_test.sh SOURCE_DIR
# Exit 77 (skip) unless root with podman, debootstrap, unshare and python3.
set -eu
src="$1"
if [ "$(id -u)" != 0 ]; then echo "SKIP: needs root (podman build, chroot)"; exit 77; fi
for t in podman debootstrap unshare python3; do
  if ! command -v "$t" >/dev/null 2>&1; then
    echo "SKIP: $t not installed (apt-get install podman buildah debootstrap)"; exit 77
  fi
done

kind=io.inputserve.test=container_test
run="ctest-$(date +%s)-$$"
tag="localhost/inputserve:$run"

# Removes containers, then images, that match podman filter $1.
remove_labelled() {
  containers=$(podman ps -a -q --filter "label=$1" ${2:+--filter "$2"} 2>/dev/null || true)
  [ -z "$containers" ] || podman rm --force $containers >/dev/null 2>&1 || true
  images=$(podman images -a -q --no-trunc --filter "label=$1" ${2:+--filter "$2"} 2>/dev/null || true)
  [ -z "$images" ] || podman rmi --force $images >/dev/null 2>&1 || true
  podman images -a -q --filter "label=$1" ${2:+--filter "$2"} 2>/dev/null | wc -l
}
cleanup() {
  left=$(remove_labelled "io.inputserve.test.run=$run")
  echo "cleanup: removed this run's images and containers (label io.inputserve.test.run=$run; $left left)"
}
trap cleanup EXIT
trap 'exit 1' INT TERM   # run the EXIT trap when ctest times us out

stale=$(remove_labelled "$kind" "until=3h")
echo "stale images of earlier runs left after sweep: $stale"

t0=$(date +%s)
sh "$src/deploy/container/make-base-image.sh" debian:bookworm
t1=$(date +%s)
sh "$src/deploy/container/build-image.sh" "$src" "$tag" \
  --label "$kind" --label "io.inputserve.test.run=$run"
t2=$(date +%s)
echo "images labelled for this run: $(podman images -a -q --filter "label=io.inputserve.test.run=$run" | wc -l)"
sh "$src/deploy/container/smoke-test-image.sh" "$tag"
t3=$(date +%s)
echo "times: base image $((t1 - t0)) s, podman build $((t2 - t1)) s, smoke test $((t3 - t2)) s, total $((t3 - t0)) s"
