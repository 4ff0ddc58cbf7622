#!/bin/sh
# Runs a built inputserve image without a container runtime: exports its
# filesystem, then runs the image's own ENTRYPOINT + CMD as the image's USER
# under chroot, on loopback ports picked by the kernel, and checks:
#   - the image config: non-root USER, EXPOSEd ports, HEALTHCHECK, ENTRYPOINT;
#   - every binary's shared libraries resolve inside the image;
#   - the HEALTHCHECK command (pointed at the chosen port) reports SERVING;
#   - the image's trainer_example streams batches from the server, and the
#     server's /metrics and `inputserve-admin status` count them;
#   - SIGTERM stops the server with exit status 0.
# Everything runs in a private mount namespace (unshare), so the /proc and
# /dev mounts vanish with it; the exported tree is removed at the end.
# Usage: smoke-test-image.sh TAG        (root; needs podman, unshare, python3)
set -eu
tag="$1"

if [ "${INPUTSERVE_IN_NS:-}" != 1 ]; then
  INPUTSERVE_IN_NS=1 exec unshare --mount --propagation private -- sh "$0" "$@"
fi

root=$(mktemp -d /var/tmp/inputserve-image.XXXXXX)
server_pid=""
cid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then kill -KILL "$server_pid" || true; fi
  if [ -n "$cid" ]; then podman rm --force "$cid" >/dev/null 2>&1 || true; fi
  umount "$root/dev" 2>/dev/null || true
  umount "$root/proc" 2>/dev/null || true
  rm -rf "$root"
}
trap cleanup EXIT
trap 'exit 1' INT TERM   # run the EXIT trap when ctest times us out
fail() { echo "FAIL: $*"; [ -f "$root/tmp/server.log" ] && tail -n 20 "$root/tmp/server.log"; exit 1; }

# --- the image's configuration ------------------------------------------
inspect=$(podman image inspect "$tag")
eval "$(printf '%s' "$inspect" | python3 -c '
import json, shlex, sys
img = json.load(sys.stdin)[0]
c = img.get("Config") or {}
# podman reports HEALTHCHECK at the top level, docker inside Config.
hc = ((img.get("Healthcheck") or c.get("Healthcheck") or {}).get("Test")) or []
print("user=" + shlex.quote(c.get("User") or ""))
print("ports=" + shlex.quote(" ".join(sorted(c.get("ExposedPorts") or {}))))
print("entrypoint=" + shlex.quote(" ".join(c.get("Entrypoint") or [])))
print("cmd=" + shlex.quote(" ".join(shlex.quote(a) for a in c.get("Cmd") or [])))
print("healthcheck=" + shlex.quote(" ".join(shlex.quote(a) for a in hc[1:]) if hc[:1] == ["CMD"] else ""))
print("envs=" + shlex.quote(" ".join(c.get("Env") or [])))
')"
case "$user" in ""|0|root|0:*|root:*) fail "image runs as root (User='$user')" ;; esac
[ "$ports" = "50051/tcp 50052/tcp 9300/tcp" ] || fail "exposed ports '$ports'"
[ "$entrypoint" = "inputserve-server" ] || fail "entrypoint '$entrypoint'"
case "$healthcheck" in *inputserve-admin*127.0.0.1:50051*health*) ;; *) fail "healthcheck '$healthcheck'" ;; esac
case "$envs" in *DEBIAN_FRONTEND*) fail "build-time DEBIAN_FRONTEND leaked into the image's environment" ;; esac
echo "ok: user $user, ports $ports, entrypoint $entrypoint, cmd $cmd, healthcheck $healthcheck"

# --- its filesystem -------------------------------------------------------
# (--no-healthcheck: podman would try to register a systemd timer.)
cid=$(podman create --no-healthcheck "$tag")
podman export "$cid" | tar -x -C "$root"
podman rm "$cid" >/dev/null
cid=""
chmod 0755 "$root"   # mktemp made it 0700: the image's user must reach /
echo "exported $tag: $(du -sm "$root" | cut -f1) MB"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"

missing=$(chroot "$root" sh -c 'for b in /usr/local/bin/*; do ldd "$b" | sed "s|^|$b: |"; done' | grep 'not found' || true)
[ -z "$missing" ] || fail "unresolved libraries:
$missing"
echo "ok: libraries of $(ls "$root/usr/local/bin" | tr '\n' ' ')resolve inside the image"

# A command as the container would run it: the image's user and environment.
# shellcheck disable=SC2086  # envs: the image's NAME=value list
in_image() { chroot --userspec="$user" "$root" /usr/bin/env -i $envs "$@"; }

# --- the server: the image's ENTRYPOINT + CMD, ports moved to loopback:0 --
printf 'smoke-test-token\n' >"$root/tmp/token"
chown "$user" "$root/tmp/token"
chmod 0400 "$root/tmp/token"
# shellcheck disable=SC2086  # cmd is the image's CMD, quoted by shlex above
eval "set -- $cmd"
# Not via in_image: a function in the background is a subshell, and $! must
# be the server itself (chroot and env exec it) for the SIGTERM check.
# shellcheck disable=SC2086
chroot --userspec="$user" "$root" /usr/bin/env -i $envs "$entrypoint" "$@" \
  --listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0 \
  --admin_listen=127.0.0.1:0 --admin_token_file=/tmp/token \
  --batch_size=8 --port_file=/tmp/ports.json >"$root/tmp/server.log" 2>&1 &
server_pid=$!
i=0
while [ ! -s "$root/tmp/ports.json" ]; do
  kill -0 "$server_pid" 2>/dev/null || fail "server exited before listening"
  i=$((i + 1)); [ $i -lt 300 ] || fail "no port file after 30 s"
  sleep 0.1
done
port() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$root/tmp/ports.json" "$1"; }
data=$(port data); admin=$(port admin); metrics=$(port metrics)
echo "server (pid $server_pid) in the image: data $data, admin $admin, metrics $metrics"
head -n 3 "$root/tmp/server.log"

# The image's own HEALTHCHECK command, pointed at the chosen port.
eval "set -- $healthcheck"
hc=""; for a in "$@"; do hc="$hc $(printf '%s' "$a" | sed "s/127.0.0.1:50051/127.0.0.1:$data/")"; done
echo "\$ healthcheck:$hc"
# shellcheck disable=SC2086
in_image $hc || fail "healthcheck failed"

# Stream batches with the image's trainer_example.
echo "\$ trainer_example --servers=127.0.0.1:$data --steps=5 --num_gpus=0"
in_image trainer_example --servers="127.0.0.1:$data" --steps=5 --num_gpus=0 --log_every=5 \
  || fail "trainer_example could not stream"

echo "\$ inputserve-admin --server=127.0.0.1:$admin --token_file=/tmp/token status"
status=$(in_image inputserve-admin --server="127.0.0.1:$admin" --token_file=/tmp/token status) \
  || fail "admin status failed"
echo "$status"

sent=$(python3 - "$metrics" <<'PY'
import re, sys, urllib.request
text = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=5).read().decode()
m = re.search(r'^inputserve_batches_sent_total\{mode="real"\} (\S+)$', text, re.M)
print(m.group(1) if m else "missing")
PY
)
echo "metrics: inputserve_batches_sent_total{mode=\"real\"} $sent"
case "$sent" in missing|0|0.0) fail "no batches counted on /metrics" ;; esac

kill -TERM "$server_pid"
rc=0; wait "$server_pid" || rc=$?
server_pid=""
[ "$rc" = 0 ] || fail "server exited $rc on SIGTERM"
tail -n 2 "$root/tmp/server.log"
echo "PASS: image $tag served health and batches, stopped cleanly"
