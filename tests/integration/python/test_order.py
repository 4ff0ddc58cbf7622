"""The deterministic order through the installed Python package, against
one-shard stand-in servers (fake_order_server): the label of example e of
batch i of epoch p on shard s is s * 10**8 + (p * 1000 + i) * 100 + e."""

import collections
import os
import subprocess
import tempfile
import time

import numpy as np
import pytest

import inputserve
from conftest import BIN, stop

BATCH = 8


class FakeShard:
    """One fake_order_server process; stopped on close."""

    def __init__(self, shard, shards, examples):
        self.dir = tempfile.mkdtemp(prefix="inputserve-order-")
        port_file = os.path.join(self.dir, "port")
        self.log = open(os.path.join(self.dir, "server.log"), "w+")
        self.proc = subprocess.Popen(
            [os.path.join(BIN, "fake_order_server"), f"--shard_index={shard}",
             f"--num_shards={shards}", f"--examples={examples}",
             f"--batch_size={BATCH}", f"--port_file={port_file}"],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not os.path.exists(port_file):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.log.seek(0)
                raise RuntimeError(f"server did not start: {self.log.read()}")
            time.sleep(0.02)
        with open(port_file) as f:
            self.target = f"127.0.0.1:{int(f.read())}"

    def close(self):
        stop(self.proc)
        self.log.close()


@pytest.fixture
def shards():
    """start([examples of shard 0, of shard 1, ...]) -> their targets."""
    started = []

    def start(examples):
        group = [FakeShard(s, len(examples), n) for s, n in enumerate(examples)]
        started.extend(group)
        return [shard.target for shard in group]

    yield start
    for shard in started:
        shard.close()


def label(shard, epoch, index, example):
    return shard * 10**8 + (epoch * 1000 + index) * 100 + example


def every_label(examples, epoch=0):
    return {label(s, epoch, i // BATCH, i % BATCH)
            for s, n in enumerate(examples) for i in range(n)}


def deterministic(targets, **options):
    options.setdefault("connect_timeout", 10)
    options.setdefault("unavailable_timeout", 30)
    return inputserve.Client(targets, ordering="deterministic", **options)


@pytest.mark.parametrize("world_size", [1, 2, 3])
def test_an_evaluation_epoch_delivers_every_example_once_over_the_ranks(
        shards, world_size):
    examples = [21, 13]  # Batches of 8, 8, 5 and 8, 5.
    targets = shards(examples)
    seen = collections.Counter()
    for rank in range(world_size):
        with deterministic(targets, rank=rank, world_size=world_size,
                           num_epochs=1, drop_remainder=False) as client:
            steps = []
            for batch in client:  # Ends with StopIteration.
                steps.append(batch.step)
                assert batch.epoch == 0
                labels = batch["label"]
                assert batch["image"].shape[0] == labels.shape[0]
                seen.update(labels.tolist())
            assert steps == list(range(len(steps)))
            with pytest.raises(StopIteration):
                next(client)
    assert set(seen) == every_label(examples)
    assert max(seen.values()) == 1


def test_training_ranks_get_the_same_number_of_full_batches(shards):
    examples = [40, 24]  # 5 + 3 full batches: 8 positions, 2 per rank of 3.
    targets = shards(examples)
    counts = []
    seen = collections.Counter()
    for rank in range(3):
        with deterministic(targets, rank=rank, world_size=3,
                           num_epochs=1) as client:
            batches = list(client)
            counts.append(len(batches))
            for batch in batches:
                assert batch["label"].shape == (BATCH,)
                seen.update(batch["label"].tolist())
    assert counts == [2, 2, 2]
    assert max(seen.values()) == 1
    assert set(seen) <= every_label(examples)


def test_a_resumed_client_yields_the_uninterrupted_runs_batches(shards):
    targets = shards([48, 40])
    with deterministic(targets, num_epochs=2) as client:
        uninterrupted = [(b.step, b.epoch, b["image"].tobytes(),
                          b["label"].tobytes()) for b in client]
    assert len(uninterrupted) == 22  # 11 batches per epoch.
    with deterministic(targets, num_epochs=2, start_step=9) as client:
        resumed = [(b.step, b.epoch, b["image"].tobytes(),
                    b["label"].tobytes()) for b in client]
    assert resumed == uninterrupted[9:]
    assert resumed[2][1] == 1  # Step 11 opens the second epoch.


def test_a_short_batch_has_fewer_rows_and_splits_over_devices(shards):
    targets = shards([21])
    with deterministic(targets, num_epochs=1, drop_remainder=False) as client:
        sizes = [b["label"].shape[0] for b in client]
    assert sizes == [8, 8, 5]
    with deterministic(targets, num_epochs=1, drop_remainder=False,
                       num_devices=4, device="host") as client:
        batches = list(client)
    last = batches[-1]
    rows = [len(d["label"]) for d in last.devices]
    assert rows == [2, 1, 1, 1]
    labels = np.concatenate([d["label"] for d in last.devices]).tolist()
    assert labels == [label(0, 0, 2, e) for e in range(5)]
    # The device slices of a short batch are not one contiguous array.
    with pytest.raises(inputserve.InvalidArgument, match="short last batch"):
        last["label"]


def test_order_options_are_checked_and_named(shards):
    targets = shards([40])
    with pytest.raises(inputserve.InvalidArgument, match="rank"):
        deterministic(targets, rank=2, world_size=2)
    with pytest.raises(inputserve.InvalidArgument, match="world_size"):
        deterministic(targets, world_size=0)
    with pytest.raises(inputserve.InvalidArgument, match="rank"):
        deterministic(targets, rank=-1)
    with pytest.raises(inputserve.InvalidArgument, match="num_epochs"):
        deterministic(targets, num_epochs="two")
    with pytest.raises(inputserve.InvalidArgument, match="drop_remainder"):
        inputserve.Client(targets, drop_remainder=False)
    with pytest.raises(inputserve.InvalidArgument, match="start_step"):
        inputserve.Client(targets, start_step=4)
    with pytest.raises(inputserve.InvalidArgument, match="ordering"):
        inputserve.Client(targets, ordering="shuffled")
    # 5 batches per epoch cannot feed 6 ranks.
    with pytest.raises(inputserve.FailedPrecondition, match="world_size 6"):
        deterministic(targets, rank=0, world_size=6)


def test_a_shard_without_any_server_is_unavailable():
    one_of_two = FakeShard(0, 2, 40)
    try:
        with pytest.raises(inputserve.Unavailable, match=r"shard\(s\) 1 of 2"):
            deterministic([one_of_two.target], connect_timeout=1)
    finally:
        one_of_two.close()


def test_the_torch_dataset_passes_the_order_options_on(shards):
    torch_module = pytest.importorskip("inputserve.torch")
    targets = shards([21])
    dataset = torch_module.InputServeDataset(
        targets, ordering="deterministic", num_epochs=2,
        drop_remainder=False)
    batches = list(dataset)  # Finite: ends after two epochs.
    assert [len(b["label"]) for b in batches] == [8, 8, 5, 8, 8, 5]
    assert batches[3]["label"].tolist() == [label(0, 1, 0, e)
                                            for e in range(8)]
