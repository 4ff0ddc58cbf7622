#!/usr/bin/env bash
# Runs every test: installs dependencies, builds with -Wall -Wextra -Werror
# (and the CUDA backend when nvcc is present), then runs ctest.
#   BUILD_DIR=build   where to build (default: build)
#   SKIP_INSTALL=1    skip deploy/install-deps.sh (dependencies already there)
#   CTEST_ARGS="..."  extra ctest arguments, e.g. "-L unit" or "-LE container"
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}

if [[ "${SKIP_INSTALL:-0}" != 1 ]]; then
  bash deploy/install-deps.sh
fi

cuda_args=()
if [[ -x /usr/local/cuda/bin/nvcc ]]; then
  cuda_args=(-DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc)
fi
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DINPUTSERVE_WERROR=ON "${cuda_args[@]}"
cmake --build "$build_dir" -j2
# shellcheck disable=SC2086
ctest --test-dir "$build_dir" --output-on-failure -j2 ${CTEST_ARGS:-}
