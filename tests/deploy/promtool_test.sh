#!/bin/sh
# Static checks of deploy/prometheus: the config and the rules parse
# (promtool check), and the alerting rules fire (and stay silent) as
# prometheus/alerts_test.yml expects (promtool test rules).
# Usage: promtool_test.sh SOURCE_DIR      Exit 77 (skip) without promtool.
set -eu
src="$1"
if ! command -v promtool >/dev/null 2>&1; then
  echo "SKIP: promtool not installed (apt-get install prometheus)"
  exit 77
fi
promtool --version 2>&1 | head -n 1
set -x
promtool check config "$src/deploy/prometheus/prometheus.yml"
promtool check rules "$src/deploy/prometheus/alerts.yml"
promtool test rules "$src/tests/deploy/prometheus/alerts_test.yml"
