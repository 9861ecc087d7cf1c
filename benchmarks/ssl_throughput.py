"""Samples/s of a MYOW training step: the mtneuro trainer vs a straightforward loop.

Two workloads, each timed as baseline and candidate in the same run:

* ``image``: MYOW (cascaded, separate pool batch) on 1-channel 128 x 128 crops of
  256 x 256 tiles with the MTNeuro X-ray ResNet-18 and 4096-wide heads, batch 64
  (``--small``: the quick preset's ``resnet-tiny``, widths 16..128, on 64 x 64 crops of
  128 x 128 tiles, 256-wide heads, batch 32, for a quick CPU run);
* ``neural``: MYOW on 100-neuron population vectors with the MLP encoder
  ``[100, 64, 64, 64] -> 64`` and MYOW's monkey heads, batch 512, in-batch mining, k=5.

Baseline: a ``Dataset`` making each sample's views one at a time (NumPy crops /
per-sample neural dropout, pepper and noise) batched by a ``DataLoader``, SGD
with ``foreach=False`` and a Python loop over parameters for the EMA update.
Candidate: :class:`mtneuro.ssl.trainer.Trainer`, which indexes the batch from an
in-memory tensor and makes the views of the whole batch at once on the training
device (``mtneuro.ssl.augment``), with the fused (foreach) optimiser and EMA, in the
trainer's default memory format (channels-last where
:func:`mtneuro.ssl.acceleration.channels_last_pays`: CUDA and, for these models, CPU).
The fp32 candidate computes what the baseline computes, up to float32 rounding (the
summation order of NHWC kernels differs). A third row times the candidate with bf16
autocast (on CUDA; on CPU only where ``--cpu-bf16`` asks, which pays off on CPUs with
AMX / AVX512-BF16; bf16 changes the numerics). ``--compile`` adds a row with the
encoders compiled (``torch.compile``), in bf16 where the bf16 row runs, else in fp32;
``--ablate`` adds fp32 rows each with one CPU default off (channels-last, retained memory).

Each variant runs ``--warmup`` untimed steps, then ``--steps`` timed ones. On CPU
each variant runs in its own spawned process, so its peak resident memory can be
reported; on CUDA the peak allocated GPU memory is reported.

    python benchmarks/ssl_throughput.py --small                  # CPU, a few minutes
    python benchmarks/ssl_throughput.py --device cuda --steps 20 # full size on a GPU
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import resource
import tempfile
import time
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from mtneuro.models.registry import create_encoder
from mtneuro.ssl.augment import MTNEURO_MEAN, MTNEURO_STD, mtneuro_view
from mtneuro.ssl.augment.neural import NeuralAugment
from mtneuro.ssl.myow import MYOW
from mtneuro.ssl.trainer import Trainer, TrainSettings

NEURONS = 100


def workload(kind: str, small: bool, batch: int | None) -> dict[str, Any]:
    if kind == "neural":
        return {"batch": batch or 512, "encoder": ("mlp", {"in_dim": NEURONS}),
                "heads": {"projector_hidden": 0, "predictor_hidden": 256,
                          "mined_projector_hidden": 256, "mined_out": 32, "k": 5,
                          "loss_mix": "convex"}, "pool": False}
    if small:
        return {"batch": batch or 32, "tile": 128, "crop": 64,
                "encoder": ("resnet-tiny", {"in_channels": 1, "widths": [16, 32, 64, 128]}),
                "heads": {"projector_hidden": 256, "projector_out": 64, "predictor_hidden": 256,
                          "mined_projector_hidden": 256, "mined_out": 64}, "pool": True}
    return {"batch": batch or 64, "tile": 256, "crop": 128,
            "encoder": ("resnet18", {"in_channels": 1}), "heads": {}, "pool": True}


def make_data(kind: str, spec: dict[str, Any], n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    if kind == "neural":
        return torch.poisson(torch.full((n, NEURONS), 5.0), generator=g)  # spike counts
    return torch.randint(0, 256, (n, 1, spec["tile"], spec["tile"]), generator=g, dtype=torch.uint8)


def make_method(spec: dict[str, Any], device: str, seed: int) -> MYOW:
    torch.manual_seed(seed)
    name, kwargs = spec["encoder"]
    return MYOW(create_encoder(name, **kwargs), **spec["heads"]).to(device)


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
            out.append(torch.from_numpy((crop - MTNEURO_MEAN) / MTNEURO_STD))
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


def run_baseline(kind: str, spec: dict[str, Any], args: argparse.Namespace) -> float:
    """Samples/s of the straightforward loop over ``args.steps`` timed steps."""
    b, total = spec["batch"], args.warmup + args.steps
    data = make_data(kind, spec, b * total, args.seed)
    method = make_method(spec, args.device, args.seed)
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
            _sync(args.device)
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
    _sync(args.device)
    return args.steps * b / (time.perf_counter() - start)


# Trainer settings of each candidate row; the rest are the trainer's defaults. The last
# two rows (``--ablate``) each switch one CPU default off, to show what it brings.
CANDIDATES: dict[str, dict[str, Any]] = {
    "candidate": {"amp": "none"},
    "candidate-amp": {"amp": "bf16"},
    "candidate-compile": {"amp": "none", "compile": True},
    "candidate-amp-compile": {"amp": "bf16", "compile": True},
    "candidate-nchw": {"amp": "none", "channels_last": False},
    "candidate-no-retain": {"amp": "none", "retain_cpu_memory": False},
}


def run_candidate(
    kind: str, spec: dict[str, Any], args: argparse.Namespace, overrides: dict[str, Any]
) -> float:
    """Samples/s of :class:`Trainer` steps (from its per-step log, warm-up steps excluded)."""
    import json

    b, total = spec["batch"], args.warmup + args.steps
    data = make_data(kind, spec, b * total, args.seed)
    method = make_method(spec, args.device, args.seed)
    if kind == "neural":
        view = NeuralAugment(mean=data.mean(0).to(args.device),
                             std=data.std(0).clamp_min(1e-6).to(args.device))
    else:
        view = mtneuro_view(size=spec["crop"])
    optimizer = torch.optim.SGD([p for p in method.parameters() if p.requires_grad], lr=0.01,
                                momentum=0.9, weight_decay=5e-4)
    settings = TrainSettings(
        epochs=1, batch_size=b, lr=0.01, warmup_epochs=0, base_momentum=0.99, mined_weight=0.1,
        mined_rampup_epochs=0, pool_size=b if spec["pool"] else 0, seed=args.seed,
        # The loss read-back synchronises with the device; windows that divide both the
        # warm-up and the timed steps keep the timed window free of warm-up steps.
        log_every=math.gcd(args.warmup, args.steps), quiet=True, **overrides)
    with tempfile.TemporaryDirectory() as out:
        Trainer(method, optimizer, data, view, settings, out).fit()
        with open(f"{out}/train_log.jsonl") as handle:
            rates = [json.loads(line)["samples_per_s"] for line in handle][args.warmup:]
    return args.steps * b / sum(b / r for r in rates)


def measure(kind: str, variant: str, args: argparse.Namespace) -> dict[str, float]:
    torch.set_num_threads(args.threads)
    spec = workload(kind, args.small, args.batch)
    if args.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    if variant == "baseline":
        rate = run_baseline(kind, spec, args)
    else:
        rate = run_candidate(kind, spec, args, CANDIDATES[variant])
    if args.device == "cuda":
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {"samples_per_s": rate, "peak_mb": peak}


def _child(queue: Any, kind: str, variant: str, args: argparse.Namespace) -> None:
    queue.put(measure(kind, variant, args))


def measure_isolated(kind: str, variant: str, args: argparse.Namespace) -> dict[str, float]:
    """On CPU in a fresh process, so peak RSS belongs to this variant alone."""
    if args.device == "cuda":
        return measure(kind, variant, args)
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(queue, kind, variant, args))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="+", default=["image", "neural"],
                        choices=["image", "neural"])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--batch", type=int, default=None, help="override the batch size")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--small", action="store_true", help="small image model (quick CPU run)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cpu-bf16", action="store_true", help="add the bf16 row on CPU")
    parser.add_argument("--compile", action="store_true",
                        help="add a row with torch.compile'd encoders, bf16 where the bf16 row "
                             "runs, else fp32 (compile time is in the warm-up steps, not in the "
                             "timed ones)")
    parser.add_argument("--ablate", action="store_true",
                        help="add fp32 rows without channels-last and without retained CPU memory")
    args = parser.parse_args()
    name = torch.cuda.get_device_name() if args.device == "cuda" else f"cpu x{args.threads} threads"
    print(f"ssl_throughput: device {name}, float32 (amp row: bfloat16), seed {args.seed}, "
          f"{args.warmup} warm-up + {args.steps} timed steps, torch {torch.__version__}")
    amp_row = args.device == "cuda" or args.cpu_bf16
    variants = ["baseline", "candidate"] + (["candidate-amp"] if amp_row else [])
    if args.compile:
        variants.append("candidate-amp-compile" if amp_row else "candidate-compile")
    if args.ablate:
        variants += ["candidate-nchw", "candidate-no-retain"]
    for kind in args.workloads:
        spec = workload(kind, args.small, args.batch)
        label = f"{kind} ({spec['encoder'][0]}, batch {spec['batch']}" + (
            f", {spec['crop']}x{spec['crop']} crops)" if kind == "image" else ")")
        results = {v: measure_isolated(kind, v, args) for v in variants}
        base = results["baseline"]["samples_per_s"]
        for variant, res in results.items():
            ratio = res["samples_per_s"] / base
            print(f"{label:<44} {variant:<21} {res['samples_per_s']:10.2f} samples/s  "
                  f"x{ratio:5.2f}  peak {res['peak_mb']:8.0f} MiB", flush=True)


if __name__ == "__main__":
    main()
