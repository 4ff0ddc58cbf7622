#!/usr/bin/env bash
# Installs everything inputserve needs on Debian 12, idempotently.
#   install-deps.sh            build + test dependencies (PyTorch and
#                              torchvision included, ~1 GB: the Python
#                              client's tests and the benchmarks' peer)
#   install-deps.sh --bench    accepted for old scripts; same as no flag
# Run as root (or with sudo). Safe to run again: apt-get skips what is there.
set -euo pipefail

for arg in "$@"; do
  case "$arg" in
    --bench) ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "install-deps.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null; then exec sudo -E bash "$0" "$@"; fi
  echo "install-deps.sh: must run as root (apt-get install)" >&2
  exit 1
fi

# Build: compilers, gRPC/protobuf/Abseil, prometheus-cpp, libjpeg-turbo.
build_pkgs=(
  build-essential cmake pkg-config git ca-certificates curl
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev prometheus-cpp-dev libcivetweb-dev
  libturbojpeg0-dev libjpeg62-turbo-dev libpng-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3-dev pybind11-dev libdlpack-dev python3-numpy
  libssl-dev
)
# Tests: real photos (sklearn/skimage data), torchvision's ImageFolder as the
# oracle for --dataset=imagefolder, openssl for TLS certs,
# Prometheus + promtool, kubectl (kustomize), node for schema checks,
# podman/buildah/debootstrap for the container test, clang for fuzzers.
test_pkgs=(
  python3 python3-sklearn python3-skimage python3-grpcio python3-pytest
  python3-torch python3-torchvision
  openssl prometheus nodejs
  podman buildah debootstrap
  clang libclang-rt-14-dev
)
pkgs=("${build_pkgs[@]}" "${test_pkgs[@]}")
# Debian's npm conflicts with a NodeSource nodejs, which ships its own npm.
if ! command -v npm >/dev/null; then pkgs+=(npm); fi
# Debian's kubectl (kubernetes-client) conflicts with other kubectl packages.
if ! command -v kubectl >/dev/null; then pkgs+=(kubernetes-client); fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
echo "install-deps.sh: installed ${#pkgs[@]} packages"
