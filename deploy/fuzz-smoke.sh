#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan + fuzzer) in a separate
# build directory and runs each for a short fixed time from its seed corpus
# (ctest -L fuzz; -seed=1 keeps the runs repeatable). Longer campaigns:
# tests/fuzz/run_all.sh SECONDS.
#   BUILD_DIR=build-fuzz
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build-fuzz}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DINPUTSERVE_BUILD_FUZZERS=ON -DINPUTSERVE_WITH_CUDA=OFF \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
cmake --build "$build_dir" -j2 --target inputserve_fuzzers
ctest --test-dir "$build_dir" --output-on-failure -L fuzz
