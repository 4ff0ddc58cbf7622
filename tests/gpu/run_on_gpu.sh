#!/usr/bin/env bash
# The GPU checks, on a machine with an NVIDIA GPU, driver and CUDA toolkit
# (dependencies installed: deploy/install-deps.sh). From a clean checkout it
#   1. configures a build for this machine's GPU architecture only,
#   2. builds only what the GPU checks need,
#   3. runs every test labelled gpu or gpu_fake; a skipped one fails the run
#      (here a GPU must be usable),
#   4. runs the GPU benchmarks: gpu_h2d_bench (staging path vs plain
#      cudaMemcpyAsync) and trainer_gpu_bench.sh (trainer_example real vs
#      synthetic on every GPU),
# and prints the figures and its elapsed time; sized for under 8 minutes
# from a clean checkout on a 16-core machine.
# Environment:
#   BUILD_DIR=DIR   build directory (default: <repo>/build-gpu)
#   JOBS=N          parallel build jobs (default: nproc)
#   NVCC=PATH       CUDA compiler (default: /usr/local/cuda/bin/nvcc or PATH)
#   NUM_GPUS=N      GPUs for the benchmarks (default: every visible GPU)
#   STEPS=N         trainer steps per mode (default: 200)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build-gpu}"
JOBS="${JOBS:-$(nproc)}"
START=$SECONDS

say() { printf '\n==> %s (%ds)\n' "$*" "$((SECONDS - START))"; }
die() { printf 'run_on_gpu.sh: error: %s\n' "$*" >&2; exit 1; }

NVCC="${NVCC:-}"
if [[ -z "$NVCC" ]]; then
  if [[ -x /usr/local/cuda/bin/nvcc ]]; then
    NVCC=/usr/local/cuda/bin/nvcc
  else
    NVCC="$(command -v nvcc || true)"
  fi
fi
[[ -n "$NVCC" && -x "$NVCC" ]] || die "no nvcc found; set NVCC=/path/to/nvcc"
command -v nvidia-smi >/dev/null || die "nvidia-smi not found: no NVIDIA driver?"
nvidia-smi -L || die "nvidia-smi lists no GPU"
VISIBLE="$(nvidia-smi -L | grep -c '^GPU ')"
NUM_GPUS="${NUM_GPUS:-$VISIBLE}"
((NUM_GPUS >= 1 && NUM_GPUS <= VISIBLE)) ||
  die "NUM_GPUS=$NUM_GPUS but $VISIBLE GPU(s) are visible"

say "Configuring $BUILD_DIR (CUDA architecture: this machine's GPU)"
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache
            -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
fi
cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DINPUTSERVE_WERROR=ON -DCMAKE_CUDA_COMPILER="$NVCC" \
  -DCMAKE_CUDA_ARCHITECTURES=native "${launcher[@]}" >/dev/null

say "Building the GPU tests, the benchmarks and what they run"
cmake --build "$BUILD_DIR" -j"$JOBS" --target client_gpu_test \
  trainer_gpu_tests cuda_backend_fake_test client_cuda_fake_test \
  gpu_h2d_bench inputserve-server inputserve-admin inputserve-datagen \
  trainer_example

say "Tests labelled gpu or gpu_fake"
log="$(mktemp "${TMPDIR:-/tmp}/run_on_gpu.XXXXXX")"
trap 'rm -f "$log"' EXIT
# The benchmark has its own step below.
status=0
ctest --test-dir "$BUILD_DIR" -L '^gpu' -E '^gpu_h2d_bench$' \
  --output-on-failure --no-tests=error 2>&1 | tee "$log" || status=$?
((status == 0)) || die "GPU tests failed (above)"
if grep -q '(Skipped)' "$log"; then
  die "GPU tests were skipped: no usable GPU for them (see above)"
fi

say "gpu_h2d_bench: staging path vs plain cudaMemcpyAsync, $NUM_GPUS GPU(s)"
H2D="$("$BUILD_DIR/bin/gpu_h2d_bench" --num_gpus="$NUM_GPUS" | tee /dev/stderr |
  grep '^RESULT ')" || die "gpu_h2d_bench failed"

say "trainer_gpu_bench.sh: trainer_example on $NUM_GPUS GPU(s), real vs synthetic"
TRAINER="$(BUILD_DIR="$BUILD_DIR" NUM_GPUS="$NUM_GPUS" STEPS="${STEPS:-200}" \
  bash "$ROOT/tests/bench/gpu/trainer_gpu_bench.sh" | tee /dev/stderr |
  grep '^RESULT ')" || die "trainer_gpu_bench.sh failed"

say "Figures"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
echo "$H2D"
echo "$TRAINER"
echo "GPU checks passed in $((SECONDS - START)) s"
