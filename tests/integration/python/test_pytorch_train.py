"""trainer_example/pytorch_train.py end to end against a real server."""

import os
import re
import subprocess
import sys

import pytest

from conftest import BIN

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "..",
                      "trainer_example", "pytorch_train.py")


def run(*args):
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True,
                          text=True, timeout=300, env=dict(os.environ))


def test_trains_real_then_synthetic_after_the_flip(start_server):
    pytest.importorskip("torch")
    server = start_server("--dataset=synthetic:cifar10", "--batch_size=32")
    # gRPC and the prefetch slots hold real batches sent before the flip, so
    # the synthetic phase starts some steps after it: leave room.
    r = run(f"--servers={server.target}", "--steps=300", "--flip_at_step=20",
            f"--admin={server.admin}",
            f"--admin_bin={os.path.join(BIN, 'inputserve-admin')}",
            "--log_every=50")
    assert r.returncode == 0, r.stdout + r.stderr
    phases = re.findall(r"^PHASE mode=(\w+) steps=(\d+) examples_per_sec="
                        r"([0-9.]+) input_wait_pct=([0-9.]+)$", r.stdout, re.M)
    assert [p[0] for p in phases] == ["real", "synthetic"], r.stdout
    assert sum(int(p[1]) for p in phases) == 300
    assert all(float(p[2]) > 0 for p in phases)
    summary = re.search(r"^SUMMARY steps=300 examples_per_sec=[0-9.]+ "
                        r"input_wait_pct=[0-9.]+ bytes_received=(\d+) "
                        r"final_mode=synthetic$", r.stdout, re.M)
    assert summary, r.stdout
    assert int(summary.group(1)) > 0


def test_unreachable_server_fails_with_the_reason():
    pytest.importorskip("torch")
    r = run("--servers=127.0.0.1:1", "--steps=5")
    assert r.returncode == 1
    assert "UNAVAILABLE" in r.stderr and "127.0.0.1:1" in r.stderr, r.stderr


def test_bad_flags_are_rejected():
    pytest.importorskip("torch")
    r = run("--servers=127.0.0.1:1", "--steps=0")
    assert r.returncode == 2 and "--steps must be positive" in r.stderr
    r = run("--servers=127.0.0.1:1", "--flip_at_step=3")
    assert r.returncode == 2 and "--flip_at_step needs --admin" in r.stderr
