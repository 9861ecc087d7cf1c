"""MYOW vs BYOL vs raw-rate readout on Chewie day 1 (issue 4 targets), with wall time.

Trains each method with the package defaults (``NeuralConfig`` + the reach kind
defaults; nothing tuned per recording) for each seed, and prints per seed and as
mean +- std (ddof=1): test accuracy (angular error < pi/8), delta-accuracy
(< 3 pi/16), training and total wall seconds. Then the ratios measured in this
process: MYOW accuracy minus BYOL's / raw's (and whether the gap exceeds the
seeds' std), and the reference code's wall time (270 s per seed, measured with
``nerdslab/myow-neuro`` on a 2-core CPU, see ``../shared/reference/protocols.md``;
not re-run here) over ours.

    python benchmarks/neural_myow.py                           # chewie-1, seeds 0 1 2
    python benchmarks/neural_myow.py --data chewie-1-bin0.05 --methods myow raw
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import torch

from mtneuro.tasks.neural import NeuralConfig, run_neural

REFERENCE_WALL_S = 270.0  # myow-neuro train_monkey.py, 10,000 epochs, 2 CPU cores
TARGET = {"accuracy": 0.72, "delta_accuracy": 0.82, "wall_s": 60.0}


def _ms(values: list[float]) -> tuple[float, float]:
    arr = np.asarray(values, dtype=np.float64)
    return float(arr.mean()), float(arr.std(ddof=1)) if arr.size > 1 else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="chewie-1")
    shared = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    parser.add_argument("--data-root", default=str(shared) if shared.is_dir() else None,
                        help="data root for named recordings (default ../shared/data if present)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", default=["myow", "byol", "raw"])
    parser.add_argument("--split", default="auto")
    args = parser.parse_args()

    print(f"device cpu ({platform.processor() or platform.machine()}), dtype float32, "
          f"torch {torch.__version__}, intra-op threads used for training: 1")
    results: dict[str, list[dict]] = {}
    for method in args.methods:
        rows = results.setdefault(method, [])
        for seed in args.seeds:
            start = time.perf_counter()
            m = run_neural(NeuralConfig(data=args.data, data_root=args.data_root, method=method,
                                        seed=seed, split=args.split))
            m["outer_s"] = time.perf_counter() - start
            rows.append(m)
            second = "delta_accuracy" if m["kind"] == "reach" else "f1_weighted"
            print(f"{method:10s} seed {seed}: accuracy {m['accuracy']:.3f}  {second} {m[second]:.3f}  "
                  f"train {m['train_wall_s']:.1f} s  total {m['wall_s']:.1f} s  "
                  f"(steps {m['steps']}, n_test {m['n_test']})", flush=True)
    kind = next(iter(results.values()))[0]["kind"]
    second = "delta_accuracy" if kind == "reach" else "f1_weighted"
    print(f"\n{args.data}: mean +- std over seeds {args.seeds}")
    summary = {}
    for method, rows in results.items():
        acc, acc_sd = _ms([r["accuracy"] for r in rows])
        sec, sec_sd = _ms([r[second] for r in rows])
        wall, wall_sd = _ms([r["wall_s"] for r in rows])
        summary[method] = (acc, acc_sd, wall)
        print(f"{method:10s} accuracy {acc:.3f} +- {acc_sd:.3f}  {second} {sec:.3f} +- {sec_sd:.3f}  "
              f"wall {wall:.1f} +- {wall_sd:.1f} s")
    if "myow" in summary:
        acc, sd, wall = summary["myow"]
        for other in ("byol", "raw"):
            if other in summary:
                gap = acc - summary[other][0]
                noise = max(sd, summary[other][1])
                print(f"accuracy myow - {other}: {gap:+.3f} (larger than the seed std {noise:.3f}: "
                      f"{'yes' if gap > noise else 'no'})")
        print(f"wall: reference {REFERENCE_WALL_S:.0f} s (published measurement) / myow {wall:.1f} s "
              f"= {REFERENCE_WALL_S / wall:.1f}x")
        if args.data == "chewie-1" and kind == "reach":
            print(f"targets: accuracy >= {TARGET['accuracy']}, delta_accuracy >= {TARGET['delta_accuracy']}, "
                  f"wall <= {TARGET['wall_s']:.0f} s per seed on 2 idle cores")


if __name__ == "__main__":
    main()
