#!/usr/bin/env python3
"""A real Prometheus scrapes a real inputserve-server, all on 127.0.0.1.

Starts inputserve-server (ports picked by the kernel, --port_file), pulls
batches with trainer_example, calls the admin RPC (right and wrong token, a
mode flip), then starts Prometheus with deploy/prometheus/prometheus.yml and
alerts.yml (only the intervals shortened and the target pointed at the
server) and checks, through Prometheus' HTTP API:
  1. inputserve_batches_sent_total > 0 was scraped;
  2. every alerting rule loaded and evaluates without error;
  3. every query of deploy/grafana/inputserve.json is valid PromQL and returns
     data, and every metric name it uses is on the server's real /metrics.
Everything is bounded in time and torn down at the end (also on failure).

Usage: live_stack_test.py BIN_DIR SOURCE_DIR
Exit 0 pass, 1 fail, 77 skip (no prometheus binary). Standard library only.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import grafana_dashboard  # noqa: E402

SKIP = 77


class Failure(Exception):
    pass


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def wait_for(what, fn, timeout, interval=0.5):
    """Calls fn until it returns a truthy value; Failure after timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            v = fn()
            if v:
                return v
        except Exception as e:  # keep polling; report the last error
            last = e
        time.sleep(interval)
    raise Failure(f"timed out after {timeout}s waiting for {what}" + (f" (last error: {last})" if last else ""))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(argv, timeout=60, expect_ok=True):
    log("$ " + " ".join(argv))
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
    out = r.stdout.strip()
    if out:
        print("  " + "\n  ".join(out.splitlines()[-8:]), flush=True)
    if expect_ok and r.returncode != 0:
        raise Failure(f"{argv[0]} exited {r.returncode}")
    if not expect_ok and r.returncode == 0:
        raise Failure(f"{argv[0]} succeeded but should have failed")
    return out


