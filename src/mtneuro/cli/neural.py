"""``mtneuro neural``: train and evaluate a decoder on a neural recording."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from mtneuro.cli.options import parse_seeds

METHODS = ("myow", "byol", "supervised", "pca", "raw")
SPLITS = ("auto", "trial", "kfold", "block", "random")


@click.command("neural", context_settings={"ignore_unknown_options": False})
@click.option("--data", required=True, help="recording: a catalogue name (chewie-1, chewie-2, mihi-1, mouse-ca1, "
              "...; see `mtneuro data list`, get one with `mtneuro data download NAME`) or the path "
              "of a reach .npz / rodent .npy")
@click.option("--data-root", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="data root for named recordings (else $MTNEURO_DATA, cache, packaged samples)")
@click.option("--method", type=click.Choice(METHODS), default="myow", show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=None, help="seed  [default: 0]")
@click.option("--seeds", default=None, metavar="S [S ...]",
              help="several seeds (e.g. --seeds 0 1 2); metrics.json then holds mean and std")
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="passes over the training bins (default: the kind's step count)")
@click.option("--steps", type=click.IntRange(min=1), default=None, help="optimiser steps (overrides the default)")
@click.option("--split", type=click.Choice(SPLITS), default="auto", show_default=True,
              help="trial/kfold (reach), block/random (sleep); auto = trial or block")
@click.option("--folds", type=click.IntRange(min=3), default=10, show_default=True, help="folds of --split kfold")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace the run OUT already holds.")
@click.argument("more_seeds", nargs=-1, metavar="")
def neural(data, data_root, method, seed, seeds, epochs, steps, split, folds, out_dir, overwrite,
           more_seeds) -> None:
    """Decode reach direction (monkey M1) or arousal state (mouse CA1) from a recording.

    Trains METHOD on the training bins (self-supervised BYOL / MYOW, a supervised MLP,
    or no training for PCA / raw rates), fits a linear readout with its penalty chosen
    on validation, and writes DIR/metrics.json (accuracy and delta_accuracy for reach,
    accuracy and f1_weighted for sleep), DIR/encoder.pt (trained methods) and PNGs:
    confusion matrix, 2-D projection of the test representation, learning curve.
    With several seeds each seed's files go to DIR/seed-S/ and DIR/metrics.json holds
    the per-seed numbers with mean and std.
    """
    from mtneuro.cli.run_folder import prepare_run_folder
    from mtneuro.errors import ConfigError

    seed_list = parse_seeds(seeds, more_seeds)
    if seed_list is not None and seed is not None:
        raise ConfigError("--seed and --seeds: choose one (--seeds 0 1 2 runs several seeds)")
    seed_list = seed_list or [0 if seed is None else seed]
    prepare_run_folder(out_dir, "neural", overwrite=overwrite)

    from mtneuro.config import from_mapping, to_dict
    from mtneuro.report.results import mean_std, write_metrics
    from mtneuro.tasks.neural import NeuralConfig, fit_neural
    from mtneuro.tasks.protocol import protocol_card

    rows = []
    last_source: dict = {}
    last_config: dict = {}
    for s in seed_list:
        config = from_mapping(NeuralConfig, {
            "data": data, "data_root": data_root, "method": method, "seed": s, "split": split,
            "folds": folds, "steps": steps, "epochs": epochs, "quiet": not sys.stderr.isatty(),
        })
        outcome = fit_neural(config)
        target = out_dir if len(seed_list) == 1 else out_dir / f"seed-{s}"
        _write_run(outcome, target)
        rows.append(outcome.metrics)
        last_source, last_config = outcome.recording.describe(), to_dict(outcome.config)
        click.echo(_summary(outcome.metrics))
    if len(seed_list) == 1:
        metrics = rows[0]
    else:
        metrics = _aggregate(rows, mean_std)
        click.echo(_summary(metrics, aggregate=True))
    last_config.pop("seed", None)
    write_metrics(out_dir, task="neural", metrics=metrics, config={**last_config, "seeds": seed_list},
                  source=last_source, wall_s=sum(r["wall_s"] for r in rows),
                  extra=protocol_card(outcome.config))
    click.echo(f"wrote {out_dir / 'metrics.json'}")


def _score_keys(metrics: dict) -> list[str]:
    return ["accuracy", "delta_accuracy"] if metrics["kind"] == "reach" else ["accuracy", "f1_weighted"]


def _aggregate(rows: list[dict], mean_std) -> dict:
    """Per-seed rows -> means (under the plain keys), std and the rows themselves."""
    first = rows[0]
    out = {k: first[k] for k in ("method", "recording", "kind", "split", "split_label", "n_train", "n_test")}
    out["seed"] = [r["seed"] for r in rows]
    for key in [*_score_keys(first), "wall_s", "train_wall_s"]:
        stats = mean_std([r[key] for r in rows])
        out[key] = stats["mean"]
        out[f"{key}_std"] = stats["std"]
    out["per_seed"] = [{k: v for k, v in r.items() if k != "folds"} for r in rows]
    return out


def _summary(m: dict, aggregate: bool = False) -> str:
    parts = []
    for key in _score_keys(m):
        text = f"{key} {m[key]:.3f}"
        if aggregate:
            text += f" ± {m[key + '_std']:.3f}"
        parts.append(text)
    seeds = m["seed"] if aggregate else [m["seed"]]
    if not aggregate and m.get("steps") and not isinstance(m["selected_step"], list):
        parts.append(f"kept step {m['selected_step']} of {m['steps']} (best validation readout)")
    wall = f"{m['wall_s']:.1f} s" + (" per seed" if aggregate else "")
    return (f"{m['method']} on {m['recording']} ({m['split']} split, seeds {seeds}): "
            f"{', '.join(parts)}; n_test {m['n_test']}; {wall}")


def _write_run(outcome, out_dir: Path) -> None:
    """metrics.json, encoder.pt (trained methods) and the three PNGs of one seed."""
    from mtneuro.config import to_dict
    from mtneuro.models.checkpoint import save_encoder
    from mtneuro.report.plots_neural import (
        plot_decoding_confusion,
        plot_learning_curve,
        plot_representation_2d,
    )
    from mtneuro.report.results import write_metrics
    from mtneuro.tasks.protocol import protocol_card

    m, rec = outcome.metrics, outcome.recording
    out_dir.mkdir(parents=True, exist_ok=True)
    write_metrics(out_dir, task="neural", metrics=m, config=to_dict(outcome.config),
                  source=rec.describe(), wall_s=m["wall_s"], extra=protocol_card(outcome.config))
    title = f"{m['method']} · {rec.name} · seed {m['seed']}"
    plot_decoding_confusion(outcome.test_pred, outcome.test_label, rec.class_names,
                            out_dir / "confusion.png", title=title)
    plot_representation_2d(outcome.test_features, outcome.feature_label, rec.class_names,
                           out_dir / "representation_2d.png", title=f"test bins, {title}")
    if outcome.curve:
        plot_learning_curve(outcome.curve, out_dir / "learning_curve.png", title=title,
                            selection=outcome.selection, selected_step=outcome.kept_step)
    if outcome.encoder is not None:
        save_encoder(out_dir / "encoder.pt", outcome.encoder, name="mlp", kwargs=outcome.encoder_kwargs,
                     input_spec={"kind": rec.kind, **outcome.input_spec},
                     meta={"method": m["method"], "seed": m["seed"], "recording": rec.name,
                           "steps": m["steps"], "selected_step": m["selected_step"], "task": "neural"})
