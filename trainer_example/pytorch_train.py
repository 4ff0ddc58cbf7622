#!/usr/bin/python3
"""A small CNN trained on CPU with PyTorch from inputserve servers.

The Python twin of trainer_example: it reads batches through
``DataLoader(InputServeDataset(...), batch_size=None)``, trains a tiny
convolutional network, and prints progress (step, loss, examples/s, share of
time waiting for input). With ``--flip_at_step=K`` it flips the servers to
synthetic mode through ``inputserve-admin`` after step K, so one run shows
the real and the synthetic step rate side by side. It ends with one
``PHASE`` line per mode and the machine-readable line

  SUMMARY steps=<n> examples_per_sec=<x> input_wait_pct=<x> bytes_received=<n> final_mode=<real|synthetic>

Example:
  pytorch_train.py --servers=127.0.0.1:50051 --steps=200 \\
      --flip_at_step=100 --admin=127.0.0.1:50052 --token_file=/etc/token
"""

import argparse
import os
import shutil
import subprocess
import sys
import time

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

import inputserve
from inputserve.torch import InputServeDataset


class SmallCnn(torch.nn.Module):
    """Two strided convolutions, global pooling, a linear classifier."""

    def __init__(self, num_classes):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 16, 3, stride=2, padding=1)
        self.conv2 = torch.nn.Conv2d(16, 32, 3, stride=2, padding=1)
        self.head = torch.nn.Linear(32, num_classes)

    def forward(self, images):
        x = F.relu(self.conv1(images))
        x = F.relu(self.conv2(x))
        return self.head(x.mean(dim=(2, 3)))


class Phase:
    """Steps, examples and input wait of one mode's stretch of the run."""

    def __init__(self, mode):
        self.mode, self.steps, self.examples = mode, 0, 0
        self.wait = 0.0
        self.start = time.monotonic()
        self.end = None  # Set when the next phase begins or the run ends.

    def line(self):
        seconds = max(self.end - self.start, 1e-9)
        return (f"PHASE mode={self.mode} steps={self.steps} "
                f"examples_per_sec={self.examples / seconds:.1f} "
                f"input_wait_pct={100 * min(1.0, self.wait / seconds):.1f}")


def set_mode(args, mode):
    admin = args.admin_bin or shutil.which("inputserve-admin") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "inputserve-admin")
    command = [admin, f"--server={args.admin}", "set-mode", mode]
    if args.token_file:
        command.insert(2, f"--token_file={args.token_file}")
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise RuntimeError(f"inputserve-admin set-mode {mode} failed: "
                           f"{result.stdout}{result.stderr}".strip())


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--servers", required=True,
                        help="HOST:PORT[,HOST:PORT...] or dns:///name:port")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--learning_rate", type=float, default=0.05)
    parser.add_argument("--log_every", type=int, default=10)
    parser.add_argument("--flip_at_step", type=int, default=0,
                        help="after this step, set-mode synthetic (0: never)")
    parser.add_argument("--admin", default="",
                        help="admin HOST:PORT for --flip_at_step")
    parser.add_argument("--token_file", default="")
    parser.add_argument("--admin_bin", default="",
                        help="inputserve-admin (default: on PATH)")
    args = parser.parse_args(argv)
    if args.steps <= 0:
        parser.error(f"--steps must be positive, got {args.steps}")
    if args.flip_at_step and not args.admin:
        parser.error("--flip_at_step needs --admin=HOST:PORT")
    return args


def main(argv):
    args = parse_args(argv)
    torch.manual_seed(0)
    # One batch over and over (synthetic mode) drives gradients into
    # denormals, which are slow on CPUs; they change nothing here.
    torch.set_flush_denormal(True)
    targets = args.servers.split(",")
    try:
        probe = inputserve.Client(targets)
    except inputserve.Error as e:
        print(f"pytorch_train: {e}", file=sys.stderr)
        return 1
    num_classes = probe.info.num_classes or 10
    probe.close()
    model = SmallCnn(num_classes)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.learning_rate)
    dataset = InputServeDataset(targets, consumer_id="pytorch_train")
    loader = iter(DataLoader(dataset, batch_size=None))
    phases, mode = [], "real"
    start = time.monotonic()
    total_wait, total_examples = 0.0, 0
    for step in range(1, args.steps + 1):
        before = time.monotonic()
        try:
            batch = next(loader)
        except inputserve.Error as e:
            print(f"pytorch_train: step {step}: {e}", file=sys.stderr)
            return 1
        waited = time.monotonic() - before
        images = batch["image"].permute(0, 3, 1, 2).float().div_(255)
        labels = batch["label"].long()
        now_mode = dataset.client.mode
        if not phases or now_mode != phases[-1].mode:
            if phases:
                phases[-1].end = before
            phases.append(Phase(now_mode))
            phases[-1].start = before
        phase = phases[-1]
        loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        phase.steps += 1
        phase.examples += labels.shape[0]
        phase.wait += waited
        total_wait += waited
        total_examples += labels.shape[0]
        mode = now_mode
        if step % args.log_every == 0 or step == args.steps:
            elapsed = time.monotonic() - start
            print(f"step {step}/{args.steps} {mode} - loss: {loss.item():.4f}"
                  f" - {total_examples / elapsed:.1f} examples/s - input wait "
                  f"{100 * total_wait / elapsed:.1f}%", flush=True)
        if step == args.flip_at_step:
            set_mode(args, "synthetic")
    bytes_received = dataset.client.stats()["bytes_received"]
    phases[-1].end = time.monotonic()
    for phase in phases:
        print(phase.line())
    elapsed = time.monotonic() - start
    print(f"SUMMARY steps={args.steps} "
          f"examples_per_sec={total_examples / elapsed:.1f} "
          f"input_wait_pct={100 * min(1.0, total_wait / elapsed):.1f} "
          f"bytes_received={bytes_received} final_mode={mode}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