class Stack:
    def __init__(self, bin_dir, source_dir, prometheus):
        self.bin = bin_dir
        self.src = source_dir
        self.prometheus = prometheus
        self.tmp = tempfile.mkdtemp(prefix="inputserve-live-")
        self.procs = []

    def start(self, name, argv):
        logf = open(os.path.join(self.tmp, name + ".log"), "w")
        p = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append((name, p, logf))
        return p

    def tail(self, name, n=15):
        try:
            with open(os.path.join(self.tmp, name + ".log")) as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def stop_all(self):
        codes = {}
        for name, p, logf in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
            codes[name] = p.returncode
            logf.close()
        self.procs = []
        shutil.rmtree(self.tmp, ignore_errors=True)
        return codes

    def query(self, promql):
        url = f"{self.prom_url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        try:
            body = json.loads(http_get(url))
        except urllib.error.HTTPError as e:
            body = json.loads(e.read().decode())
        if body.get("status") != "success":
            raise Failure(f"query {promql!r}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]["result"]


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    bin_dir, src = sys.argv[1], sys.argv[2]
    prometheus = shutil.which("prometheus")
    if not prometheus:
        print("SKIP: no prometheus binary (apt-get install prometheus)")
        return SKIP
    for b in ("inputserve-server", "trainer_example", "inputserve-admin"):
        if not os.access(os.path.join(bin_dir, b), os.X_OK):
            raise Failure(f"{b} not built in {bin_dir}")
    st = Stack(bin_dir, src, prometheus)
    try:
        body(st)
    finally:
        codes = st.stop_all()
        log(f"stopped: {codes}")
    if codes.get("server") != 0:
        raise Failure(f"inputserve-server exited {codes.get('server')} on SIGTERM, want 0")
    print("PASS")
    return 0


def body(st):
    b = lambda name: os.path.join(st.bin, name)  # noqa: E731
    token = os.path.join(st.tmp, "token")
    with open(token, "w") as f:
        f.write("live-test-token\n")
    bad_token = os.path.join(st.tmp, "bad-token")
    with open(bad_token, "w") as f:
        f.write("wrong\n")
    port_file = os.path.join(st.tmp, "ports.json")

    # 1. The server, on loopback ports the kernel picks.
    server = st.start("server", [
        b("inputserve-server"), "--dataset=synthetic:cifar10", "--batch_size=32", "--mode=real",
        "--listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0", "--metrics_listen=127.0.0.1:0",
        f"--port_file={port_file}", f"--admin_token_file={token}", "--decode_threads=1"])

    def ports():
        if server.poll() is not None:
            raise Failure(f"server exited {server.returncode}:\n{st.tail('server')}")
        with open(port_file) as f:
            return json.load(f)
    p = wait_for("the server's port file", lambda: os.path.exists(port_file) and ports(), 30)
    log(f"server ports {p}")
    data, admin, metrics = (f"127.0.0.1:{p['data']}", f"127.0.0.1:{p['admin']}", p["metrics"])

    # 2. Prometheus with the shipped config, target = this server.
    cfg_dir = os.path.join(st.tmp, "prometheus")
    os.makedirs(os.path.join(cfg_dir, "targets"))
    shipped = os.path.join(st.src, "deploy", "prometheus")
    with open(os.path.join(shipped, "prometheus.yml")) as f:
        cfg = f.read()
    for key in ("scrape_interval", "evaluation_interval"):
        if f"  {key}: 15s\n" not in cfg:
            raise Failure(f"prometheus.yml has no global '{key}: 15s' line to shorten")
        cfg = cfg.replace(f"  {key}: 15s\n", f"  {key}: 1s\n")
    with open(os.path.join(cfg_dir, "prometheus.yml"), "w") as f:
        f.write(cfg)
    shutil.copy(os.path.join(shipped, "alerts.yml"), cfg_dir)
    with open(os.path.join(cfg_dir, "targets", "live-test.json"), "w") as f:
        json.dump([{"targets": [f"127.0.0.1:{metrics}"], "labels": {"deployment": "live-test"}}], f)
    prom_port = free_port()
    st.prom_url = f"http://127.0.0.1:{prom_port}"
    prom = st.start("prometheus", [
        st.prometheus, f"--config.file={cfg_dir}/prometheus.yml",
        f"--storage.tsdb.path={st.tmp}/tsdb", f"--web.listen-address=127.0.0.1:{prom_port}",
        "--storage.tsdb.retention.time=1h", "--log.level=warn"])

    # 3. Traffic: a trainer pulls batches; admin calls with right and wrong
    # token; a mode flip and back (the dashboard's mode-change queries).
    run([b("trainer_example"), f"--servers={data}", "--steps=40", "--num_gpus=0", "--log_every=20"], timeout=90)
    run([b("inputserve-admin"), f"--server={admin}", f"--token_file={token}", "status"])
    run([b("inputserve-admin"), f"--server={admin}", f"--token_file={bad_token}", "status"], expect_ok=False)
    run([b("inputserve-admin"), f"--server={admin}", f"--token_file={token}", "set-mode", "synthetic"])
    run([b("inputserve-admin"), f"--server={data}", "health"])

    def ready():
        if prom.poll() is not None:
            raise Failure(f"prometheus exited {prom.returncode}:\n{st.tail('prometheus')}")
        return http_get(f"{st.prom_url}/-/ready")
    wait_for("Prometheus to be ready", ready, 60)
    log(f"prometheus ready on {st.prom_url}")

    # Check 1: batches_sent_total > 0 arrived through a real scrape.
    def scraped():
        res = st.query("inputserve_batches_sent_total")
        return [r for r in res if float(r["value"][1]) > 0]
    res = wait_for("inputserve_batches_sent_total > 0 in Prometheus", scraped, 40)
    for r in res:
        log(f"Prometheus: inputserve_batches_sent_total{json.dumps(r['metric'])} = {r['value'][1]}")
    targets = json.loads(http_get(f"{st.prom_url}/api/v1/targets"))["data"]["activeTargets"]
    log("targets: " + ", ".join(f"{t['scrapeUrl']} {t['health']}" for t in targets))
    run([b("inputserve-admin"), f"--server={admin}", f"--token_file={token}", "set-mode", "real"])

    # Check 2: every alerting rule is loaded and evaluates cleanly.
    def rules_evaluated():
        groups = json.loads(http_get(f"{st.prom_url}/api/v1/rules"))["data"]["groups"]
        rules = [r for g in groups for r in g["rules"]]
        if not rules or any(r.get("lastEvaluation", "").startswith("0001") for r in rules):
            return None
        return rules
    rules = wait_for("every rule to be evaluated", rules_evaluated, 30)
    bad = [f"{r['name']}: {r.get('health')} {r.get('lastError', '')}" for r in rules if r.get("health") != "ok"]
    if bad:
        raise Failure("rules unhealthy: " + "; ".join(bad))
    log(f"{len(rules)} alerting rules loaded, all health=ok: " + ", ".join(r["name"] for r in rules))

    # Check 3: the dashboard against the real server and Prometheus.
    metrics_text = http_get(f"http://127.0.0.1:{metrics}/metrics")
    with open(os.path.join(st.src, "deploy", "grafana", "inputserve.json")) as f:
        dashboard = json.load(f)
    problems = grafana_dashboard.check(dashboard, grafana_dashboard.names_in_metrics_text(metrics_text))
    if problems:
        raise Failure("dashboard vs the server's /metrics: " + "; ".join(problems))
    log("every dashboard metric name is on the server's /metrics")
    queries = grafana_dashboard.exprs(dashboard)

    def all_return_data():
        empty = []
        for where, e in queries:
            if not st.query(grafana_dashboard.grafana_to_promql(e)):
                empty.append(where)
        if empty:
            all_return_data.last = empty
            return None
        return True
    try:
        wait_for("every dashboard query to return data", all_return_data, 40, interval=1)
    except Failure as e:
        raise Failure(f"{e}; still empty: {getattr(all_return_data, 'last', '?')}")
    log(f"all {len(queries)} dashboard queries are valid PromQL and return data")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Failure as e:
        print(f"FAIL: {e}", flush=True)
        sys.exit(1)
