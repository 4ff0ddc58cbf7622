#!/usr/bin/env python3
"""Every registered ctest carries a level label and an area label.

Usage: check_labels.py CTEST BUILD_DIR. Lists the tests with
`ctest --show-only=json-v1` and names each test that lacks either kind, so
`ctest -L unit` (or `-L client`) never silently leaves a test out.
"""
import json
import subprocess
import sys

# Keep in step with the README's "Test labels" list.
LEVELS = {"unit", "integration", "bench", "deploy", "fuzz"}
AREAS = {"client", "server", "trainer", "demo", "k8s", "prometheus",
         "grafana", "container", "suite", "python",
         "datasets", "order"}


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    ctest, build_dir = sys.argv[1:]
    listing = subprocess.run(
        [ctest, "--test-dir", build_dir, "--show-only=json-v1"],
        capture_output=True, text=True)
    if listing.returncode != 0:
        print(f"ctest --show-only failed:\n{listing.stderr}", file=sys.stderr)
        return 1
    tests = json.loads(listing.stdout).get("tests", [])
    bad = []
    for test in tests:
        labels = set()
        for prop in test.get("properties", []):
            if prop.get("name") == "LABELS":
                labels.update(prop.get("value", []))
        missing = []
        if not labels & LEVELS:
            missing.append("a level (" + "|".join(sorted(LEVELS)) + ")")
        if not labels & AREAS:
            missing.append("an area (" + "|".join(sorted(AREAS)) + ")")
        if missing:
            bad.append(f"{test['name']} [{';'.join(sorted(labels))}]: "
                       f"needs {' and '.join(missing)}")
    for line in bad:
        print(line)
    print(f"{len(tests)} tests, {len(bad)} without a level and an area label")
    return 1 if bad or not tests else 0


if __name__ == "__main__":
    sys.exit(main())
