"""``mtneuro neural``: train and evaluate a decoder on a neural recording."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import click

from mtneuro.cli.options import (
    MORE_SEEDS_ARGUMENT,
    parse_seeds,
    quick_option,
    seeds_option,
)
from mtneuro.tasks.neural.config import QUICK_STEPS, NeuralConfig, SplitName
from mtneuro.tasks.neural.encoder_origin import ENSEMBLE_MEMBER_NOTE
from mtneuro.vocab import ENCODER_METHOD, NEURAL_METHODS, method_label


def _flag(name: str) -> str:
    """The default of a ``--NAME/--no-NAME`` switch as the help writes it."""
    return name if getattr(NeuralConfig, name.replace("-", "_")) else f"no-{name}"


@click.command("neural", context_settings={"ignore_unknown_options": False})
@click.option("--data", default=None,
              help="recording: a catalogue name (chewie-1, chewie-2, mihi-1, mouse-ca1, "
              "...; see `mtneuro data list`, get one with `mtneuro data download NAME`) or the path "
              "of a reach or classes .npz / rodent .npy (docs/neural.md)  [required, here or in "
              "--config]")
@click.option("--data-root", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="data root for named recordings (else $MTNEURO_DATA, cache, packaged samples)")
@click.option("--method", type=click.Choice(NEURAL_METHODS), default=None,
              help="myow / byol: self-supervised; supervised: an MLP end to end; pca / raw: no "
                   f"training  [default: {NeuralConfig.method}]")
@click.option("--encoder", default=None, metavar="SPEC",
              help="read out a frozen encoder of firing rates instead of training one: a "
                   "checkpoint (e.g. an encoder.pt this command saved) or module:callable "
                   "mapping (N, neurons) z-scored rates to (N, D); method encoder")
@click.option("--seed", type=click.IntRange(min=0, max=2**32 - 1), default=None,
              help=f"seed  [default: {NeuralConfig.seed}]")
@seeds_option("--seed (0, or the --config file's seed)")
@quick_option(f"at most {QUICK_STEPS} optimiser steps (unless --steps or --epochs)")
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="passes over the training bins, instead of --steps")
@click.option("--steps", type=click.IntRange(min=1), default=None,
              help="most optimiser steps (default: the kind's, 1,000 reach and classes / 1,500 "
                   "sleep); "
                   "not with --epochs")
@click.option("--split", type=click.Choice(get_args(SplitName)), default=None,
              help="trial/kfold (reach, classes), block/random (sleep); auto = trial or block  "
                   f"[default: {NeuralConfig.split}]")
@click.option("--folds", type=click.IntRange(min=3), default=None,
              help=f"folds of --split kfold  [default: {NeuralConfig.folds}]")
@click.option("--refit/--no-refit", default=None,
              help="after choosing the training length and readout penalty on validation, retrain "
                   "on training + validation with them (docs/neural.md)  "
                   f"[default: {_flag('refit')}]")
@click.option("--refit-ensemble/--no-refit-ensemble", default=None,
              help="with --refit, read out the first-pass encoder's features beside the "
                   "retrained encoder's (both saved: encoder_first_pass.pt, encoder.pt)  "
                   f"[default: {_flag('refit-ensemble')}]")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="YAML file of NeuralConfig keys (lr, hidden, mined_weight, ...: "
              "docs/neural.md); flags win")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="output folder (with several seeds, one seed-S/ folder each)")
@click.option("--overwrite", is_flag=True, help="Replace the run OUT already holds.")
@MORE_SEEDS_ARGUMENT
def neural(data, data_root, method, encoder, seed, seeds, quick, epochs, steps, split, folds, refit,
           refit_ensemble, config_file, out_dir, overwrite, more_seeds) -> None:
    """Decode reach direction (monkey M1), arousal state (mouse CA1, rat V1) or your own classes.

    Trains METHOD on the training bins (self-supervised BYOL / MYOW, a supervised MLP,
    or no training for PCA / raw rates), chooses the training length and a linear
    readout's penalty on validation, then (unless --no-refit) retrains on training +
    validation with those choices and reads out both encoders' features (unless
    --no-refit-ensemble). Writes DIR/metrics.json (accuracy and delta_accuracy for
    reach, accuracy and f1_weighted for sleep, accuracy and f1_macro for classes),
    DIR/encoder.pt (trained methods; with
    the ensemble, DIR/encoder_first_pass.pt too: the readout reads its features first),
    DIR/predictions.csv (each test bin's true and predicted class and hits) and PNGs:
    confusion matrix, 2-D projection of the test representation, learning curve.
    With several seeds each seed's files go to DIR/seed-S/ and DIR/metrics.json holds
    the per-seed numbers with mean and std. Every other setting (learning rate, widths,
    augmentations, MYOW's mining) is a key of the --config file.
    """
    from mtneuro.cli.options import require_option
    from mtneuro.cli.run_folder import run_folder
    from mtneuro.errors import ConfigError, DataError

    require_option("data", data, config_file)
    seed_list = parse_seeds(seeds, more_seeds)
    if seed_list is not None and seed is not None:
        raise ConfigError("--seed and --seeds: choose one (--seeds 0 1 2 runs several seeds)")
    if encoder is not None and method is not None:
        raise ConfigError(f"--encoder and --method {method}: choose one (--encoder reads out "
                          "the given encoder's features, as method encoder)")
    if epochs is not None and steps is not None:
        raise ConfigError("--epochs and --steps: choose one (--epochs N: N passes over the "
                          "training bins; --steps N: N optimiser steps)")
    import warnings

    from mtneuro.data.neural import locate_recording
    from mtneuro.tasks.registry import get_task

    task = get_task("neural")
    if encoder is not None:
        from mtneuro.models.checkpoint import looks_like_file, missing_encoder_file

        if looks_like_file(encoder) and not Path(encoder).exists():  # before any data is read
            raise ConfigError(missing_encoder_file(f"--encoder {encoder}"))
        method = ENCODER_METHOD
    values = {"data": data, "data_root": data_root, "method": method, "encoder": encoder,
              "split": split,
              "folds": folds, "steps": steps, "epochs": epochs, "refit": refit,
              "refit_ensemble": refit_ensemble,
              "quiet": False}  # a bar on a terminal, a line every 30 s in a log
    # no --seed / --seeds: the --config file's seed, else the config's default
    configs = [task.make_config("quick" if quick else None, {**values, "seed": s}, config_file)
               for s in seed_list or [seed]]
    first = configs[0]  # settings the run leaves unused are named as it starts (unused.py)
    typed = click.get_current_context().get_parameter_source("refit_ensemble")
    if refit_ensemble and not first.refit and typed is click.core.ParameterSource.COMMANDLINE:
        warnings.warn("--refit-ensemble not used: the ensemble reads the refit's encoder, and "
                      "--no-refit turns the refit off", stacklevel=1)

    with warnings.catch_warnings(record=True) as caught:  # the run says where it read from
        warnings.simplefilter("always")
        try:  # a recording that is not there loses no earlier run
            locate_recording(first.data, first.data_root)
        except DataError as err:
            note = _env_root_note([str(w.message) for w in caught])
            if not note:
                raise
            raise DataError(f"{err}{note}") from None
    from mtneuro.api import rate_encoder_copy
    from mtneuro.bench.cell import encoder_inputs
    from mtneuro.report.record import run_and_record

    results = []
    with run_folder(out_dir, "neural", overwrite=overwrite):
        # the encoder read, as a task command records it: a file's SHA-256 or the weights';
        # built once for that and every seed (the readout leaves a frozen encoder as it was)
        inputs = encoder_inputs(first.encoder)
        encoder_module = None if first.encoder is None else rate_encoder_copy(first.encoder)
        for config in configs:
            target = out_dir if len(configs) == 1 else out_dir / f"seed-{config.seed}"
            result = run_and_record(task, config, target, encoder=encoder_module,
                                    keep=lambda r, to=target: _save_encoder(
                r.artefacts["outcome"], to),  # before metrics.json, which marks the run finished
                extra={"inputs": inputs} if inputs else None)
            results.append(result)
            click.echo(_summary(result.metrics, method_label(result.config)))
        if len(results) > 1:
            _write_aggregate(task, results, out_dir, {"inputs": inputs} if inputs else None)
    if ENSEMBLE_MEMBER_NOTE in (results[-1].card.get("notes") or []):  # its numbers differ
        click.echo(f"note: {ENSEMBLE_MEMBER_NOTE}")
    click.echo(f"wrote {out_dir / 'metrics.json'}")


def _env_root_note(warned: list[str]) -> str:
    """The lookup's warning that $MTNEURO_DATA is not a folder, for a recording not found:
    the likely cause (a typo) must not be hidden where it matters most."""
    import os

    from mtneuro.data.paths import ENV_VAR

    if not any(message.startswith(f"${ENV_VAR} is ") for message in warned):
        return ""
    value = os.environ.get(ENV_VAR, "")
    what = "a file" if Path(value).exists() else "not there"
    return f"; ${ENV_VAR} is {value}, which is not a folder ({what}): a typo?"


def _write_aggregate(task, results: list, out_dir: Path, extra: dict | None) -> None:
    """DIR/metrics.json of several seeds: per-seed rows with mean and std (``extra``: further
    top-level keys, as each seed's record has them)."""
    from mtneuro.report.record import write_result
    from mtneuro.tasks.api import Result
    from mtneuro.tasks.neural.majority import aggregate_majority

    rows = [r.metrics for r in results]
    metrics = _aggregate(rows)
    # identical over seeds unless the split follows the seed (random): then as the scores
    metrics["majority"] = aggregate_majority(rows)
    click.echo(_summary(metrics, method_label(results[-1].config), aggregate=True))
    last = results[-1]
    config = {k: v for k, v in last.config.items() if k != "seed"}
    # each seed's notes once: a split that follows the seed (random) may note other classes
    notes = list(dict.fromkeys(n for r in results for n in r.card.get("notes") or []))
    write_result(Result(task=task.name, setting=last.setting, method=last.method, metrics=metrics,
                        headline=task.headline_of(metrics),
                        config={**config, "seeds": [r["seed"] for r in rows]},
                        source=last.source, card={**last.card, "notes": notes},
                        # as each seed's record counts it: its run, figures and files
                        wall_s=sum(r.wall_s for r in results)), out_dir, extra)


def _aggregate(rows: list[dict]) -> dict:
    """Per-seed rows -> means (under the plain keys), std and the rows themselves."""
    from mtneuro.stats import first_seed_intervals, mean_std
    from mtneuro.tasks.neural.task import score_keys

    first = rows[0]
    out = {k: first[k] for k in ("method", "recording", "kind", "split", "split_label", "n_train", "n_test")}
    out["seed"] = [r["seed"] for r in rows]
    scores = {}
    for key in [*score_keys(first), "wall_s", "train_wall_s"]:
        stats = mean_std([r[key] for r in rows])
        out[key] = stats["mean"]
        out[f"{key}_std"] = stats["std"]
        scores[key] = stats
    # the first seed's intervals, kept only where seeds agree (as tasks 1-3 do)
    out["intervals"] = first_seed_intervals(rows, *(scores[k] for k in score_keys(first)))
    out["per_seed"] = [{k: v for k, v in r.items() if k != "folds"} for r in rows]
    return out


def _summary(m: dict, method: str | None = None, aggregate: bool = False) -> str:
    """The run's result line; ``method``: its label (a user encoder's names its spec)."""
    from mtneuro.stats import describe_row
    from mtneuro.tasks.neural.majority import majority_text
    from mtneuro.tasks.neural.task import score_keys

    seeds = m["seed"] if aggregate else [m["seed"]]
    parts = [describe_row([
        (key, {"mean": m[key], "std": m.get(f"{key}_std", 0.0), "n": len(seeds)},
         (m.get("intervals") or {}).get(key))
        for key in score_keys(m)])]
    if not aggregate and m.get("steps") and not isinstance(m["selected_step"], list):
        refit = ", then retrained on train + validation" if m.get("refit") else ""
        refit += "; readout on both encoders" if m.get("refit_ensemble") else ""
        parts.append(f"kept step {m['selected_step']} of {m['steps']} (best validation readout{refit})")
    # the run's own time (load, training, readout); the record's wall_s adds figures and files
    wall = f"run {m['wall_s']:.1f} s" + (" per seed" if aggregate else "")
    # the chance reference the scores are read against
    chance = f"; {majority_text(m['majority'], len(seeds))}" if m.get("majority") else ""
    return (f"{method or m['method']} on {m['recording']} ({m['split']} split, seeds {seeds}): "
            f"{', '.join(parts)}; n_test {m['n_test']}; {wall}{chance}")


def _save_encoder(outcome, out_dir: Path) -> None:
    """DIR/encoder.pt of a trained method (``mtneuro-encoder/1``, with its input spec), and
    with the refit ensemble DIR/encoder_first_pass.pt, whose features come first."""
    if outcome.encoder is None:
        return
    from mtneuro.models.checkpoint import save_encoder

    m, rec = outcome.metrics, outcome.recording
    # what it was trained on: a run reading it back (--encoder) checks its test bins against it
    meta = {"method": m["method"], "seed": m["seed"], "recording": rec.name,
            "recording_sha256": sorted(rec.files.values()), "split": m["split"],
            "refit": bool(m.get("refit")), "steps": m["steps"],
            "selected_step": m["selected_step"], "task": "neural",
            # read back alone, either encoder of an ensemble scores other than the run did
            "ensemble": outcome.first_pass is not None}
    if (m.get("n_folds") or 1) > 1:  # k-fold: the encoder of the last fold alone
        meta["fold"] = f"last of {m['n_folds']}"
    files = [("encoder.pt", outcome.encoder, outcome.encoder_kwargs, outcome.input_spec,
              "retrained" if m.get("refit") else "")]
    if outcome.first_pass is not None:
        files.append(("encoder_first_pass.pt", *outcome.first_pass, "first pass"))
    for name, encoder, kwargs, spec, stage in files:
        save_encoder(out_dir / name, encoder, name="mlp", kwargs=kwargs,
                     input_spec={"kind": rec.kind, **spec},
                     meta={**meta, **({"stage": stage} if stage else {})})
