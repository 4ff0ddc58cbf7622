#!/usr/bin/python3
"""What the Python layer costs per batch, next to the C++ client's Next().

Starts inputserve-server in synthetic mode (the client serves its cached
batch, so no network or decoding is timed), then times in one run:
  - C++: Next() and NextShared() (cpp_next_bench),
  - Python: next(client), and next(client) plus batch["image"] (the NumPy
    view a training step takes).
Prints ``RESULT python_next_us=<p> python_next_array_us=<a> cpp_next_us=<c>
overhead_us=<a - c>``.

    python_overhead_bench.py --bin_dir=build/bin [--calls=100000]
(PYTHONPATH must reach the inputserve package, e.g. build/python.)
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time


def start_server(bin_dir, work):
    port_file = os.path.join(work, "ports.json")
    proc = subprocess.Popen(
        [os.path.join(bin_dir, "inputserve-server"),
         "--dataset=synthetic:imagenet", "--batch_size=256", "--mode=synthetic",
         "--listen=127.0.0.1:0", "--admin_listen=", "--metrics_listen=",
         f"--port_file={port_file}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not (os.path.exists(port_file) and os.path.getsize(port_file)):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("inputserve-server did not start")
        time.sleep(0.02)
    time.sleep(0.05)
    with open(port_file) as f:
        return proc, f"127.0.0.1:{json.load(f)['data']}"


def per_call_us(calls, fn):
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin_dir", required=True)
    parser.add_argument("--calls", type=int, default=100000)
    args = parser.parse_args()
    import inputserve

    work = tempfile.mkdtemp(prefix="inputserve-pybench-")
    proc, target = start_server(args.bin_dir, work)
    try:
        cpp = subprocess.run(
            [os.path.join(args.bin_dir, "cpp_next_bench"), f"--target={target}",
             f"--calls={args.calls}"], capture_output=True, text=True,
            timeout=600)
        match = re.search(r"CPP next_ns=([0-9.]+) next_shared_ns=([0-9.]+)",
                          cpp.stdout)
        if cpp.returncode != 0 or match is None:
            print(f"cpp_next_bench failed: {cpp.stdout}{cpp.stderr}",
                  file=sys.stderr)
            return 1
        cpp_next_us = float(match.group(1)) / 1e3
        cpp_shared_us = float(match.group(2)) / 1e3
        with inputserve.Client(target) as client:
            first = next(client)
            assert first.mode == "synthetic", first
            py_next = per_call_us(args.calls, lambda: next(client))
            py_array = per_call_us(args.calls, lambda: next(client)["image"])
    finally:
        proc.terminate()
        proc.wait()
    print(f"C++ Next() {cpp_next_us * 1e3:.1f} ns, NextShared() "
          f"{cpp_shared_us * 1e3:.1f} ns; Python next() {py_next:.2f} us, "
          f"next()+batch['image'] {py_array:.2f} us")
    print(f"RESULT python_next_us={py_next:.2f} python_next_array_us="
          f"{py_array:.2f} cpp_next_us={cpp_next_us:.4f} "
          f"overhead_us={py_array - cpp_next_us:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
