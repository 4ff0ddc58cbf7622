"""inputserve: ML training input served over gRPC, in Python.

    import inputserve
    with inputserve.Client(["127.0.0.1:50051"]) as client:
        for batch in client:
            images = batch["image"]   # numpy uint8 [B, H, W, 3], no copy
            labels = batch["label"]   # numpy int32 [B]

A thin layer over the C++ client (``inputserve._inputserve``): it pulls
batches with prefetch from one or more servers, splits them over devices and,
in synthetic mode, serves one cached batch with no network traffic. Arrays
view the client's memory; a batch's memory returns to the client's pool only
when the last array (or DLPack tensor) of it is gone.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

from . import _inputserve
from ._errors import (Aborted, Cancelled, DataLoss, DeadlineExceeded, Error,
                      FailedPrecondition, Internal, InvalidArgument, NotFound,
                      OutOfRange, PermissionDenied, ResourceExhausted,
                      Unauthenticated, Unavailable, Unimplemented, Unknown)

Tensor = _inputserve.Tensor

__all__ = [
    "Client", "Batch", "DeviceBatch", "DatasetInfo", "TensorSpec",
    "ShardInfo", "Tensor", "Error", "Aborted", "Cancelled", "DataLoss",
    "DeadlineExceeded", "FailedPrecondition", "Internal", "InvalidArgument",
    "NotFound", "OutOfRange", "PermissionDenied", "ResourceExhausted",
    "Unauthenticated", "Unavailable", "Unimplemented", "Unknown",
]


@dataclass(frozen=True)
class TensorSpec:
    """One tensor of every batch: name, NumPy dtype name, global shape."""
    name: str
    dtype: str
    shape: Tuple[int, ...]


@dataclass(frozen=True)
class ShardInfo:
    """One server address that answered when the client was created."""
    target: str
    dataset: str
    shard_index: int
    num_shards: int
    examples_per_epoch: int


@dataclass(frozen=True)
class DatasetInfo:
    """What the servers serve, as they described it at connection time."""
    dataset: str
    batch_size: int
    examples_per_epoch: int  # Over the distinct shards; 0 = unbounded.
    batch_payload_bytes: int
    num_classes: int  # 0 when the server does not know.
    class_names: Tuple[str, ...]
    tensors: Tuple[TensorSpec, ...]
    shards: Tuple[ShardInfo, ...]


def _view(handle: Any, name: str, device: int) -> Any:
    """A NumPy array for host memory, a DLPack Tensor for CUDA memory."""
    if handle.is_cuda:
        return handle.tensor(name, device)
    return handle.array(name, device)


class DeviceBatch(Mapping):
    """One device's share of a batch: tensor name -> array (no copy)."""

    __slots__ = ("_handle", "_device")

    def __init__(self, handle: Any, device: int):
        self._handle = handle
        self._device = device

    def __getitem__(self, name: str) -> Any:
        return _view(self._handle, name, self._device)

    def __iter__(self) -> Iterator[str]:
        return iter(self._handle.names())

    def __len__(self) -> int:
        return len(self._handle.names())

    def tensor(self, name: str) -> Tensor:
        """The tensor as a DLPack-capable object (host or CUDA memory)."""
        return self._handle.tensor(name, self._device)

    def __repr__(self) -> str:
        return f"DeviceBatch(device={self._device}, tensors={list(self)})"


class Batch(Mapping):
    """One global batch: tensor name -> NumPy array viewing client memory.

    ``batch["image"]`` is uint8 ``[B, H, W, 3]``, ``batch["label"]`` int32
    ``[B]``. With ``num_devices > 0``, ``batch.devices[d]`` maps names to
    device d's slice (CUDA memory: DLPack tensors, e.g. for
    ``torch.from_dlpack``). Arrays stay valid while they live, whatever
    batches come later; the synthetic batch's arrays share one buffer, so
    writing into them changes every later synthetic step.
    """

    __slots__ = ("_handle", "_arrays")

    def __init__(self, handle: Any):
        self._handle = handle
        self._arrays: Dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        array = self._arrays.get(name)
        if array is None:
            array = self._arrays[name] = _view(self._handle, name, -1)
        return array

    def __iter__(self) -> Iterator[str]:
        return iter(self._handle.names())

    def __len__(self) -> int:
        return len(self._handle.names())

    def tensor(self, name: str) -> Tensor:
        """The whole-batch tensor as a DLPack-capable object."""
        return self._handle.tensor(name, -1)

    @property
    def devices(self) -> List[DeviceBatch]:
        """Per-device mappings (one entry when num_devices = 0)."""
        return [DeviceBatch(self._handle, d)
                for d in range(self._handle.num_devices)]

    @property
    def step(self) -> int:
        """Arrival order: this client's step, 0 for its first batch, then +1
        per batch. Deterministic order: the plan's step (``start_step``,
        ``start_step + 1``, ...); a synthetic-cache batch carries the next
        real step and does not consume it."""
        return self._handle.step

    @property
    def epoch(self) -> int:
        """Arrival order: the server's epoch. Deterministic order: the epoch
        of ``step`` in the plan."""
        return self._handle.epoch

    @property
    def mode(self) -> str:
        """"real" or "synthetic"."""
        return self._handle.mode

    @property
    def sequence(self) -> int:
        """The server's sequence number of the batch."""
        return self._handle.sequence

    @property
    def source(self) -> str:
        """The server address that sent it."""
        return self._handle.source

    @property
    def from_cache(self) -> bool:
        """True when served from the synthetic cache (no network)."""
        return self._handle.from_cache

    def release(self) -> None:
        """Drops this object's hold; arrays already taken stay valid."""
        self._arrays.clear()
        self._handle.release()

    def __repr__(self) -> str:
        try:
            shapes = ", ".join(
                f"{n}: {s.dtype}{list(s.shape)}"
                for n, s in ((n, self.tensor(n)) for n in self))
            return (f"Batch(step={self.step}, epoch={self.epoch}, "
                    f"mode={self.mode!r}, {{{shapes}}})")
        except Error:
            return "Batch(released)"


