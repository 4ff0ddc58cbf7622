#!/bin/sh
# Installs the pinned npm packages of the deploy tests (kubernetes-models,
# js-yaml; see k8s/package.json and its lock file) into DEST. Idempotent: does
# nothing when DEST already holds exactly the locked packages.
# Usage: npm_install.sh SOURCE_DIR DEST
# Exit 77 (a ctest skip) when npm is not installed.
set -eu
src="$1/tests/deploy/k8s"
dest="$2"
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  echo "SKIP: npm/node not installed (apt-get install nodejs npm)"
  exit 77
fi
mkdir -p "$dest"
# npm ci leaves a copy of the lock file in node_modules/.package-lock.json;
# compare the package list against ours to decide whether to reinstall.
if [ -f "$dest/node_modules/.package-lock.json" ] && cmp -s "$src/package-lock.json" "$dest/package-lock.json" \
   && [ -d "$dest/node_modules/kubernetes-models" ]; then
  echo "npm packages already installed in $dest"
  exit 0
fi
cp "$src/package.json" "$src/package-lock.json" "$dest/"
cd "$dest"
echo "npm ci in $dest (node $(node --version), npm $(npm --version))"
npm ci --no-audit --no-fund --loglevel=error
echo "installed: $(ls node_modules | tr '\n' ' ')"
