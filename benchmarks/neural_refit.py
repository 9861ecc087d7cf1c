"""Does refitting on training + validation help? Measured on held-out development groups only.

``NeuralConfig.refit`` chooses the training length and the readout penalty with the
validation bins held out, then retrains the encoder on training + validation bins for
that many steps and fits the readout on them with that penalty. This script decides
whether that should be the default without touching any test split: inside a
recording's *development* bins (reach: the first 90% of trials in recorded order,
cut into 9 groups; rodent: the first 80% of bins in 5 blocks), fold ``g`` tests on
group ``g``, validates on group ``g + 1`` (cyclically) and trains on the other groups
(rodent: bins within 3 of another role's bins dropped from training and validation).

Variants scored on the fold's held-out group, all from the same first pass:

- ``A``: the first pass only (the package default before ``refit``).
- ``A+``: the first pass's encoder; readout refitted on training + validation.
- ``B``: encoder retrained on training + validation; readout on training, penalty
  chosen on validation (the MYOW reference code's protocol: validation bins are in
  the self-supervised training set and still choose the penalty).
- ``C``: encoder retrained on training + validation; readout on training + validation
  with the first pass's penalty (``refit=True``).
- ``D``: both encoders: the first pass's features beside the retrained one's (two
  trainings of the same recipe on different bins, the refit with its own seed
  ``member_seed(seed, 1)``, so that the readout does not
  rest on one noisy training); readout on training + validation with the first pass's
  penalty (``refit_ensemble=True``).

Prints one JSON line per run, then per method the mean of each variant and its paired
difference from ``A`` (+- standard error over runs).

    python benchmarks/neural_refit.py --data chewie-1 --methods raw myow byol
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from mtneuro.data.neural import NeuralRecording, load_recording
from mtneuro.tasks.neural import splits as S
from mtneuro.tasks.neural.config import NeuralConfig, resolve
from mtneuro.tasks.neural.run import fit_readout, learn_features, score_test
from mtneuro.tasks.neural.train import compute_threads

sys.path.insert(0, str(Path(__file__).resolve().parent))
from neural_dev_folds import add_fold_arguments, development_groups  # noqa: E402  (the sibling script's)


def holdout_folds(rec: NeuralRecording, folds: list[int]) -> list[S.Split]:
    """``{"train", "val", "test"}`` splits inside the development bins (no task test bin in any)."""
    member = np.full(rec.n_bins, -1)
    if rec.kind == "reach":
        for i, group in enumerate(development_groups(rec)):
            member[np.isin(rec.trial, group)] = i
        n_groups, guard = 9, 0
    else:
        n = int(rec.n_bins * 0.8)
        member[:n] = np.arange(n) * 5 // n
        n_groups, guard = 5, 3
    out = []
    for g in folds:
        role = np.where(member == g, 2, np.where(member == (g + 1) % n_groups, 1, 0))
        role[member < 0] = -1
        keep = np.ones(rec.n_bins, dtype=bool)
        for shift in range(1, guard + 1):
            for other in (np.roll(role, shift), np.roll(role, -shift)):
                keep &= (other == role) | (other < 0) | (role == 2)
        out.append({name: np.flatnonzero((role == r) & keep)
                    for r, name in ((0, "train"), (1, "val"), (2, "test"))})
    return out


def variants(rec: NeuralRecording, split: S.Split, config: NeuralConfig) -> dict[str, dict]:
    """Held-out metrics of variants A, A+, B, C and D (module docstring) on one fold."""
    start = time.perf_counter()
    with compute_threads(config.threads):
        first, result, _, monitor = learn_features(rec, split, config)
        chosen = None if result is None else monitor.best_step
        wall_first = time.perf_counter() - start
        refit, *_ = learn_features(rec, split, config, refit=True, stop_after=chosen)
    wall_refit = time.perf_counter() - start - wall_first
    ro_a = fit_readout(rec, first, split)
    readouts = {
        "A": (first, ro_a),
        "A+": (first, fit_readout(rec, first, split, penalty=ro_a.penalty_)),
        "B": (refit, fit_readout(rec, refit, split)),
        "C": (refit, fit_readout(rec, refit, split, penalty=ro_a.penalty_)),
    }
    both = np.concatenate([first, refit], axis=1)
    readouts["D"] = (both, fit_readout(rec, both, split, penalty=ro_a.penalty_))
    out = {name: {**score_test(rec, ro, f, split["test"])[0], "penalty": ro.penalty_}
           for name, (f, ro) in readouts.items()}
    out["A"].update(chosen_step=chosen, val_accuracy=ro_a.val_["accuracy"], wall_first_s=wall_first,
                    wall_refit_s=wall_refit)
    return out


def summarise(method: str, runs: list[dict[str, dict]], second: str) -> None:
    """Mean of each variant and its mean paired difference from ``A`` (+- standard error)."""
    for name in runs[0]:
        values = np.array([[r[name]["accuracy"], r[name][second]] for r in runs])
        diff = values - np.array([[r["A"]["accuracy"], r["A"][second]] for r in runs])
        se = diff.std(axis=0, ddof=1) / np.sqrt(len(runs)) if len(runs) > 1 else np.zeros(2)
        print(f"# {method:10s} {name:2s} accuracy {values[:, 0].mean():.3f}  {second} {values[:, 1].mean():.3f}"
              f"   vs A: {diff[:, 0].mean():+.3f} +- {se[0]:.3f} / {diff[:, 1].mean():+.3f} +- {se[1]:.3f}"
              f"  ({len(runs)} runs)", flush=True)


#: What each variant's letter means, printed before the summary lines.
LEGEND = ("# variants: A first pass only; A+ its encoder, readout on train+val; B encoder "
          "retrained on train+val, readout on train; C retrained, readout on train+val "
          "(refit); D both encoders side by side (refit ensemble); scored on held-out groups")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_fold_arguments(parser, "reach: groups 0..8, rodent: blocks 0..4 (default all)")
    args = parser.parse_args()
    rec = load_recording(args.data, args.data_root)
    folds = args.folds if args.folds is not None else list(range(9 if rec.kind == "reach" else 5))
    splits = holdout_folds(rec, folds)
    overrides = json.loads(args.set)
    second = "delta_accuracy" if rec.kind == "reach" else "f1_weighted"
    print(LEGEND, flush=True)
    for method in args.methods:
        runs = []
        for seed in args.seeds:
            config = resolve(NeuralConfig(data=args.data, method=method, seed=seed, **overrides), rec.kind)
            for fold, split in zip(folds, splits, strict=True):
                runs.append(variants(rec, split, config))
                print(json.dumps({"data": args.data, "method": method, "seed": seed, "fold": fold,
                                  "set": overrides, "variants": runs[-1]}), flush=True)
        summarise(method, runs, second)


if __name__ == "__main__":
    main()
