"""BYOL vs MYOW vs raw pixels on scikit-learn's 8x8 digits: linear-probe accuracy, 3 seeds.

Each method pre-trains the same encoder with the same optimiser, schedule and
views through :func:`mtneuro.tasks.pretrain.run.run_pretrain` on the 1,257 training
digits (labels unused), then a logistic-regression probe on the frozen,
standardised features is fitted on the training split and scored on the 540
test digits (``mtneuro.tasks.vision_eval``). The raw-pixel row is the same probe
on the 64 pixels. Prints mean +- sample std over the seeds.

    python benchmarks/digits_ssl.py                       # CPU, resnet-tiny, ~2 min on 2 cores
    python benchmarks/digits_ssl.py --device cuda --encoder resnet18-small --epochs 100
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from mtneuro.data.vision import load_vision
from mtneuro.models.checkpoint import load_encoder
from mtneuro.tasks.pretrain.config import make_config
from mtneuro.tasks.pretrain.run import run_pretrain
from mtneuro.tasks.vision_eval import evaluate_encoder, raw_pixel_probe


def pretrain_and_probe(method: str, seed: int, args: argparse.Namespace, out: Path) -> dict:
    config = make_config(overrides={
        "method": method, "source": "digits", "backbone": args.encoder, "epochs": args.epochs,
        "batch_size": args.batch, "optimizer": "sgd", "base_lr": args.lr, "lr_rule": "fixed",
        "weight_decay": 5e-4, "warmup_epochs": 2.0, "base_momentum": 0.99,
        "projector_hidden": 512, "projector_out": 128, "predictor_hidden": 512,
        "mined_projector_hidden": 512, "mined_out": 128, "mined_weight": args.mined_weight,
        "mined_rampup_epochs": 5.0, "k": 1, "seed": seed, "device": args.device,
        "log_every": 50, "checkpoint_every": args.epochs, "out_dir": str(out), "quiet": True,
    })
    torch.manual_seed(seed)
    result = run_pretrain(config)
    encoder = load_encoder(result["encoder"], map_location=args.device)
    spec = encoder.input_spec
    train, test = load_vision("digits", "train"), load_vision("digits", "test")
    scores = evaluate_encoder(encoder, train, test, device=args.device, mean=spec["mean"],
                              std=spec["std"], seed=seed)
    return {**scores, "final_loss": result["final_loss"], "samples_per_s": result["samples_per_s"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", default=["byol", "myow"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--encoder", default="resnet-tiny")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--lr", type=float, default=0.2)
    parser.add_argument("--mined-weight", type=float, default=0.5)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    print(f"digits SSL: encoder {args.encoder}, {args.epochs} epochs, batch {args.batch}, "
          f"lr {args.lr}, device {args.device}, float32, seeds {args.seeds}")
    train, test = load_vision("digits", "train"), load_vision("digits", "test")
    rows: dict[str, dict[str, list[float]]] = {}
    rows["raw pixels"] = {"linear_accuracy": [raw_pixel_probe(train, test, seed=s)["linear_accuracy"]
                                              for s in args.seeds]}
    for method in args.methods:
        for seed in args.seeds:
            start = time.perf_counter()
            with tempfile.TemporaryDirectory() as tmp:
                scores = pretrain_and_probe(method, seed, args, Path(tmp))
            row = rows.setdefault(method, {})
            for key in ("linear_accuracy", "knn_accuracy"):
                row.setdefault(key, []).append(scores[key])
            print(f"  {method} seed {seed}: linear {scores['linear_accuracy']:.4f} "
                  f"kNN {scores['knn_accuracy']:.4f} final loss {scores['final_loss']:.4f} "
                  f"({time.perf_counter() - start:.0f} s)", flush=True)
    print(f"\n{'features':<12} {'linear probe (test acc.)':>26} {'kNN k=20 (test acc.)':>24}")
    for name, row in rows.items():
        cells = []
        for key in ("linear_accuracy", "knn_accuracy"):
            values = np.asarray(row.get(key, []))
            cells.append(f"{values.mean():.4f} +- {values.std(ddof=1):.4f}" if values.size > 1
                         else (f"{values.mean():.4f}" if values.size else "-"))
        print(f"{name:<12} {cells[0]:>26} {cells[1]:>24}")


if __name__ == "__main__":
    main()
