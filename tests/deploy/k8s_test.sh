#!/bin/sh
# Renders every kustomization under deploy/k8s (the base and each overlay)
# offline and validates the output with k8s/validate.mjs: Kubernetes schemas,
# shard index from the pod ordinal, --num_shards == replicas, admin port
# private. With --mutants, checks instead that the validator rejects broken
# variants of the example overlay.
# Usage: k8s_test.sh SOURCE_DIR NODE_DIR [--mutants]
#   NODE_DIR: where npm_install.sh puts the pinned npm packages.
# Exit 77 (skip) when no kustomize >= v4.1 or no node/npm.
set -eu
src="$1"; nodedir="$2"; mode="${3:-}"

kustomize_version() {  # prints e.g. 5.5.0, or nothing
  "$@" 2>/dev/null | sed -n 's/.*[Kk]ustomize[^v]*v\([0-9][0-9.]*\).*/\1/p' | head -n 1
}
render=""
if command -v kustomize >/dev/null 2>&1; then
  v=$(kustomize_version kustomize version)
  [ -n "$v" ] && render="kustomize build" && rv="kustomize $v"
fi
if [ -z "$render" ] && command -v kubectl >/dev/null 2>&1; then
  v=$(kustomize_version kubectl version --client)
  [ -n "$v" ] && render="kubectl kustomize" && rv="kubectl's kustomize $v"
fi
if [ -z "$render" ]; then
  echo "SKIP: need kustomize >= v4.1 for 'replacements' (kubectl >= 1.22, or a kustomize binary);" \
       "Debian 12's kubernetes-client 1.20 embeds kustomize v2.0.3"
  exit 77
fi
major=${v%%.*}; rest=${v#*.}; minor=${rest%%.*}
if [ "$major" -lt 4 ] || { [ "$major" -eq 4 ] && [ "$minor" -lt 1 ]; }; then
  echo "SKIP: $rv is older than v4.1 (no 'replacements')"
  exit 77
fi
# Install the pinned npm packages (idempotent; flock: tests run in parallel).
mkdir -p "$nodedir"
rc=0
flock "$nodedir/.install.lock" sh "$src/tests/deploy/npm_install.sh" "$src" "$nodedir" || rc=$?
[ "$rc" = 0 ] || exit "$rc"   # 77 = no npm: skip
echo "renderer: $render ($rv), node $(node --version)"

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# ESM resolves packages from the script's own directory: run it from NODE_DIR.
cp "$src/tests/deploy/k8s/validate.mjs" "$nodedir/validate.mjs"

files=""
for dir in "$src/deploy/k8s/base" "$src"/deploy/k8s/overlays/*/; do
  dir=${dir%/}
  name=$(echo "${dir#$src/deploy/k8s/}" | tr / _)
  # kustomize v5 warns on stderr about nothing we use; keep stderr for errors.
  if ! $render "$dir" >"$out/$name.yaml" 2>"$out/$name.err"; then
    echo "FAIL: $render $dir"; cat "$out/$name.err"; exit 1
  fi
  echo "rendered $dir: $(grep -c '^kind:' "$out/$name.yaml") objects"
  files="$files $out/$name.yaml"
done

# Not exec: the EXIT trap must still remove the renders.
if [ "$mode" = "--mutants" ]; then
  node "$nodedir/validate.mjs" --mutants "$out/overlays_example.yaml" && exit 0
  exit 1
fi
# shellcheck disable=SC2086
node "$nodedir/validate.mjs" $files && exit 0
exit 1
