#!/usr/bin/env bash
# Builds the server, the client and their C++ tests with AddressSanitizer +
# UndefinedBehaviorSanitizer in a separate build directory and runs them.
# Any sanitizer report aborts the test that caused it (-fno-sanitize-recover).
#   BUILD_DIR=build-asan   where to build
#   SANITIZE=address,undefined
# ThreadSanitizer is not run: Debian's Abseil is not built with TSan, so every
# absl::Mutex hand-off is invisible to it and it reports false races (see
# README, "Development").
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build-asan}
sanitize=${SANITIZE:-address,undefined}

# No -Werror here: GCC's -Wmaybe-uninitialized misfires inside libstdc++
# (std::regex) under -fsanitize=address. The main build (deploy/test.sh)
# keeps -Werror.
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DINPUTSERVE_SANITIZE="$sanitize" -DINPUTSERVE_WITH_CUDA=OFF \
  -DINPUTSERVE_WERROR=OFF
targets=(
  inputserve-server inputserve-admin inputserve-datagen
  server_core_test server_wire_test server_order_test inputserve_sources_test
  inputserve_codec_test client_options_test client_wire_test
  client_plumbing_test client_test client_synthetic_test admin_test
  server_integration_test client_integration_test acceptance_test
  inputserve_python dump_batches
  cuda_backend_fake_test client_cuda_fake_test
)
cmake --build "$build_dir" -j2 --target "${targets[@]}"

# alloc_dealloc_mismatch=0: Debian's libgrpc itself pairs operator new with
# free() in grpc_core::ChannelInit::Builder::Build (not our code).
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:alloc_dealloc_mismatch=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Only the tests of the targets built above (others show up as NOT_BUILT).
# Benchmark smokes are not built here (-LE bench).
ctest --test-dir "$build_dir" --output-on-failure -j2 -L 'unit|client|integration' -LE bench \
  -E 'NOT_BUILT|install_consumer|demo|trainer'
