#!/bin/bash
# Builds the libFuzzer targets in their own clang build directory and runs
# each for SECONDS (default 60), one after another, printing libFuzzer's
# final stats (executions, coverage) per target. Exit status 1 when any
# target found a crash, leak, timeout or out-of-memory input; the input is
# kept as build-fuzz/crashes/<target>/crash-*.
#
#   tests/fuzz/run_all.sh [SECONDS] [TARGET...]
#   BUILD_DIR=... JOBS=2 tests/fuzz/run_all.sh 600 jpeg_fuzz
#   BUILD=0 tests/fuzz/run_all.sh 600 a_fuzz &   (after one normal run has
#   BUILD=0 tests/fuzz/run_all.sh 600 b_fuzz     built and seeded: two groups
#                                                side by side, no rebuild)
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_EACH="${1:-60}"
shift || true
BUILD_DIR="${BUILD_DIR:-build-fuzz}"
JOBS="${JOBS:-2}"
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  TARGETS=(cifar10_fuzz tfrecord_fuzz example_fuzz jpeg_fuzz tar_fuzz png_fuzz
           dataset_spec_fuzz server_options_fuzz request_fuzz chunk_fuzz
           restart_fuzz)
fi

if [ "${BUILD:-1}" != 0 ]; then
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DINPUTSERVE_BUILD_FUZZERS=ON -DINPUTSERVE_WITH_CUDA=OFF \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null
  cmake --build "$BUILD_DIR" --target inputserve_fuzzers -j"$JOBS"
fi

CORPUS="$BUILD_DIR/tests/fuzz/corpus"
# With BUILD=0 existing seeds are kept, so groups running side by side do
# not rewrite files the other is reading.
if [ "${BUILD:-1}" != 0 ] || [ ! -d "$CORPUS/seeds" ]; then
  "$BUILD_DIR/bin/fuzz_seeds" --out="$CORPUS/seeds"
fi
status=0
for t in "${TARGETS[@]}"; do
  mkdir -p "$CORPUS/work/$t" "$BUILD_DIR/crashes/$t"
  log="$BUILD_DIR/crashes/$t/last_run.log"
  echo "=== $t: ${SECONDS_EACH}s (load: $(cut -d' ' -f1-3 /proc/loadavg))"
  if "$BUILD_DIR/bin/$t" -max_total_time="$SECONDS_EACH" -timeout=25 \
      -rss_limit_mb=2560 -print_final_stats=1 \
      -artifact_prefix="$BUILD_DIR/crashes/$t/" \
      "$CORPUS/work/$t" "$CORPUS/seeds/$t" >"$log" 2>&1; then
    result=ok
  else
    result="FINDING (see $log and $BUILD_DIR/crashes/$t/)"
    status=1
  fi
  # The last status line carries cov:/ft:/corp:/exec/s; the final stats
  # carry the execution count.
  grep -E '^#[0-9]+.*(cov:|DONE)' "$log" | tail -1 || true
  grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' "$log" || true
  echo "--- $t: $result"
done
exit $status
