"""Seeds of a frozen-encoder probe: features extracted once per set of weights vs per seed.

Task 1 and task 3 (quick preset, phantom, seeds 0 1 2) probe one in-memory encoder, whose
weights are the same for every seed. Baseline: every seed extracts its own features, as
``FrozenEncoders.features`` did before it reused them (the method replaced by a plain call
for the baseline runs); candidate: the library as it is. Both run in this process on the same
data, and the scores they print must be equal.

Run: ``.venv/bin/python benchmarks/frozen_probe_seeds.py [--encoder resnet18] [--repeat 1]``
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from typing import Any

import torch

from mtneuro.models import create_encoder
from mtneuro.tasks import region, semantic_probe
from mtneuro.tasks.encoders import FrozenEncoders
from mtneuro.tasks.region_task import TASK1
from mtneuro.tasks.semantic_task import TASK3
from mtneuro.tasks.volume import load_region_splits


def _timed(run: Callable[[], float]) -> tuple[float, float]:
    start = time.perf_counter()
    score = run()
    return time.perf_counter() - start, score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", default="resnet18", help="registered encoder name")
    parser.add_argument("--repeat", type=int, default=1, help="runs per condition (best kept)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # the random-weights notice, once per seed
    torch.manual_seed(0)
    encoder = create_encoder(args.encoder, in_channels=1, spatial_dims=2)
    values = {"method": "encoder", "seeds": [0, 1, 2], "quiet": True}
    task1, task3 = TASK1.make_config("quick", values), TASK3.make_config("quick", values)
    splits, _ = load_region_splits(task1.source, task1.source_params, task1.setting, task1.dim,
                                   task1.preset("z_step"))
    crops, _ = semantic_probe.load_task3_data(task3)
    runs: dict[str, Callable[[], float]] = {
        "task 1 accuracy": lambda: region.run_task1(task1, splits, encoder=encoder)[
            "accuracy"]["mean"],
        "task 3 R² cell_count": lambda: semantic_probe.run_task3(task3, crops, encoder=encoder)[
            "r2_test"]["cell_count"]["mean"],
    }
    reuse = FrozenEncoders.features
    every_seed: Any = lambda self, encoder, inputs, extract: extract()
    print(f"| workload ({args.encoder}, 3 seeds) | every seed s | reused s | speed-up | "
          "score every seed / reused |")
    print("|---|---:|---:|---:|---|")
    for name, run in runs.items():
        FrozenEncoders.features = every_seed
        base = min((_timed(run) for _ in range(args.repeat)), key=lambda r: r[0])
        FrozenEncoders.features = reuse
        now = min((_timed(run) for _ in range(args.repeat)), key=lambda r: r[0])
        print(f"| {name} | {base[0]:.1f} | {now[0]:.1f} | {base[0] / now[0]:.2f}x | "
              f"{base[1]:.4f} / {now[1]:.4f} |")


if __name__ == "__main__":
    main()
