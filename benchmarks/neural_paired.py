"""Is MYOW better than BYOL (and than raw rates) on a recording? Paired, over seeds and trials.

The seed std of one split (``neural_myow.py``) sees the training randomness only; a test
set of 16-21 trials moves accuracy by ~0.05 from the trials alone. This script runs each
method with the package defaults on the same split (``kfold`` by default: every trial is
tested once) for several seeds, keeps every test bin's hit, and compares two methods
*on the same bins*: the per-bin hit averaged over each method's seeds, differenced, and
its mean given with a 95% bootstrap interval over test trials (a trial's bins resampled
together, :func:`mtneuro.stats.mean_interval`). The per-seed differences (seed i of one
method against seed i of the other) are printed beside it, so the training spread shows too.
It chooses nothing: a measurement of defaults already fixed.

    python benchmarks/neural_paired.py --data chewie-1 chewie-2 mihi-1 --out runs/paired
    python benchmarks/neural_paired.py --out runs/paired --summarise-only   # print again

Each run's bins are saved as ``OUT/<recording>-<method>-seed<S>-<split>.npz`` and a run
already saved is not repeated, so two invocations over different recordings can share
``OUT`` and be summarised together. Reach recordings only (the per-bin hits of sleep are
not kept by the package).
"""

from __future__ import annotations

import argparse
import sys
import time
from itertools import combinations
from pathlib import Path

import numpy as np

from mtneuro.stats import mean_interval
from mtneuro.tasks.neural import NeuralConfig, fit_neural

sys.path.insert(0, str(Path(__file__).resolve().parent))
from neural_myow import add_data_root_argument  # noqa: E402  (the sibling script's)

KEYS = ("accuracy", "delta_accuracy")


def run_path(out: Path, recording: str, method: str, seed: int, split: str) -> Path:
    return out / f"{recording}-{method}-seed{seed}-{split}.npz"


def run_all(recordings: list[str], methods: list[str], seeds: list[int], split: str,
            data_root: str | None, out: Path) -> None:
    """Train and score every (recording, method, seed) not saved yet; save its test bins."""
    out.mkdir(parents=True, exist_ok=True)
    for recording in recordings:
        for method in methods:
            for seed in seeds:
                path = run_path(out, recording, method, seed, split)
                if path.exists():
                    continue
                start = time.perf_counter()
                outcome = fit_neural(NeuralConfig(data=recording, data_root=data_root,
                                                  method=method, seed=seed, split=split))
                if not outcome.test_per_bin:
                    raise SystemExit(f"{recording}: per-bin hits are kept for reach "
                                     "recordings only")
                wall = time.perf_counter() - start
                np.savez(path.with_suffix(".tmp.npz"), trial=outcome.test_trial,
                         label=outcome.test_label, wall_s=wall,
                         **{k: outcome.test_per_bin[k] for k in KEYS})
                path.with_suffix(".tmp.npz").replace(path)
                m = outcome.metrics
                print(f"{recording:18s} {method:6s} seed {seed}: accuracy {m['accuracy']:.3f}  "
                      f"delta_accuracy {m['delta_accuracy']:.3f}  {wall:.0f} s", flush=True)


def load_runs(out: Path, split: str) -> dict[tuple[str, str], list[dict]]:
    """Saved runs by (recording, method), seeds in order."""
    runs: dict[tuple[str, str], list[dict]] = {}
    for path in sorted(out.glob(f"*-seed*-{split}.npz")):
        stem = path.name[: -len(f"-{split}.npz")]
        head, _, seed = stem.rpartition("-seed")
        recording, _, method = head.rpartition("-")
        with np.load(path) as f:
            run = {"seed": int(seed), **{k: f[k] for k in f.files}}
            runs.setdefault((recording, method), []).append(run)
    for rows in runs.values():
        rows.sort(key=lambda r: r["seed"])
    return runs


def compare(a: list[dict], b: list[dict], key: str) -> dict:
    """``a`` minus ``b`` on the same test bins: mean of the seed-averaged per-bin difference,
    its trial-bootstrap interval, and the per-seed differences (seeds both have)."""
    trial, label = a[0]["trial"], a[0]["label"]
    for run in a + b:
        if not (np.array_equal(run["trial"], trial) and np.array_equal(run["label"], label)):
            raise SystemExit("the runs compared were not scored on the same test bins")
    diff = (np.mean([r[key] for r in a], axis=0, dtype=np.float64)
            - np.mean([r[key] for r in b], axis=0, dtype=np.float64))
    interval = mean_interval(diff, unit="test trials", groups=trial)
    seeds_b = {r["seed"]: r for r in b}
    per_seed = [float(np.mean(r[key]) - np.mean(seeds_b[r["seed"]][key]))
                for r in a if r["seed"] in seeds_b]
    return {"mean": float(diff.mean()), "low": interval["low"], "high": interval["high"],
            "per_seed": per_seed, "trials": int(np.unique(trial).size), "bins": int(trial.size)}


def verdict(low: float, high: float) -> str:
    if low > 0:
        return "above (interval excludes 0)"
    if high < 0:
        return "below (interval excludes 0)"
    return "not told apart (interval includes 0)"


def summarise(runs: dict[tuple[str, str], list[dict]]) -> None:
    for recording in dict.fromkeys(r for r, _ in runs):
        methods = [m for r, m in runs if r == recording]
        print(f"\n{recording}")
        for method in methods:
            rows = runs[(recording, method)]
            stats = "  ".join(f"{k} {np.mean([np.mean(r[k]) for r in rows]):.3f}" for k in KEYS)
            print(f"  {method:6s} {stats}  seeds {[r['seed'] for r in rows]}  "
                  f"{np.mean([float(r['wall_s']) for r in rows]):.0f} s/seed")
        order = [m for m in ("myow", "byol", "supervised", "pca", "raw") if m in methods]
        order += [m for m in methods if m not in order]
        for first, second in combinations(order, 2):
            for key in KEYS:
                c = compare(runs[(recording, first)], runs[(recording, second)], key)
                seeds = ", ".join(f"{d:+.3f}" for d in c["per_seed"])
                print(f"  {first} - {second} {key}: {c['mean']:+.3f} "
                      f"[{c['low']:+.3f}, {c['high']:+.3f}] "
                      f"95% over {c['trials']} trials ({c['bins']} bins); per seed {seeds or '-'}: "
                      f"{verdict(c['low'], c['high'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=["chewie-1", "chewie-2", "mihi-1"])
    add_data_root_argument(parser)
    parser.add_argument("--methods", nargs="+", default=["myow", "byol", "raw"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--split", default="kfold", choices=["kfold", "trial"])
    parser.add_argument("--out", type=Path, required=True,
                        help="folder of the saved runs' test bins")
    parser.add_argument("--summarise-only", action="store_true",
                        help="print the saved runs, train nothing")
    args = parser.parse_args()
    if not args.summarise_only:
        run_all(args.data, args.methods, args.seeds, args.split, args.data_root, args.out)
    summarise(load_runs(args.out, args.split))


if __name__ == "__main__":
    main()
