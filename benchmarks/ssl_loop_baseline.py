"""The straightforward MYOW training loop that ``ssl_throughput.py`` times as its baseline.

Each sample's views are made one at a time in a ``Dataset`` (NumPy random crops for images;
neural dropout, pepper and noise per population vector) and batched by a ``DataLoader``;
SGD runs with ``foreach=False`` and the EMA update loops over parameters in Python: how
such a step is commonly written, and what the trainer's batched, fused step is compared to.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from mtneuro.ssl.myow import MYOW
from mtneuro.vocab import XRAY_MEAN, XRAY_STD


def sync(device: str) -> None:
    """Wait for the device's queued work, so that a clock read covers it."""
    if device == "cuda":
        torch.cuda.synchronize()


class PerSampleImages(Dataset):
    """Baseline views: one NumPy random crop per sample and view, then normalisation."""

    def __init__(self, tiles: torch.Tensor, crop: int, views: int, seed: int) -> None:
        self.tiles, self.crop, self.views = tiles.numpy(), crop, views
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.tiles)

    def __getitem__(self, i: int) -> list[torch.Tensor]:
        out = []
        size = self.tiles.shape[-1]
        for _ in range(self.views):
            y, x = self.rng.integers(0, size - self.crop + 1, size=2)
            crop = self.tiles[i, :, y : y + self.crop, x : x + self.crop].astype(np.float32) / 255.0
            out.append(torch.from_numpy((crop - XRAY_MEAN) / XRAY_STD))
        return out


class PerSampleNeural(Dataset):
    """Baseline views: MYOW's neural transforms applied to one sample at a time."""

    def __init__(self, rates: torch.Tensor, seed: int) -> None:
        self.rates = rates
        self.mean, self.std = rates.mean(0), rates.std(0).clamp_min(1e-6)
        self.g = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return len(self.rates)

    def _view(self, x: torch.Tensor) -> torch.Tensor:
        p = float(torch.rand(1, generator=self.g)) * 0.2  # randomised dropout rate
        x = x * (torch.rand(x.shape, generator=self.g) >= p)
        if float(torch.rand(1, generator=self.g)) < 0.5:  # pepper
            x = x + 1.5 * (torch.rand(x.shape, generator=self.g) < 0.3)
        if float(torch.rand(1, generator=self.g)) < 0.5:  # Gaussian noise
            x = x + 1.5 * torch.randn(x.shape, generator=self.g)
        return (x - self.mean) / self.std

    def __getitem__(self, i: int) -> list[torch.Tensor]:
        return [self._view(self.rates[i]), self._view(self.rates[i])]


def run_baseline(kind: str, spec: dict[str, Any], data: torch.Tensor, method: MYOW,
                 args: argparse.Namespace) -> dict[str, Any]:
    """Samples/s of the straightforward loop on ``method`` over ``args.steps`` timed steps,
    after ``args.warmup`` untimed ones, batches drawn from ``data``."""
    b, total = spec["batch"], args.warmup + args.steps
    optimizer = torch.optim.SGD([p for p in method.parameters() if p.requires_grad], lr=0.01,
                                momentum=0.9, weight_decay=5e-4, foreach=False)
    if kind == "neural":
        loader = iter(DataLoader(PerSampleNeural(data, args.seed), batch_size=b, shuffle=True))
        pool_loader = None
    else:
        loader = iter(DataLoader(PerSampleImages(data, spec["crop"], 2, args.seed), batch_size=b,
                                 shuffle=True))
        pool_loader = iter(DataLoader(PerSampleImages(data, spec["crop"], 1, args.seed + 1),
                                      batch_size=b, shuffle=True))
    start = 0.0
    for step in range(total):
        if step == args.warmup:
            sync(args.device)
            start = time.perf_counter()
        view_a, view_b = (v.to(args.device) for v in next(loader))
        pool = next(pool_loader)[0].to(args.device) if pool_loader is not None else None
        out = method(view_a, view_b, pool=pool, mined_weight=0.1)
        optimizer.zero_grad()
        out["loss"].backward()
        optimizer.step()
        with torch.no_grad():  # un-fused EMA: one pair of kernels per parameter
            for online, target in method.ema_pairs():
                for po, pt in zip(online.parameters(), target.parameters()):
                    pt.mul_(0.99).add_(po, alpha=0.01)
    sync(args.device)
    return {"samples_per_s": args.steps * b / (time.perf_counter() - start)}
