#!/usr/bin/env bash
# inputserve demo, end to end on one machine (run as root: sudo bash deploy/demo.sh):
#   install dependencies, build, generate a CIFAR-10-format sample dataset,
#   start inputserve-server on loopback, train in REAL mode, flip the server
#   to SYNTHETIC through the admin RPC, train again, and print both rates,
#   the wire bytes and the server's metrics; then stop the server.
# Environment:
#   DEMO_STEPS=200          training steps per run
#   DEMO_BATCH_SIZE=128     server batch size
#   DEMO_NUM_GPUS=0         trainer --num_gpus (0 = CPU; N host slices without GPUs)
#   DEMO_NUM_EXAMPLES=10000 examples in the generated dataset
#   DEMO_DATASET=SPEC       serve this --dataset spec instead of generated data
#                           (e.g. cifar10:/data/cifar-10-batches-bin)
#   DEMO_BUILD_DIR=DIR      build directory (default: <repo>/build)
#   DEMO_SKIP_INSTALL=1     do not run deploy/install-deps.sh
#   DEMO_SKIP_BUILD=1       use the binaries already in DEMO_BUILD_DIR/bin
#   DEMO_JOBS=2             parallel build jobs
#   DEMO_KEEP=1             keep the work directory (logs, data, metrics)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STEPS="${DEMO_STEPS:-200}"
BATCH_SIZE="${DEMO_BATCH_SIZE:-128}"
NUM_GPUS="${DEMO_NUM_GPUS:-0}"
NUM_EXAMPLES="${DEMO_NUM_EXAMPLES:-10000}"
DATASET="${DEMO_DATASET:-}"
BUILD_DIR="${DEMO_BUILD_DIR:-$ROOT/build}"
JOBS="${DEMO_JOBS:-2}"
BIN="$BUILD_DIR/bin"

say() { printf '\n==> %s\n' "$*"; }
die() { printf 'demo.sh: error: %s\n' "$*" >&2; exit 1; }

for v in STEPS BATCH_SIZE NUM_GPUS NUM_EXAMPLES JOBS; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || die "DEMO_$v must be a whole number, got '${!v}'"
done
((STEPS > 0)) || die "DEMO_STEPS must be > 0"
((BATCH_SIZE > 0)) || die "DEMO_BATCH_SIZE must be > 0"

