"""MYOW vs BYOL vs raw-rate readout per recording, against the issue-15 targets, with wall time.

Either trains each method with the package defaults (``NeuralConfig`` + the kind
defaults, training length chosen inside each run on validation; nothing tuned per
recording) for each seed, or reads the cells of a finished ``mtneuro bench --suite
neural`` run (``--bench-dir``). Prints per recording and method the mean +- std
(ddof=1) over seeds of test accuracy and delta-accuracy (reach) or weighted F1
(sleep), the kept training step and the wall seconds per seed, then the targets:
MYOW at or above the MYOW reference code run here (``published.json``) in both
numbers, and above BYOL and the raw-rate readout by more than the seeds' std.

    python benchmarks/neural_myow.py                                  # chewie-1, seeds 0 1 2
    python benchmarks/neural_myow.py --data chewie-2 mihi-1 --methods myow byol raw
    python benchmarks/neural_myow.py --bench-dir runs/neural          # summarise a suite run
    python benchmarks/neural_myow.py --data chewie-2 --split kfold    # every trial tested once
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from mtneuro.report.published import published_rows
from mtneuro.tasks.neural import NeuralConfig, fit_neural

REFERENCE_WALL_S = 270.0  # myow-neuro train_monkey.py, 10,000 epochs, 2 CPU cores, chewie-1
TARGET_WALL_S = 60.0


def _ms(values: list[float]) -> tuple[float, float]:
    arr = np.asarray(values, dtype=np.float64)
    return float(arr.mean()), float(arr.std(ddof=1)) if arr.size > 1 else 0.0


def run_rows(recordings: list[str], methods: list[str], seeds: list[int], data_root: str | None,
             split: str = "auto") -> list[dict]:
    """Train and evaluate every (recording, method, seed); one metrics dict each."""
    rows = []
    for data in recordings:
        for method in methods:
            for seed in seeds:
                start = time.perf_counter()
                m = fit_neural(NeuralConfig(data=data, data_root=data_root, method=method, seed=seed,
                                            split=split)).metrics
                m["outer_s"] = time.perf_counter() - start
                second = "delta_accuracy" if m["kind"] == "reach" else "f1_weighted"
                print(f"{data:18s} {method:10s} seed {seed}: accuracy {m['accuracy']:.3f}  {second} "
                      f"{m[second]:.3f}  kept step {m['selected_step']} of {m['steps']}  "
                      f"{m['wall_s']:.1f} s", flush=True)
                rows.append(m)
    return rows


def bench_rows(directory: Path) -> list[dict]:
    """Metrics of the complete neural cells of a bench run (cells not complete listed on
    stdout, one line per status and reason)."""
    rows, others = [], {}
    for path in sorted(directory.glob("cells/*/metrics.json")):
        record = json.loads(path.read_text())
        if record.get("cell", {}).get("task") != "neural":
            continue
        if record.get("status") == "complete":
            rows.append({**record["metrics"], "outer_s": record["wall_s"]})
        else:
            why = record.get("skip_reason") or (record.get("error") or {}).get("message", "")
            others.setdefault((record["status"], why), []).append(record["cell"]["id"])
    for (status, why), ids in others.items():
        print(f"{status} {len(ids)} cell(s) ({', '.join(ids[:3])}{', ...' if len(ids) > 3 else ''}): {why}")
    return rows


def summarise(rows: list[dict]) -> None:
    """The issue-15 table and targets, recording by recording."""
    for recording in dict.fromkeys(r["recording"] for r in rows):
        mine = [r for r in rows if r["recording"] == recording]
        kind = mine[0]["kind"]
        keys = ("accuracy", "delta_accuracy") if kind == "reach" else ("accuracy", "f1_weighted")
        print(f"\n{recording} ({mine[0]['split_label']}): mean +- std over seeds")
        stats = {}
        for method in dict.fromkeys(r["method"] for r in mine):
            runs = [r for r in mine if r["method"] == method]
            stats[method] = {k: _ms([r[k] for r in runs]) for k in keys}
            wall = _ms([r["outer_s"] for r in runs])
            kept = [r["selected_step"] for r in runs]
            print(f"  {method:10s} " + "  ".join(f"{k} {m:.3f} +- {s:.3f}" for k, (m, s) in stats[method].items())
                  + f"  seeds {[r['seed'] for r in runs]}  kept steps {kept}  {wall[0]:.1f} +- {wall[1]:.1f} s/seed")
        for ref in published_rows("neural", recording):
            print(f"  {ref.method_title} [{ref.label}]: "
                  + "  ".join(f"{k} {v.format()}" for k, v in ref.metrics.items()))
        if "myow" not in stats:
            continue
        for key in keys:
            mean, std = stats["myow"][key]
            for other in ("byol", "raw"):
                if other in stats:
                    gap = mean - stats[other][key][0]
                    noise = max(std, stats[other][key][1])
                    print(f"  {key}: myow - {other} {gap:+.3f} (> seed std {noise:.3f}: {'yes' if gap > noise else 'no'})")
            for ref in published_rows("neural", recording):
                if ref.method == "myow" and key in ref.metrics:
                    ok = mean >= ref.metrics[key].mean
                    print(f"  {key}: myow {mean:.3f} vs {ref.method_title} {ref.metrics[key].mean:.3f}: "
                          f"{'at or above' if ok else 'below'}")
        wall = _ms([r["outer_s"] for r in mine if r["method"] == "myow"])[0]
        print(f"  myow wall {wall:.1f} s per seed (target <= {TARGET_WALL_S:.0f} s on 2 cores; reference "
              f"code {REFERENCE_WALL_S:.0f} s on chewie-1)")


def add_data_root_argument(parser: argparse.ArgumentParser) -> None:
    """``--data-root``: ``$MTNEURO_DATA``, else ``../shared/data`` beside the project
    (shared with ``neural_paired.py``)."""
    shared = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    default = os.environ.get("MTNEURO_DATA") or (str(shared) if shared.is_dir() else None)
    parser.add_argument("--data-root", default=default, help="data root for named recordings "
                        "(default $MTNEURO_DATA, else ../shared/data)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=["chewie-1"])
    add_data_root_argument(parser)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", default=["myow", "byol", "raw"])
    parser.add_argument("--split", default="auto", help="auto (trial / block), or kfold: every trial tested once")
    parser.add_argument("--bench-dir", type=Path, default=None,
                        help="summarise the neural cells of this `mtneuro bench` output instead of running")
    args = parser.parse_args()
    print(f"device cpu ({platform.processor() or platform.machine()}), torch {torch.__version__}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, training threads 1")
    rows = bench_rows(args.bench_dir) if args.bench_dir else run_rows(args.data, args.methods, args.seeds,
                                                                        args.data_root, args.split)
    summarise(rows)


if __name__ == "__main__":
    main()
