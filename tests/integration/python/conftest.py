"""Fixtures: real inputserve-server processes on 127.0.0.1 (port 0)."""

import json
import os
import re
import signal
import subprocess
import tempfile
import time
import urllib.request

import pytest

BIN = os.environ.get("INPUTSERVE_BIN_DIR", "")


def stop(proc):
    """Ends a server process: SIGTERM (resumed if stopped), then SIGKILL."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGCONT)
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Server:
    """One inputserve-server; stopped (SIGTERM, then SIGKILL) on close."""

    def __init__(self, *flags):
        self.dir = tempfile.mkdtemp(prefix="inputserve-py-")
        port_file = os.path.join(self.dir, "ports.json")
        self.log = open(os.path.join(self.dir, "server.log"), "w+")
        self.proc = subprocess.Popen(
            [os.path.join(BIN, "inputserve-server"), "--listen=127.0.0.1:0",
             "--admin_listen=127.0.0.1:0", "--admin_insecure_no_auth",
             "--metrics_listen=127.0.0.1:0", f"--port_file={port_file}",
             *flags], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not os.path.exists(port_file) or not os.path.getsize(port_file):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.log.seek(0)
                raise RuntimeError(f"server did not start: {self.log.read()}")
            time.sleep(0.02)
        time.sleep(0.05)  # The file is written whole, but be sure it is read so.
        with open(port_file) as f:
            self.ports = json.load(f)
        self.target = f"127.0.0.1:{self.ports['data']}"
        self.admin = f"127.0.0.1:{self.ports['admin']}"

    def metric(self, name, labels=""):
        """The value of one series on /metrics (KeyError when absent)."""
        url = f"http://127.0.0.1:{self.ports['metrics']}/metrics"
        text = urllib.request.urlopen(url, timeout=10).read().decode()
        pattern = re.escape(name + (f"{{{labels}}}" if labels else "")) + r" (\S+)"
        match = re.search(r"^" + pattern + r"$", text, re.M)
        if match is None:
            raise KeyError(f"{name}{{{labels}}} not on /metrics")
        return float(match.group(1))

    def set_mode(self, mode):
        subprocess.run([os.path.join(BIN, "inputserve-admin"),
                        f"--server={self.admin}", "set-mode", mode],
                       check=True, capture_output=True, timeout=30)

    def close(self):
        stop(self.proc)
        self.log.close()


@pytest.fixture
def start_server():
    servers = []

    def start(*flags):
        servers.append(Server(*flags))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def cifar_server(start_server):
    return start_server("--dataset=synthetic:cifar10", "--batch_size=16",
                        "--seed=7")
