#!/usr/bin/env python3
"""Reads the PromQL of deploy/grafana/inputserve.json and checks it.

As a module: exprs() and metric_names() for the live test, which runs every
query against a real Prometheus scraping a real server. As a script: the
static check (no server needed): dashboard structure, every metric name used
is one docs/contract.md defines (or `up`), and every contract metric has a
panel.

Usage: grafana_dashboard.py DASHBOARD.json [--metrics-file METRICS.txt]
  --metrics-file: names are checked against that /metrics text instead.
Standard library only.
"""

import json
import re
import sys

# docs/contract.md "Metrics".
CONTRACT_METRICS = {
    "inputserve_batches_sent_total": "counter",
    "inputserve_bytes_sent_total": "counter",
    "inputserve_active_streams": "gauge",
    "inputserve_mode": "gauge",
    "inputserve_mode_changes_total": "counter",
    "inputserve_examples_decoded_total": "counter",
    "inputserve_decode_errors_total": "counter",
    "inputserve_records_skipped_total": "counter",
    "inputserve_batch_build_seconds": "histogram",
    "inputserve_prefetch_queue_depth": "gauge",
    "inputserve_admin_requests_total": "counter",
    "inputserve_stream_errors_total": "counter",
}
# Series Prometheus itself adds to every target.
PROMETHEUS_BUILTIN = {"up"}

_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right",
             "bool", "and", "or", "unless", "offset", "inf", "nan"}


def _walk_panels(panels):
    for p in panels:
        yield p
        yield from _walk_panels(p.get("panels", []))


def exprs(dashboard):
    """[(where, expr)] for every PromQL query in the dashboard."""
    out = []
    for p in _walk_panels(dashboard.get("panels", [])):
        for t in p.get("targets", []):
            out.append((f"panel {p.get('id')} '{p.get('title')}' {t.get('refId')}", t["expr"]))
    for a in dashboard.get("annotations", {}).get("list", []):
        if "expr" in a:
            out.append((f"annotation '{a.get('name')}'", a["expr"]))
    for v in dashboard.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
            m = re.fullmatch(r"\s*label_values\((.*),\s*([a-zA-Z_]\w*)\s*\)\s*", q)
            if not m:
                raise ValueError(f"variable {v['name']}: unsupported query {q!r}")
            out.append((f"variable ${v['name']}", m.group(1)))
    return out


def metric_names(expr):
    """Metric names referenced by one PromQL expression."""
    s = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)          # string literals
    s = re.sub(r"\{[^}]*\}", "", s)                       # label matchers
    s = re.sub(r"\[[^\]]*\]", "", s)                      # range selectors
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", s)
    names = set()
    for m in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", s):
        tok = m.group(0)
        rest = s[m.end():].lstrip()
        if rest.startswith("("):        # a function or aggregation
            continue
        if tok.lower() in _KEYWORDS or (m.start() > 0 and s[m.start() - 1].isdigit()):
            continue                     # keyword, or unit of 1e-9 / 5m
        names.add(tok)
    return names


def grafana_to_promql(expr, rate_interval="1m", range_="5m"):
    """Substitutes the Grafana macros and variables the dashboard uses."""
    return (expr.replace("$__rate_interval", rate_interval)
            .replace("$__range", range_)
            .replace("$job", ".*").replace("$instance", ".*"))


def names_in_metrics_text(text):
    """Every series name a /metrics page exposes (histograms expanded)."""
    names = set()
    for line in text.splitlines():
        m = re.match(r"# TYPE (\S+) (\S+)", line)
        if m:
            names.add(m.group(1))
            if m.group(2) in ("histogram", "summary"):
                names.update(m.group(1) + s for s in ("_bucket", "_sum", "_count"))
        elif line and not line.startswith("#"):
            names.add(re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0))
    return names


def contract_names():
    names = set()
    for n, kind in CONTRACT_METRICS.items():
        names.add(n)
        if kind == "histogram":
            names.update(n + s for s in ("_bucket", "_sum", "_count"))
    return names


def base_metric(name):
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and name[: -len(suffix)] in CONTRACT_METRICS:
            return name[: -len(suffix)]
    return name


def check(dashboard, known):
    """Problems found (empty list = fine)."""
    problems = []
    ids = [p.get("id") for p in _walk_panels(dashboard.get("panels", []))]
    if len(ids) != len(set(ids)):
        problems.append(f"duplicate panel ids: {ids}")
    for p in _walk_panels(dashboard.get("panels", [])):
        if p.get("type") == "row":
            continue
        if not p.get("targets"):
            problems.append(f"panel {p.get('id')} '{p.get('title')}' has no query")
        if p.get("datasource", {}).get("type") != "prometheus":
            problems.append(f"panel {p.get('id')} has no prometheus datasource")
        if not all(k in p.get("gridPos", {}) for k in ("h", "w", "x", "y")):
            problems.append(f"panel {p.get('id')} has no gridPos")
    used = set()
    for where, e in exprs(dashboard):
        names = metric_names(e)
        if not names:
            problems.append(f"{where}: no metric in {e!r}")
        for n in names:
            used.add(base_metric(n))
            if n not in known and n not in PROMETHEUS_BUILTIN:
                problems.append(f"{where}: unknown metric {n} in {e!r}")
    missing = set(CONTRACT_METRICS) - used
    if missing:
        problems.append(f"no panel shows: {sorted(missing)}")
    return problems


def main(argv):
    if len(argv) not in (2, 4) or (len(argv) == 4 and argv[2] != "--metrics-file"):
        print(__doc__)
        return 2
    with open(argv[1]) as f:
        dashboard = json.load(f)
    if len(argv) == 4:
        with open(argv[3]) as f:
            known = names_in_metrics_text(f.read())
        source = argv[3]
    else:
        known = contract_names()
        source = "docs/contract.md"
    all_exprs = exprs(dashboard)
    problems = check(dashboard, known)
    for p in problems:
        print("FAIL:", p)
    if problems:
        return 1
    used = sorted({n for _, e in all_exprs for n in metric_names(e)})
    print(f"ok: {len(all_exprs)} queries, metrics used (all in {source}): {' '.join(used)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