# --- cleanup on any exit: stop the server, remove the work directory --------
WORK=""
SERVER_PID=""
stop_server() {
  [[ -n "$SERVER_PID" ]] || return 0
  local pid="$SERVER_PID" status=0
  SERVER_PID=""
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 150); do  # docs/contract.md: exits within 10 s of SIGTERM.
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "demo.sh: server $pid did not exit 15 s after SIGTERM; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    return 1
  fi
  wait "$pid" || status=$?
  return "$status"
}
cleanup() {
  local rc=$?
  stop_server || true
  if [[ -n "$WORK" && -d "$WORK" ]]; then
    if [[ "${DEMO_KEEP:-0}" == 1 ]]; then
      echo "demo.sh: work directory kept: $WORK" >&2
    elif [[ $rc -ne 0 ]]; then
      # Keep the logs for a look at what failed; the sample data can go.
      rm -rf "$WORK/data"
      echo "demo.sh: logs kept in $WORK" >&2
    else
      rm -rf "$WORK"
    fi
  fi
  if [[ $rc -ne 0 ]]; then echo "demo.sh: FAILED (exit $rc)" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- 1. dependencies ----------------------------------------------------------
if [[ "${DEMO_SKIP_INSTALL:-0}" != 1 ]]; then
  say "Installing dependencies (deploy/install-deps.sh)"
  if [[ $(id -u) -ne 0 ]] && ! command -v sudo >/dev/null; then
    die "installing packages needs root: run 'sudo bash deploy/demo.sh' (or DEMO_SKIP_INSTALL=1)"
  fi
  bash "$ROOT/deploy/install-deps.sh"
fi
command -v curl >/dev/null || die "curl is needed to read /metrics (apt-get install curl)"

# --- 2. build -------------------------------------------------------------------
if [[ "${DEMO_SKIP_BUILD:-0}" != 1 ]]; then
  say "Building in $BUILD_DIR"
  # Same build type as deploy/test.sh, so the two commands share build/.
  cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo
  # Only what the demo runs; the test command builds everything.
  cmake --build "$BUILD_DIR" -j"$JOBS" --target inputserve-server \
    inputserve-admin inputserve-datagen trainer_example
fi
for b in inputserve-server inputserve-admin inputserve-datagen trainer_example; do
  [[ -x "$BIN/$b" ]] || die "$BIN/$b is missing: build the project first (or unset DEMO_SKIP_BUILD)"
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/inputserve-demo.XXXXXX")"

# --- 3. sample data -----------------------------------------------------------
if [[ -z "$DATASET" ]]; then
  say "Generating $NUM_EXAMPLES CIFAR-10-format examples (inputserve-datagen)"
  "$BIN/inputserve-datagen" --format=cifar10 --out="$WORK/data" \
    --num_examples="$NUM_EXAMPLES" --seed=1
  DATASET="cifar10:$WORK/data"
fi

# --- 4. server --------------------------------------------------------------------
say "Starting inputserve-server on loopback (dataset $DATASET, batch $BATCH_SIZE)"
TOKEN_FILE="$WORK/admin.token"
(umask 077 && od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$TOKEN_FILE")
chmod 600 "$TOKEN_FILE"
PORT_FILE="$WORK/ports.json"
"$BIN/inputserve-server" \
  --listen=127.0.0.1:0 --admin_listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0 \
  --dataset="$DATASET" --batch_size="$BATCH_SIZE" --mode=real \
  --admin_token_file="$TOKEN_FILE" --port_file="$PORT_FILE" \
  >"$WORK/server.log" 2>&1 &
SERVER_PID=$!

port_of() {  # port_of NAME: the port from the port file's JSON.
  sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\([0-9][0-9]*\).*/\1/p" "$PORT_FILE"
}
for _ in $(seq 1 300); do
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    cat "$WORK/server.log" >&2
    SERVER_PID=""
    die "inputserve-server exited during start-up (its log is above)"
  fi
  [[ -s "$PORT_FILE" && -n "$(port_of metrics)" ]] && break
  sleep 0.1
done
[[ -s "$PORT_FILE" ]] || { cat "$WORK/server.log" >&2; die "no port file after 30 s"; }
DATA_PORT="$(port_of data)"
ADMIN_PORT="$(port_of admin)"
METRICS_PORT="$(port_of metrics)"
[[ -n "$DATA_PORT" && -n "$ADMIN_PORT" && -n "$METRICS_PORT" ]] ||
  die "cannot read the ports from $PORT_FILE: $(cat "$PORT_FILE")"
echo "server pid $SERVER_PID: data 127.0.0.1:$DATA_PORT, admin 127.0.0.1:$ADMIN_PORT, metrics http://127.0.0.1:$METRICS_PORT/metrics"

admin() {
  "$BIN/inputserve-admin" --server="127.0.0.1:$ADMIN_PORT" --token_file="$TOKEN_FILE" "$@"
}
metrics() {
  curl -fsS --max-time 10 "http://127.0.0.1:$METRICS_PORT/metrics"
}
# metric_value TEXT SAMPLE: the value of one sample line, 0 when absent.
metric_value() {
  awk -v s="$2" '$1 == s { v = $2 } END { printf "%.0f\n", (v == "" ? 0 : v) }' <<<"$1"
}
# summary_field LOG KEY: a key=value of the trainer's SUMMARY line.
summary_field() {
  grep '^SUMMARY ' "$1" | tail -1 | tr ' ' '\n' | sed -n "s/^$2=//p"
}
train() {  # train NAME: one trainer_example run, output kept in $WORK/NAME.log
  local log="$WORK/$1.log" status=0
  "$BIN/trainer_example" --servers="127.0.0.1:$DATA_PORT" --steps="$STEPS" \
    --num_gpus="$NUM_GPUS" --log_every="$(((STEPS + 9) / 10))" 2>&1 | tee "$log" ||
    status=$?
  ((status == 0)) || die "trainer_example ($1 mode) failed with exit $status"
  grep -q '^SUMMARY ' "$log" || die "trainer_example ($1 mode) printed no SUMMARY line"
}

admin status

# --- 5. real mode -------------------------------------------------------------------
say "Training $STEPS steps in REAL mode (every batch read, batched and sent by the server)"
train real
M1="$(metrics)"

# --- 6. flip to synthetic -----------------------------------------------------------
say "Flipping the server to SYNTHETIC: inputserve-admin set-mode synthetic"
admin set-mode synthetic
M2="$(metrics)"
[[ "$(metric_value "$M2" inputserve_mode)" == 1 ]] ||
  die "/metrics does not show inputserve_mode 1 after set-mode synthetic"
echo "/metrics: $(grep -E '^inputserve_mode ' <<<"$M2")"

say "Training $STEPS steps in SYNTHETIC mode (one cached batch, kept by the client)"
train synthetic
M3="$(metrics)"

# --- 7. results -------------------------------------------------------------------
REAL_RATE="$(summary_field "$WORK/real.log" examples_per_sec)"
SYN_RATE="$(summary_field "$WORK/synthetic.log" examples_per_sec)"
REAL_BYTES="$(summary_field "$WORK/real.log" bytes_received)"
SYN_BYTES="$(summary_field "$WORK/synthetic.log" bytes_received)"
SYN_MODE="$(summary_field "$WORK/synthetic.log" final_mode)"
SERVER_REAL="$(metric_value "$M3" 'inputserve_bytes_sent_total{mode="real"}')"
SERVER_SYN="$(metric_value "$M3" 'inputserve_bytes_sent_total{mode="synthetic"}')"
SERVER_SYN_BEFORE="$(metric_value "$M2" 'inputserve_bytes_sent_total{mode="synthetic"}')"
SERVER_REAL_AFTER_RUN1="$(metric_value "$M1" 'inputserve_bytes_sent_total{mode="real"}')"

say "Server metrics (inputserve_*, histogram buckets left out)"
grep -E '^inputserve_' <<<"$M3" | grep -v '_bucket{' || true

say "Results ($STEPS steps, batch $BATCH_SIZE, num_gpus $NUM_GPUS)"
printf '%-16s %14s %24s %30s\n' "mode" "examples/s" "client bytes_received" "server inputserve_bytes_sent"
printf '%-16s %14s %24s %30s\n' "real" "$REAL_RATE" "$REAL_BYTES" "$SERVER_REAL_AFTER_RUN1"
printf '%-16s %14s %24s %30s\n' "synthetic" "$SYN_RATE" "$SYN_BYTES" "$((SERVER_SYN - SERVER_SYN_BEFORE))"
echo "real mode: $REAL_RATE examples/s, $REAL_BYTES bytes received"
echo "synthetic mode: $SYN_RATE examples/s, $SYN_BYTES bytes received"

# --- 8. checks, then stop -----------------------------------------------------------
# One batch on the wire: images (H*W*3 bytes) + int32 labels per example. The
# synthetic run may see a few batches in flight before the client closes its
# stream, but never one per step.
BATCH_BYTES=$((BATCH_SIZE * (32 * 32 * 3 + 4)))
[[ "$DATASET" == cifar10:* ]] || BATCH_BYTES=0
[[ "$SYN_MODE" == synthetic ]] || die "the synthetic run ended in mode '$SYN_MODE'"
((REAL_BYTES > 0)) || die "the real run received no bytes"
if ((BATCH_BYTES > 0)); then
  ((REAL_BYTES >= STEPS * BATCH_BYTES)) ||
    die "the real run received $REAL_BYTES bytes, less than $STEPS batches of $BATCH_BYTES"
  ((SYN_BYTES <= 4 * BATCH_BYTES)) ||
    die "the synthetic run received $SYN_BYTES bytes, more than a few batches ($BATCH_BYTES each)"
fi
((SERVER_REAL == SERVER_REAL_AFTER_RUN1)) ||
  die "the server sent real-mode bytes during the synthetic run ($SERVER_REAL_AFTER_RUN1 -> $SERVER_REAL)"
((SYN_BYTES * 2 < REAL_BYTES || STEPS < 8)) ||
  die "the synthetic run received $SYN_BYTES bytes vs $REAL_BYTES in real mode"

say "Stopping the server (SIGTERM)"
if stop_server; then
  echo "server exited cleanly"
else
  die "inputserve-server did not exit cleanly after SIGTERM (log: $WORK/server.log)"
fi

say "DEMO OK: real ${REAL_RATE} examples/s (${REAL_BYTES} bytes), synthetic ${SYN_RATE} examples/s (${SYN_BYTES} bytes)"
