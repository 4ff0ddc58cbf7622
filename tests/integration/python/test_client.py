"""The installed Python package against real servers."""

import gc
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import inputserve
from conftest import BIN


def test_imports_the_installed_package_not_the_build_tree():
    prefix = os.environ["INPUTSERVE_TEST_PREFIX"]
    assert inputserve.__file__.startswith(prefix), inputserve.__file__
    assert "Client" in inputserve.Client.__doc__ or inputserve.Client.__doc__


def test_the_prefix_site_directory_finds_the_package_without_pythonpath():
    # What Debian's python3 does for prefix /usr/local: it reads the .pth
    # files of <prefix>/lib/python3.X/dist-packages.
    prefix = os.environ["INPUTSERVE_TEST_PREFIX"]
    site_dir = os.path.join(prefix, "lib", f"python{sys.version_info.major}."
                            f"{sys.version_info.minor}", "dist-packages")
    script = ("import site, sys; sys.path.append('/usr/lib/python3/"
              f"dist-packages'); site.addsitedir({site_dir!r}); "
              "import inputserve; print(inputserve.__file__)")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run([sys.executable, "-S", "-c", script], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == os.path.join(
        prefix, "lib", "python3", "dist-packages", "inputserve", "__init__.py")


def test_arrays_equal_the_cpp_clients_bytes(start_server, tmp_path):
    # Two fresh servers with the same flags serve the same batches in order;
    # one is read by the C++ client, the other by Python.
    flags = ("--dataset=synthetic:cifar10", "--batch_size=32", "--seed=11",
             "--decode_threads=1")
    cpp_server, py_server = start_server(*flags), start_server(*flags)
    out = tmp_path / "cpp.bin"
    subprocess.run([os.path.join(BIN, "dump_batches"),
                    f"--target={cpp_server.target}", "--batches=3",
                    f"--out={out}"], check=True, timeout=60)
    expected = out.read_bytes()
    got = b""
    with inputserve.Client(py_server.target, prefetch=1) as client:
        for _ in range(3):
            batch = next(client)
            got += batch["image"].tobytes() + batch["label"].tobytes()
    assert len(got) == len(expected) == 3 * 32 * (3072 + 4)
    assert got == expected


def test_arrays_view_the_clients_pool_without_copies(cifar_server):
    with inputserve.Client(cifar_server.target, prefetch=2) as client:
        addresses = set()
        for _ in range(30):
            batch = next(client)
            image, label = batch["image"], batch["label"]
            assert not image.flags.owndata and not label.flags.owndata
            assert image.shape == (16, 32, 32, 3) and image.dtype == np.uint8
            assert label.shape == (16,) and label.dtype == np.int32
            # One payload: the labels follow the images in the same buffer.
            assert label.ctypes.data == image.ctypes.data + image.nbytes
            addresses.add(image.ctypes.data)
            del batch, image, label
        # Released batches go back to the pool: a few buffers, reused.
        assert len(addresses) <= 4, addresses


def test_array_kept_alive_keeps_its_bytes_across_100_batches(cifar_server):
    with inputserve.Client(cifar_server.target) as client:
        kept = next(client)["image"]  # The batch object itself is dropped.
        snapshot = kept.copy()
        later = [next(client)["image"].copy() for _ in range(100)]
        assert any(not np.array_equal(snapshot, x) for x in later)
        np.testing.assert_array_equal(kept, snapshot)


def test_dlpack_shares_memory_with_torch(cifar_server):
    torch = pytest.importorskip("torch")
    with inputserve.Client(cifar_server.target, num_devices=2) as client:
        batch = next(client)
        tensor = batch.tensor("image")
        assert tensor.__dlpack_device__() == (1, 0)  # kDLCPU
        t = torch.from_dlpack(tensor)
        assert t.data_ptr() == batch["image"].ctypes.data
        assert tuple(t.shape) == (16, 32, 32, 3)
        d1 = torch.from_dlpack(batch.devices[1].tensor("label"))
        assert d1.dtype == torch.int32 and tuple(d1.shape) == (8,)
        np.testing.assert_array_equal(d1.numpy(), batch["label"][8:])
        # numpy's own DLPack export works on our arrays too.
        assert torch.from_dlpack(batch["label"]).data_ptr() == \
            batch["label"].ctypes.data
        snapshot = t.clone()
        del batch, tensor
        for _ in range(50):
            next(client)
        assert torch.equal(t, snapshot)


def test_synthetic_mode_identical_arrays_and_flat_server_bytes(start_server):
    server = start_server("--dataset=synthetic:cifar10", "--batch_size=16",
                          "--mode=synthetic")
    with inputserve.Client(server.target, num_devices=2) as client:
        first = next(client)
        assert first.mode == "synthetic" and first.from_cache
        assert client.mode == "synthetic"
        # The server counts the one batch it sent when its write completes.
        deadline = time.monotonic() + 10
        sent = server.metric("inputserve_bytes_sent_total", 'mode="synthetic"')
        while sent == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
            sent = server.metric("inputserve_bytes_sent_total",
                                 'mode="synthetic"')
        assert sent > 0
        image = first["image"]
        for step in range(1, 201):
            batch = next(client)
            assert batch.step == first.step + step
            assert batch["image"].ctypes.data == image.ctypes.data
            np.testing.assert_array_equal(batch["image"], image)
        assert server.metric("inputserve_bytes_sent_total",
                             'mode="synthetic"') == sent
        stats = client.stats()
        assert stats["cache_hits"] >= 200 and stats["synthetic_uploads"] == 1
        assert stats["h2d_bytes"] == 0  # Host memory: nothing is copied.


def test_flip_to_real_through_the_admin_cli(start_server):
    server = start_server("--dataset=synthetic:cifar10", "--batch_size=16",
                          "--mode=synthetic")
    with inputserve.Client(server.target) as client:
        held = next(client)
        assert held.mode == "synthetic"
        server.set_mode("real")
        deadline = time.monotonic() + 10
        while next(client).mode != "real":
            assert time.monotonic() < deadline, "still synthetic after 10 s"
        assert client.mode == "real"
        # The cached batch held across the flip is still readable.
        assert held["image"].shape == (16, 32, 32, 3)


def test_unreachable_server_raises_unavailable_within_the_timeout():
    start = time.monotonic()
    with pytest.raises(inputserve.Unavailable) as info:
        inputserve.Client("127.0.0.1:1", connect_timeout=2)
    assert time.monotonic() - start < 10
    assert info.value.code == "UNAVAILABLE"
    assert "127.0.0.1:1" in info.value.message
    assert isinstance(info.value, inputserve.Error)


def test_bad_device_split_raises_invalid_argument_with_the_message(
        cifar_server):
    with pytest.raises(inputserve.InvalidArgument) as info:
        inputserve.Client(cifar_server.target, num_devices=3)
    assert info.value.code == "INVALID_ARGUMENT"
    assert "batch size 16" in info.value.message
    assert "num_devices 3" in info.value.message
    assert "15 or 18" in info.value.message


def test_bad_options_name_the_option(cifar_server):
    with pytest.raises(inputserve.InvalidArgument, match="prefetc"):
        inputserve.Client(cifar_server.target, prefetc=3)
    with pytest.raises(inputserve.InvalidArgument, match="unavailable_timeout"):
        inputserve.Client(cifar_server.target, unavailable_timeout=-1)
    with pytest.raises(inputserve.InvalidArgument, match="device"):
        inputserve.Client(cifar_server.target, device="tpu")
    with pytest.raises(inputserve.InvalidArgument, match="ordering"):
        inputserve.Client(cifar_server.target, ordering="random")
    with pytest.raises(inputserve.InvalidArgument, match="prefetch_batches"):
        inputserve.Client(cifar_server.target, prefetch=0)


def test_info_mode_stats_repr_and_close(cifar_server):
    client = inputserve.Client([cifar_server.target])
    info = client.info
    assert info.batch_size == 16 and info.num_classes == 10
    assert info.dataset == "synthetic:cifar10"
    assert [t.name for t in info.tensors] == ["image", "label"]
    assert info.tensors[0].shape == (16, 32, 32, 3)
    assert info.shards[0].target == cifar_server.target
    batch = next(client)
    assert batch.step == 0 and next(client).step == 1
    assert set(batch) == {"image", "label"} and len(batch) == 2
    assert "Batch(step=0" in repr(batch) and "uint8[16, 32, 32, 3]" in repr(batch)
    assert "batch_size=16" in repr(client)
    assert client.stats()["batches"] == 2
    client.close()
    assert client.closed and "closed" in repr(client)
    with pytest.raises(inputserve.FailedPrecondition):
        next(client)
    # Batches taken before close stay valid.
    assert batch["label"].shape == (16,)


def test_unknown_tensor_name_raises_invalid_argument(cifar_server):
    with inputserve.Client(cifar_server.target) as client:
        with pytest.raises(inputserve.InvalidArgument, match="'image'"):
            next(client)["pixels"]


def _rss_kib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def test_no_reference_or_memory_leak_over_10000_batches(start_server):
    server = start_server("--dataset=synthetic:cifar10", "--batch_size=4")
    with inputserve.Client(server.target) as client:
        probe = object()

        def run(n):
            for _ in range(n):
                batch = next(client)
                batch["image"].sum()
                batch.tensor("label").__dlpack__()  # Dropped unconsumed.
                torch_like = batch.tensor("image")
                del batch, torch_like
            gc.collect()

        run(3000)  # Warm-up: allocator arenas and gRPC buffers settle.
        objects = len(gc.get_objects())
        refs = sys.getrefcount(probe)
        slots = client.stats()["pool_slots"]
        samples = []
        for _ in range(5):
            run(2000)
            samples.append(_rss_kib())
        # Every batch handle came back (an array, capsule or tensor that kept
        # one would grow the pool by a buffer), no Python object piles up.
        assert client.stats()["pool_slots"] == slots
        assert len(gc.get_objects()) - objects < 100
        assert sys.getrefcount(probe) == refs
        # RSS moves by tens of MB with gRPC's receive windows; it must not
        # climb beyond that.
        assert max(samples) - samples[0] < 48 * 1024, samples


def test_ctrl_c_while_waiting_raises_keyboard_interrupt_promptly(cifar_server):
    # The server is stopped (SIGSTOP) after the client connects, so next()
    # waits; SIGINT must end the wait at once, not after the 30 s timeout.
    script = textwrap.dedent(f"""
        import os, signal, sys, time, inputserve
        client = inputserve.Client({cifar_server.target!r}, prefetch=1,
                                   unavailable_timeout=30)
        next(client)
        os.kill({cifar_server.proc.pid}, signal.SIGSTOP)
        time.sleep(0.5)  # Let the prefetched batches drain below.
        print("waiting", flush=True)
        start = time.monotonic()
        try:
            while True:
                next(client)
                start = time.monotonic()
        except KeyboardInterrupt:
            print(f"interrupted after {{time.monotonic() - start:.2f}}",
                  flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script],
                            stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ))
    try:
        assert proc.stdout.readline().strip() == "waiting"
        time.sleep(1.0)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
        took = time.monotonic() - sent
    finally:
        os.kill(cifar_server.proc.pid, signal.SIGCONT)
        if proc.poll() is None:
            proc.kill()
    assert "interrupted after" in out, out
    assert took < 5, f"KeyboardInterrupt took {took:.2f} s"


def test_dataloader_trains_a_few_steps(cifar_server):
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader
    from inputserve.torch import InputServeDataset

    dataset = InputServeDataset(cifar_server.target, prefetch=2)
    loader = DataLoader(dataset, batch_size=None)
    model = torch.nn.Sequential(torch.nn.Flatten(),
                                torch.nn.Linear(32 * 32 * 3, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    before = [p.detach().clone() for p in model.parameters()]
    steps = 0
    for batch in loader:
        images = batch["image"].float().div(255)
        labels = batch["label"].long()
        assert images.shape == (16, 32, 32, 3) and labels.shape == (16,)
        loss = torch.nn.functional.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        assert torch.isfinite(loss)
        steps += 1
        if steps == 5:
            break
    assert steps == 5
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
