#!/usr/bin/env bash
# trainer_example on GPUs, real vs synthetic: runs deploy/demo.sh (server on
# loopback serving synthetic:imagenet tensors, a real-mode run, the flip to
# synthetic, a synthetic run) with the binaries already built, then prints
#   RESULT trainer_real_eps=<x> trainer_synthetic_eps=<y> ratio=<x/y> gpus=<n>
# Environment: BUILD_DIR (default <repo>/build), NUM_GPUS (default 1),
# STEPS (default 200), BATCH_SIZE (default 256), DATASET (default
# synthetic:imagenet).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
NUM_GPUS="${NUM_GPUS:-1}"
log="$(mktemp "${TMPDIR:-/tmp}/trainer_gpu_bench.XXXXXX")"
trap 'rm -f "$log"' EXIT
status=0
DEMO_SKIP_INSTALL=1 DEMO_SKIP_BUILD=1 DEMO_BUILD_DIR="${BUILD_DIR:-$ROOT/build}" \
  DEMO_NUM_GPUS="$NUM_GPUS" DEMO_STEPS="${STEPS:-200}" \
  DEMO_BATCH_SIZE="${BATCH_SIZE:-256}" \
  DEMO_DATASET="${DATASET:-synthetic:imagenet}" \
  bash "$ROOT/deploy/demo.sh" >"$log" 2>&1 || status=$?
if ((status != 0)); then
  tail -40 "$log" >&2
  echo "trainer_gpu_bench: deploy/demo.sh failed (exit $status)" >&2
  exit 1
fi
grep -E '^trainer_example: |^step ([0-9]+)/\1 ' "$log"
real="$(sed -n 's/^real mode: \([0-9.]*\) examples\/s.*/\1/p' "$log")"
synthetic="$(sed -n 's/^synthetic mode: \([0-9.]*\) examples\/s.*/\1/p' "$log")"
[[ -n "$real" && -n "$synthetic" ]] || { tail -20 "$log" >&2; exit 1; }
awk -v r="$real" -v s="$synthetic" -v g="$NUM_GPUS" 'BEGIN {
  printf "RESULT trainer_real_eps=%s trainer_synthetic_eps=%s ratio=%.3f gpus=%s\n",
         r, s, (s > 0 ? r / s : 0), g }'
