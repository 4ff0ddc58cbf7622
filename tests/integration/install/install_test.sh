#!/usr/bin/env bash
# Installs the build into a temporary prefix, builds tests/integration/install/
# consumer against it with find_package(inputserve CONFIG REQUIRED), and runs
# it against a server started from the installed binary.
set -euo pipefail
build_dir=$1
source_dir=$2
work=$(mktemp -d /tmp/inputserve-install-XXXXXX)
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then kill -KILL "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

cmake --install "$build_dir" --prefix "$work/prefix" > "$work/install.log"
test -x "$work/prefix/bin/inputserve-server"
test -x "$work/prefix/bin/inputserve-admin"
test -f "$work/prefix/include/inputserve/client.h"

cuda_args=()
if [[ -x /usr/local/cuda/bin/nvcc ]]; then
  cuda_args=(-DCUDAToolkit_ROOT=/usr/local/cuda)
fi
cmake -S "$source_dir/tests/integration/install/consumer" -B "$work/consumer" \
  -DCMAKE_PREFIX_PATH="$work/prefix" "${cuda_args[@]}" > "$work/configure.log" \
  || { cat "$work/configure.log"; exit 1; }
cmake --build "$work/consumer" -j2 > "$work/build.log" \
  || { cat "$work/build.log"; exit 1; }

"$work/prefix/bin/inputserve-server" --dataset=synthetic:cifar10 \
  --batch_size=32 --listen=127.0.0.1:0 --admin_listen= \
  --metrics_listen=127.0.0.1:0 --port_file="$work/ports.json" \
  > "$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 600); do  # up to 30 s
  [[ -s "$work/ports.json" ]] && break
  sleep 0.05
done
if [[ ! -s "$work/ports.json" ]]; then
  echo "FAIL: the installed server wrote no port file within 30 s" >&2
  cat "$work/server.log" >&2
  exit 1
fi
port=$(sed -E 's/.*"data": ([0-9]+).*/\1/' "$work/ports.json")
"$work/consumer/consumer" "127.0.0.1:$port"
kill -TERM "$server_pid"
wait "$server_pid"
server_pid=""