class Client:
    """Pulls batches from inputserve servers; an iterator of ``Batch``.

    Args:
        targets: "host:port", "dns:///name:port" (every address it resolves
            to), or a list of them; all are used.
        num_devices: 0 for one unsplit host batch; N to split every batch
            into N equal device slices (CUDA memory when the client was built
            with CUDA and N GPUs are visible, else host memory).
        prefetch: batches received ahead of ``next()``.
        ordering: "arrival" (each batch to whichever consumer asks first;
            the fastest) or "deterministic": the batch of trainer rank
            ``rank`` of ``world_size`` at each step is a pure function of
            the servers' dataset, seed, batch size and shard layout, so a
            run can resume from a checkpointed step, evaluate an epoch
            exactly once over all ranks, and fail over between replicas of
            a shard with no batch lost or repeated. Every server must serve
            it (else FailedPrecondition) and at least one replica of every
            shard must answer (else Unavailable).
        rank, world_size: this trainer's rank among ``world_size`` ranks
            (deterministic order only).
        start_step: the first step to return, e.g. the step a checkpoint
            saved (deterministic order only).
        num_epochs: iteration ends (StopIteration) after this many epochs,
            counted from step 0; 0 = never (deterministic order only).
        drop_remainder: True: every rank gets the same number of full
            batches per epoch; False: every example of an epoch is
            delivered once, and a shard's last batch may hold fewer
            examples (arrays with a shorter first dimension)
            (deterministic order only).
            With arrival order these must keep their defaults
            (InvalidArgument naming the option otherwise).
        consumer_id: a name the servers log.
        tls: None (plaintext), True (system roots), or a dict with
            ``ca_file`` and, for mutual TLS, ``cert_file``/``key_file``.
        **options: ``device`` ("auto", "host", "cuda"),
            ``connections_per_target``, ``connect_timeout``,
            ``unavailable_timeout``, ``initial_backoff``, ``max_backoff``,
            ``dns_refresh`` (seconds), ``cache_synthetic`` (bool).

    Raises:
        inputserve.Error: e.g. ``Unavailable`` when no server answers within
            ``connect_timeout``, ``InvalidArgument`` for a batch size that
            ``num_devices`` does not divide (the message names the nearest
            valid sizes).
    """

    def __init__(self, targets: Union[str, Sequence[str]], *,
                 num_devices: int = 0, prefetch: int = 2,
                 ordering: str = "arrival", rank: int = 0,
                 world_size: int = 1, start_step: int = 0,
                 num_epochs: int = 0, drop_remainder: bool = True,
                 consumer_id: str = "", tls: Any = None, **options: Any):
        self._targets = [targets] if isinstance(targets, str) else list(targets)
        self._options = dict(options, targets=self._targets,
                             num_devices=num_devices, prefetch=prefetch,
                             consumer_id=consumer_id, tls=tls,
                             ordering=ordering, rank=rank,
                             world_size=world_size, start_step=start_step,
                             num_epochs=num_epochs,
                             drop_remainder=drop_remainder)
        self._client = _inputserve.Client(self._options)
        self._info: Optional[DatasetInfo] = None

    def __iter__(self) -> "Client":
        return self

    def __next__(self) -> Batch:
        """The next batch; waits for it with the GIL released.

        Raises StopIteration at the end of the requested epochs, and
        KeyboardInterrupt promptly on Ctrl-C while waiting.
        """
        try:
            return Batch(self._client.next())
        except OutOfRange:
            raise StopIteration from None

    def close(self) -> None:
        """Stops the streams. Batches already returned stay valid."""
        self._client.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._client.closed

    @property
    def info(self) -> DatasetInfo:
        """The servers' description of the dataset, read at creation."""
        if self._info is None:
            raw = self._client.info()
            self._info = DatasetInfo(
                dataset=raw["dataset"], batch_size=raw["batch_size"],
                examples_per_epoch=raw["examples_per_epoch"],
                batch_payload_bytes=raw["batch_payload_bytes"],
                num_classes=raw["num_classes"],
                class_names=tuple(raw["class_names"]),
                tensors=tuple(TensorSpec(t["name"], t["dtype"],
                                         tuple(t["shape"]))
                              for t in raw["tensors"]),
                shards=tuple(ShardInfo(**s) for s in raw["shards"]))
        return self._info

    @property
    def mode(self) -> str:
        """"real" or "synthetic": the mode of the last batch returned."""
        return self._client.stats()["mode"]

    @property
    def num_devices(self) -> int:
        return self._client.num_devices

    def stats(self) -> Dict[str, Any]:
        """The C++ client's counters (batches, bytes_received, ...)."""
        return self._client.stats()

    def __repr__(self) -> str:
        if self.closed:
            return f"Client(targets={self._targets}, closed)"
        info = self.info
        return (f"Client(targets={self._targets}, "
                f"dataset={info.dataset!r}, batch_size={info.batch_size}, "
                f"num_devices={self.num_devices}, mode={self.mode!r})")
