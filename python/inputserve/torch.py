"""PyTorch face of inputserve: an IterableDataset that yields dicts of
``torch.Tensor`` viewing the client's memory (no copy).

    from torch.utils.data import DataLoader
    from inputserve.torch import InputServeDataset

    loader = DataLoader(InputServeDataset(["inputserve:50051"]),
                        batch_size=None)   # the server already batches
    for batch in loader:
        images, labels = batch["image"], batch["label"]

Batching, decoding and augmentation happen on the servers, so
``num_workers=0`` is the normal choice. With ``num_workers > 0`` every worker
process opens its own client (created inside the worker, never before the
fork) and the servers hand each batch to one of them.

Distributed data parallel: one dataset (and so one client) per rank, created
in that rank's process; pass ``consumer_id=f"rank{rank}"`` so servers can
tell ranks apart in their logs. For an epoch split evenly over the ranks,
resumable from a checkpointed step, pass ``ordering="deterministic",
rank=rank, world_size=world_size`` (and ``start_step=step`` on resume);
with ``num_epochs`` the iteration ends after that many epochs.
"""

from typing import Any, Dict, Iterator, Optional, Sequence, Union

import torch
import torch.utils.data

from . import Batch, Client

__all__ = ["InputServeDataset", "to_torch"]


def to_torch(batch: Batch) -> Dict[str, Any]:
    """Tensors of a batch as torch tensors sharing its memory.

    Host memory: ``{name: Tensor}`` of the whole batch. CUDA memory
    (``num_devices > 0`` on GPUs): ``{name: [Tensor per device]}``.
    """
    if batch.devices and batch.devices[0].tensor(next(iter(batch))).is_cuda:
        return {name: [torch.from_dlpack(d.tensor(name)) for d in batch.devices]
                for name in batch}
    return {name: torch.from_numpy(batch[name]) for name in batch}


class InputServeDataset(torch.utils.data.IterableDataset):
    """Batches from inputserve servers as dicts of ``torch.Tensor``.

    Use with ``DataLoader(dataset, batch_size=None)``. Keyword arguments go
    to ``inputserve.Client``. Iteration ends when the client's epochs end
    (``num_epochs``); otherwise it runs until the loop stops.
    """

    def __init__(self, targets: Union[str, Sequence[str]], **client_options: Any):
        super().__init__()
        self._targets = targets
        self._options = client_options
        #: The client of the iteration running in this process (for its
        #: ``mode`` and ``stats()``); None before the first batch.
        self.client: Optional[Client] = None

    def __iter__(self) -> Iterator[Dict[str, Any]]:
        options = dict(self._options)
        worker = torch.utils.data.get_worker_info()
        if worker is not None and not options.get("consumer_id"):
            options["consumer_id"] = f"dataloader-worker-{worker.id}"
        with Client(self._targets, **options) as client:
            self.client = client
            for batch in client:
                yield to_torch(batch)

    def __repr__(self) -> str:
        return f"InputServeDataset(targets={self._targets!r}, {self._options!r})"
