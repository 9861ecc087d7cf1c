"""Worker for ``test_ddp.py``: trains a tiny MYOW a few steps, in one process or under torchrun.

By default MYOW mines each sample's nearest neighbour (k=1) in a separate 32-sample pool
batch; under torchrun each rank embeds its 16-sample share of the pool and MYOW
gathers the embeddings, so both runs mine in the same global pool. With LAYOUT
``merged`` and POOL ``0``, MYOW-merged mines within the batch: the mined samples' raw
views are gathered and forwarded through the online network.

Runs in float64. Usage: ``python ddp_worker.py OUT_DIR [LAYOUT POOL]`` (one process) or
``torchrun --standalone --nproc_per_node 2 ddp_worker.py OUT_DIR [LAYOUT POOL]``. Rank 0 writes
``OUT_DIR/train_log.jsonl``, ``OUT_DIR/checkpoint.pt`` and ``OUT_DIR/params.pt``.

The views are deterministic (the batch, then its mirror image): augmentation
streams are seeded per rank, so random views could not match between a 1- and a
2-process run, whereas everything this test is about (sharding of the global
batch, gradient averaging, BatchNorm statistics over all ranks) is exercised.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ssl_train_helpers import digits_subset, tiny_myow

from mtneuro.ssl.distributed import (
    convert_sync_batchnorm,
    init_distributed,
    shutdown_distributed,
    wrap_ddp,
)
from mtneuro.ssl.trainer import Trainer, TrainSettings


class MirrorViews:
    """Alternately the batch and its left-right mirror image (3 calls per step)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        self.calls += 1
        return batch if self.calls % 2 else batch.flip(-1)


def main(out_dir: str, layout: str = "cascaded", pool_size: int = 32,
         resume: bool = False) -> None:
    """Train and write the outputs; float64 (see test_ddp.py for why)."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        train(out_dir, layout, pool_size, resume)
    finally:
        torch.set_default_dtype(previous)


def train(out_dir: str, layout: str, pool_size: int, resume: bool = False) -> None:
    info = init_distributed("cpu")
    method = tiny_myow(seed=3, layout=layout)
    # BatchNorm sits in the encoder and heads; its batch statistics must span all
    # ranks for the 2-process run to see the same global batch as the 1-process one.
    method = convert_sync_batchnorm(method, info.device)
    optimizer = torch.optim.SGD(method.parameters(), lr=0.1, momentum=0.9)
    settings = TrainSettings(epochs=2, batch_size=32, lr=0.1, warmup_epochs=0, base_momentum=0.9,
                             mined_weight=0.5, mined_rampup_epochs=1, pool_size=pool_size, seed=0,
                             log_every=1, quiet=True)
    trainer = Trainer(method, optimizer, digits_subset(96), MirrorViews(), settings, out_dir,
                      dist=info, wrap=lambda m: wrap_ddp(m, info))
    trainer.fit(resume=resume)
    if info.is_main:
        torch.save(method.state_dict(), Path(out_dir) / "params.pt")
    shutdown_distributed()


if __name__ == "__main__":
    torch.set_num_threads(1)
    main(sys.argv[1], *sys.argv[2:3], *map(int, sys.argv[3:4]))
