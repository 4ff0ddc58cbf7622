#!/usr/bin/python3
"""The Python face of inputserve, measured at the training loop.

Iterates ``DataLoader(InputServeDataset(target), batch_size=None)`` against a
running server and prints one line
``PYPEER images_per_sec=<x> cpu_ms_per_image=<c> server_cpu_ms_per_image=<s>
batches=<n>``: images/s at the Python loop over the timed batches, this
process's CPU milliseconds (user + system) per image over them, and the
server's (from /proc/<server_pid>/stat) over the same window.
Exit status 77 when inputserve or torch is not importable (the caller skips).

Run with Debian's interpreter: /usr/bin/python3 inputserve_torch_peer.py
    --target=HOST:PORT --server_pid=PID [--warmup=3] [--batches=12]
"""

import argparse
import os
import resource
import sys
import time


def cpu_seconds():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def process_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # utime and stime: fields 14 and 15 of the file.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", required=True)
    parser.add_argument("--server_pid", type=int, required=True)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--batches", type=int, default=12)
    args = parser.parse_args()
    try:
        import torch  # noqa: F401
        from torch.utils.data import DataLoader
        from inputserve.torch import InputServeDataset
    except ImportError as e:
        print(f"PYPEER skipped: {e}", file=sys.stderr)
        return 77
    loader = iter(DataLoader(InputServeDataset(args.target, prefetch=2),
                             batch_size=None))
    for _ in range(args.warmup):
        next(loader)
    images = 0
    server0 = process_cpu_seconds(args.server_pid)
    cpu0, start = cpu_seconds(), time.monotonic()
    for _ in range(args.batches):
        batch = next(loader)
        # What a training step touches first: the labels and one pixel row.
        images += int(batch["label"].shape[0])
        batch["image"][0, 0].sum()
    seconds = time.monotonic() - start
    cpu = cpu_seconds() - cpu0
    server = process_cpu_seconds(args.server_pid) - server0
    print(f"PYPEER images_per_sec={images / seconds:.1f} "
          f"cpu_ms_per_image={cpu / images * 1e3:.3f} "
          f"server_cpu_ms_per_image={server / images * 1e3:.3f} "
          f"batches={args.batches}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
