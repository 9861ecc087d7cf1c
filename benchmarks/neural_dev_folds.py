"""Validation curves on development folds: how docs/neural.md explored settings without test data.

A reach recording's *development* trials are the first 90% in recorded order, the
train + validation trials of the task's split; its test trials (the last 10%) are
never put in any fold here. The development trials are cut into 9 groups; fold ``g``
validates on group ``g`` and trains on the other 8. A rodent recording's
development bins are the first 80%; fold ``g`` of 0..2 validates on a 30% block
(2 = the task's own validation block) with a 3-bin guard gap.

For every fold and seed the method trains once, and the encoder is scored on the
fold's validation bins every ``--every`` steps with the task's own readout
(:class:`mtneuro.tasks.neural.select.ValidationMonitor`), so one run gives the whole
curve. Prints one JSON line per run, then the mean curve over folds and seeds.

    python benchmarks/neural_dev_folds.py --data chewie-1 --methods raw myow byol
    python benchmarks/neural_dev_folds.py --data chewie-1 --methods myow \\
        --set '{"steps": 1000, "mined_weight": 0.8}' --folds 0 2 4 6 8
    python benchmarks/neural_dev_folds.py --data chewie-1 --methods myow --ssl-on-val

``--ssl-on-val`` adds the validation bins (without labels) to the self-supervised
training bins, as the reference code trains on train + validation trials.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import torch

from mtneuro.data.neural import NeuralRecording, load_recording
from mtneuro.tasks.neural import splits as S
from mtneuro.tasks.neural.baselines import train_supervised
from mtneuro.tasks.neural.config import NeuralConfig, resolve
from mtneuro.tasks.neural.run import make_augment, validation_monitor
from mtneuro.tasks.neural.train import ViewSampler, compute_threads, train_ssl


def development_groups(rec: NeuralRecording) -> list[np.ndarray]:
    """The trial ids of a reach recording's development trials (the first 90 % in recorded
    order: the task's train + validation trials) in 9 groups (``neural_refit.py`` too)."""
    order = S.trials_in_order(rec.trial)
    return np.array_split(order[: int(order.size * 0.9)], 9)


def dev_folds(rec: NeuralRecording, folds: list[int]) -> list[S.Split]:
    """``{"train", "val"}`` bin positions of the requested development folds (no test bins)."""
    if rec.kind == "reach":
        groups = development_groups(rec)
        return [{"train": np.flatnonzero(np.isin(rec.trial, np.concatenate(groups[:g] + groups[g + 1:]))),
                 "val": np.flatnonzero(np.isin(rec.trial, groups[g]))} for g in folds]
    n = int(rec.n_bins * 0.8)
    out = []
    for g in folds:
        lo = int(n * 0.35 * g)
        hi = min(n, lo + int(n * 0.3))
        idx = np.arange(n)
        out.append({"train": idx[(idx < lo - 3) | (idx >= hi + 3)], "val": idx[lo:hi]})
    return out


def curve(rec: NeuralRecording, split: S.Split, config: NeuralConfig, every: int,
          ssl_on_val: bool) -> list[dict[str, float]]:
    """Validation metrics of the fold's readout at every checkpoint (one row for raw rates)."""
    ssl_bins = S.learning_bins(split, ssl_on_val)
    if config.method == "supervised" and ssl_on_val:
        raise SystemExit("--ssl-on-val: the supervised baseline never trains on validation labels")
    live = rec.rates[ssl_bins].std(axis=0) > 0
    rates = rec.rates[:, live]
    augment = make_augment(rates[ssl_bins], config)
    z = augment.normalize(torch.from_numpy(rates))
    monitor = validation_monitor(rec, split, z, config)
    if config.method == "raw":
        with torch.no_grad():
            monitor(0, torch.nn.Identity())
        return monitor.history
    sampler = ViewSampler.over_bins(rates, rec.trial, ssl_bins, augment, config)
    start = time.perf_counter()
    with compute_threads(config.threads):
        if config.method == "supervised":
            train_supervised(sampler, torch.from_numpy(rec.label[split["train"]]), rec.kind, config,
                             seed=config.seed, n_classes=len(rec.class_names), every=every,
                             on_checkpoint=monitor)
        else:
            train_ssl(config.method, sampler, config, seed=config.seed, every=every, on_checkpoint=monitor)
    monitor.history[-1]["wall_s"] = time.perf_counter() - start
    return monitor.history


def add_fold_arguments(parser: argparse.ArgumentParser, folds_help: str) -> None:
    """Arguments shared with ``neural_refit.py``: recording, methods, seeds, folds, overrides."""
    parser.add_argument("--data", default="chewie-1")
    shared = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    parser.add_argument("--data-root", default=str(shared) if shared.is_dir() else None)
    parser.add_argument("--methods", nargs="+", default=["raw", "myow", "byol"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--folds", nargs="+", type=int, default=None, help=folds_help)
    parser.add_argument("--set", default="{}", help="NeuralConfig overrides as JSON")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_fold_arguments(parser, "reach: groups 0..8 (default all); sleep: blocks 0..2 (default all)")
    parser.add_argument("--every", type=int, default=100, help="steps between validation checkpoints")
    parser.add_argument("--ssl-on-val", action="store_true")
    args = parser.parse_args()
    rec = load_recording(args.data, args.data_root)
    folds = args.folds if args.folds is not None else list(range(9 if rec.kind == "reach" else 3))
    overrides = json.loads(args.set)
    for method in args.methods:
        curves = []
        for seed in args.seeds:
            for fold, split in zip(folds, dev_folds(rec, folds), strict=True):
                config = resolve(NeuralConfig(data=args.data, method=method, seed=seed, **overrides), rec.kind)
                rows = curve(rec, split, dataclasses.replace(config, select_every=args.every), args.every,
                             args.ssl_on_val)
                curves.append(rows)
                print(json.dumps({"data": args.data, "method": method, "seed": seed, "fold": fold,
                                  "set": overrides, "ssl_on_val": args.ssl_on_val, "curve": rows}), flush=True)
        n = min(len(c) for c in curves)
        score = "delta_accuracy" if rec.kind == "reach" else "f1_weighted"
        for row in range(n):
            acc = np.mean([c[row]["accuracy"] for c in curves])
            second = np.mean([c[row][score] for c in curves])
            print(f"# {method:10s} step {int(curves[0][row]['step']):5d}  val accuracy {acc:.3f}  "
                  f"{score} {second:.3f}  ({len(curves)} runs)")


if __name__ == "__main__":
    main()
