"""How often MYOW's mined neighbours share the anchor's label: a diagnostic of the mined views.

MYOW predicts, for each bin, the representation of one of its ``k`` nearest neighbours
among other bins (never its own trial; sleep: never within ``mine_exclude`` bins). The
mined view can only teach the encoder something BYOL's augmented and temporal views do
not if it is a plausible positive: here, a bin of another trial with the same reach
target (sleep: the same arousal state). This script measures that *label agreement* of
the ``k`` nearest admissible neighbours, on the task split's **training bins only** (the
pool the miner draws from; no validation or test bin is read), for:

- the z-scored rates themselves (the "raw" row),
- a freshly initialised encoder (step 0, before any training: what mining from step 0,
  as the reference code does, draws from),
- the online encoder of MYOW and BYOL every ``--every`` steps of a first pass with the
  package defaults (the encoder ``mtneuro neural`` trains before its refit).

It is measured on the clean (un-augmented) representations of every training bin, while
training mines among one batch's augmented target representations: the figure is what the
miner would get at best from that representation. Chance is the agreement of ``k`` bins
drawn at random from the training bins: the sum of squared label frequencies. Reach rows
also give the agreement within one direction (the anchor's target or a neighbouring one).
It chooses nothing and was run after the defaults were fixed.

    python benchmarks/neural_mining.py --data chewie-1 chewie-1-bin0.05 chewie-1-vel0 mouse-ca1
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from mtneuro.data.neural import NeuralRecording, load_recording
from mtneuro.tasks.neural.config import NeuralConfig, resolve
from mtneuro.tasks.neural.run import make_augment, make_splits
from mtneuro.tasks.neural.train import (
    ViewSampler,
    compute_threads,
    make_encoder,
    mined_start_step,
    train_ssl,
)


def label_agreement(features: torch.Tensor, label: torch.Tensor, exclude: torch.Tensor,
                    k: int, n_labels: int) -> dict[str, float]:
    """Share of each row's ``k`` cosine-nearest admissible rows with its label (``same``)
    and, for ``n_labels`` = 8 reach targets, with its label or a neighbouring one
    (``within_one``). ``exclude`` (n, n) marks inadmissible pairs; the diagonal always is."""
    unit = F.normalize(features.float(), dim=1)
    similarity = unit @ unit.T
    blocked = exclude | torch.eye(len(unit), dtype=torch.bool)
    similarity = similarity.masked_fill(blocked, float("-inf"))
    neighbours = similarity.topk(k, dim=1).indices
    gap = (label[neighbours] - label[:, None]).remainder(n_labels)
    out = {"same": float((gap == 0).float().mean())}
    if n_labels == 8:
        out["within_one"] = float(((gap == 0) | (gap == 1) | (gap == n_labels - 1)).float().mean())
    return out


def chance(label: np.ndarray, n_labels: int) -> dict[str, float]:
    """Agreement of random pairs: sum of squared label frequencies (and, for reach
    targets, of a label with itself or a neighbour)."""
    p = np.bincount(label, minlength=n_labels) / label.size
    out = {"same": float((p ** 2).sum())}
    if n_labels == 8:
        out["within_one"] = float(sum(p[c] * (p[c] + p[(c + 1) % 8] + p[(c - 1) % 8])
                                      for c in range(8)))
    return out


def training_pool(rec: NeuralRecording, config: NeuralConfig
                  ) -> tuple[ViewSampler, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The first pass's sampler over the split's training bins, their z-scored rates, labels
    and the miner's exclusion mask between every pair of them."""
    split = make_splits(rec, config)[0]
    bins = split["train"]
    live = rec.rates[bins].std(axis=0) > 0
    rates = rec.rates[:, live]
    augment = make_augment(rates[bins], config)
    sampler = ViewSampler.over_bins(rates, rec.trial, bins, augment, config)
    every_bin = torch.arange(len(bins))
    exclude = sampler.exclusion(every_bin, every_bin)
    return sampler, augment.normalize(sampler.rates), torch.from_numpy(rec.label[bins]), exclude


def run(rec: NeuralRecording, method: str, seed: int, every: int) -> list[dict]:
    """Agreement rows: raw rates and the untrained encoder (step 0), then ``method``'s online
    encoder at every ``every`` steps of a first pass with the package defaults."""
    config = resolve(NeuralConfig(data=rec.name, method=method, seed=seed), rec.kind)
    sampler, z, label, exclude = training_pool(rec, config)
    n_labels, k = len(rec.class_names), int(config.knn_k)

    def measure(name: str) -> Callable[[int, torch.nn.Module], None]:
        def record(done: int, encoder: torch.nn.Module) -> None:
            with torch.no_grad():
                features = encoder(z)
            rows.append({"method": name, "step": done,
                         **label_agreement(features, label, exclude, k, n_labels)})
        return record

    rows = [{"method": "raw", "step": 0, **label_agreement(z, label, exclude, k, n_labels)}]
    torch.manual_seed(seed)  # the same initial weights train_ssl draws
    measure("untrained")(0, make_encoder(config, z.shape[1])[0].eval())
    with compute_threads(config.threads):
        train_ssl(method, sampler, config, seed=seed, every=every, on_checkpoint=measure(method))
    return rows


def summary(name: str, base: dict[str, float], rows: list[dict], mining_step: int) -> str:
    """One markdown row: same-label agreement (mean over seeds) of chance, raw rates, the
    untrained encoder, then each method at its first checkpoint from the step MYOW starts
    mining (the step in brackets) and at its last step."""
    def mean(method: str, step: int) -> str:
        values = [r["same"] for r in rows if r["method"] == method and r["step"] == step]
        return f"{np.mean(values):.3f}"
    cells = [f"{base['same']:.3f}", mean("raw", 0), mean("untrained", 0)]
    for method in sorted({r["method"] for r in rows} - {"raw", "untrained"}):
        steps = sorted({r["step"] for r in rows if r["method"] == method})
        start = next((s for s in steps if s >= mining_step), steps[-1])
        cells += [f"{method} {mean(method, start)} ({start}) -> {mean(method, steps[-1])}"]
    return f"| {name} | " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=["chewie-1"])
    shared = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    parser.add_argument("--data-root", default=str(shared) if shared.is_dir() else None)
    parser.add_argument("--methods", nargs="+", default=["myow", "byol"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--every", type=int, default=100)
    args = parser.parse_args()
    table = []
    for name in args.data:
        rec = load_recording(name, args.data_root)
        config = resolve(NeuralConfig(data=name), rec.kind)
        base = chance(rec.label[make_splits(rec, config)[0]["train"]], len(rec.class_names))
        print(f"# {name}: chance {json.dumps(base)}", flush=True)
        rows = []
        for method in args.methods:
            for seed in args.seeds:
                for row in run(rec, method, seed, args.every):
                    rows.append(row)
                    print(json.dumps({"data": name, "seed": seed, **row}), flush=True)
        table.append(summary(name, base, rows, mined_start_step(config, int(config.steps))))
    print("\n| recording | chance | raw rates | untrained encoder | method: first checkpoint "
          "from MYOW's mining start (step) -> last step |\n|---|---|---|---|---|")
    print("\n".join(table))


if __name__ == "__main__":
    main()
