"""Two runs compared on the same test samples, from their ``predictions.csv``.

A leaderboard puts two methods' means side by side; whether one is better than the other
beyond the luck of the test set is a paired question: the same test samples, scored by
both. :func:`compare_runs` reads each run's rows (:mod:`mtneuro.report.predictions`),
checks that they are the same samples with the same truth, averages each sample's score
over the run's seeds (so a side's value is the mean over its seeds of its recorded score),
and gives the difference ``A - B`` of each metric with a percentile bootstrap 95% interval
over test samples, resampled in the groups the task's own intervals use (task 1 and 3:
tiles; task 2: images or blocks; reach and a user's classes: trials; sleep: blocks of bins;
:func:`mtneuro.stats.bootstrap_interval`). The interval covers the test samples, not the
training randomness: with one seed a side, a second training could move it.

Metrics: task 1 and neural ``accuracy`` (reach: and ``delta_accuracy``; sleep and a user's
classes: and ``f1_weighted``, each side's mean over its seeds of the seed's weighted F1,
resampled from one-hot confusion cells per seed), task 2 ``iou`` of each class and their
mean ``avg_iou`` (per image, as published) and, where the runs recorded each image's pixel
counts, the pooled ``f1`` of each class and ``avg_f1`` (:mod:`mtneuro.report.compare_pooled`),
task 3 the R² of each feature (its difference is the difference of squared errors over the
truth's variance, resampled together).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mtneuro.errors import ConfigError, DataError
from mtneuro.report.compare_pooled import pixel_counts, with_pooled_f1
from mtneuro.report.leaderboard import data_source_label
from mtneuro.report.predictions import PREDICTIONS_FILE, read_predictions
from mtneuro.report.results import read_json_object
from mtneuro.report.source_files import check_one_recording, different_files
from mtneuro.stats import bootstrap_interval, macro_f1_of_totals, weighted_f1_of_totals

#: task -> (columns naming a sample, the column whose samples are resampled together)
_SAMPLES = {"task1": (("tile", "crop"), "tile"), "task2": (("image",), "image"),
            "task3": (("tile", "crop"), "tile"), "neural": (("bin",), "trial")}
#: task -> the columns its predictions.csv must have to be compared, and a number column
#: prefix it needs at least one of (task 3: with its ``true_`` twin)
_COLUMNS = {"task1": (("seed", "tile", "crop", "true", "predicted"), None),
            "task2": (("seed", "image"), "iou_"),
            "task3": (("seed", "tile", "crop"), "predicted_"),
            "neural": (("seed", "bin", "trial", "true", "predicted", "accuracy"), None)}


@dataclass
class Side:
    """One side of a comparison: its runs' records and rows (every seed's)."""

    label: str
    records: list[dict[str, Any]]
    rows: dict[str, np.ndarray]

    @property
    def record(self) -> dict[str, Any]:
        return self.records[0]

    @property
    def seeds(self) -> list[int]:
        return sorted({int(s) for s in self.rows["seed"]})


@dataclass
class Comparison:
    """``a - b`` per metric: ``rows`` of ``{"metric", "a", "b", "difference", "low",
    "high"}`` (``low`` / ``high`` ``None`` below five resampled units), over ``n`` units."""

    task: str
    setting: str
    data: str
    a: Side
    b: Side
    n_samples: int
    n: int
    unit: str
    rows: list[dict[str, Any]] = field(default_factory=list)


def load_side(path: str | Path) -> Side:
    """The runs ``path`` names: a run folder (a task command's, or a neural one with a
    ``seed-S/`` folder per seed), a bench cell folder, or a bench cell id without its seed
    (``OUT/cells/neural-chewie-1-myow``: every ``...-s<seed>`` cell of that row).

    Raises:
        ConfigError: nothing there, or runs without ``predictions.csv`` (recorded before
            mtneuro wrote it: run them again), or runs of different tasks or methods.
    """
    path = Path(path)
    folders = [path] if (path / PREDICTIONS_FILE).is_file() else (
        sorted(p.parent for p in path.glob(f"seed-*/{PREDICTIONS_FILE}")) if path.is_dir()
        else sorted(p for p in path.parent.glob(f"{path.name}-s*") if p.is_dir()))
    if not folders:
        raise ConfigError(f"{path}: {_no_runs_why(path)}")
    return side_of(folders, str(path))


def _no_runs_why(path: Path) -> str:
    if (path / "cells").is_dir():
        return ("is a bench folder: name one of its rows, OUT/cells/<cell id without "
                "-s<seed>>, or one cell")
    if not path.exists():
        return "is neither a run folder nor a bench cell id"
    task = (read_json_object(path / "metrics.json") or {}).get("task")
    if task is not None and task not in _SAMPLES:  # a pretrain run scores no test samples
        encoder = path / "encoder.pt"
        return (f"is a `mtneuro {task}` run, which scores no test samples: compare the runs "
                f"of a task that read its encoder (e.g. mtneuro task1 --method encoder "
                f"--encoder {encoder} --out DIR)")
    return "holds no predictions.csv (a run recorded before mtneuro wrote one: run it again)"


def side_of(folders: list[Path], name: str) -> Side:
    """The :class:`Side` of the run folders ``folders`` (one per seed), called ``name``."""
    if not folders:
        raise ConfigError(f"{name}: no run folders")
    records, parts = [], []
    for folder in folders:
        if not (folder / PREDICTIONS_FILE).is_file():
            raise ConfigError(f"{folder}: holds no predictions.csv (a run recorded before "
                              "mtneuro wrote one: run it again)")
        if not (folder / "metrics.json").is_file():
            raise ConfigError(f"{folder}: predictions.csv without metrics.json")
        records.append(json.loads((folder / "metrics.json").read_text(encoding="utf-8")))
        parts.append(read_predictions(folder))
        _check_columns(parts[-1], records[-1].get("task"), folder / PREDICTIONS_FILE)
    kinds = {(r.get("task"), r.get("setting"), r.get("method")) for r in records}
    if len(kinds) > 1:
        raise ConfigError(f"{name}: runs of different tasks, settings or methods {sorted(kinds)}")
    check_one_recording(records, name)
    rows = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]
            if all(key in p for p in parts)}
    return Side(label=f"{records[0].get('method')} ({name})", records=records, rows=rows)


def _check_columns(rows: dict[str, np.ndarray], task: Any, path: Path) -> None:
    """Refuse a ``predictions.csv`` (at ``path``) of a ``task`` run without the columns a
    comparison reads, or with other than numbers in its number columns (a damaged file)."""
    if task not in _COLUMNS:
        return  # compare_sides names a task that writes no predictions
    names, prefix = _COLUMNS[task]
    missing = [c for c in names if c not in rows]
    values = [c for c in rows if prefix and c.startswith(prefix)]
    if prefix and not values:
        missing.append(f"{prefix}<name>")
    if task == "task3":
        missing += [f"true_{c.removeprefix(prefix)}" for c in values
                    if f"true_{c.removeprefix(prefix)}" not in rows]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}; a {task} run's "
                        f"predictions.csv has {', '.join(names)}"
                        f"{f', {prefix}<name>' if prefix else ''} (a damaged file: run it again)")
    numbers = ["seed", *values, *[c for c in ("accuracy", "delta_accuracy") if c in rows],
               *[f"true_{c.removeprefix('predicted_')}" for c in values if task == "task3"]]
    words = [c for c in numbers if rows[c].dtype.kind not in "iuf"]
    if words or rows["seed"].dtype.kind not in "iu":
        raise DataError(f"{path}: column(s) {', '.join(words or ['seed'])} hold values that "
                        "are not numbers (seed: integers; a damaged file: run it again)")


def compare_runs(a: str | Path, b: str | Path) -> Comparison:
    """``a - b`` on the test samples both scored (see the module docstring).

    Raises:
        ConfigError: either side cannot be read (:func:`load_side`), or
            :func:`compare_sides` refuses the two.
        DataError: a ``predictions.csv`` is damaged: rows cut short, columns missing, or
            words in its number columns.
    """
    return compare_sides(load_side(a), load_side(b), str(a), str(b))


def difference_side(row: dict[str, Any]) -> str:
    """What a row's 95% interval of ``a - b`` shows: ``"a"`` (all of it above 0: A higher),
    ``"b"`` (all below: B higher), ``"neither"`` (it holds 0), ``"undefined"`` (NaN ends:
    most resamples leave the metric undefined, as R² of a constant truth) or ``"none"`` (no
    interval: fewer than five units)."""
    low, high = row["low"], row["high"]
    if low is None or high is None:
        return "none"
    if low != low or high != high:
        return "undefined"
    return "a" if low > 0 else "b" if high < 0 else "neither"


def signed(value: float) -> str:
    """``value`` to three decimals with its sign, and no sign on a rounded zero (``+0.000``,
    never ``-0.000``)."""
    return f"{round(value, 3) + 0.0:+.3f}"


def compare_sides(side_a: Side, side_b: Side, a: str, b: str) -> Comparison:
    """``side_a - side_b`` (called ``a`` and ``b`` in messages).

    Raises:
        ConfigError: the two are runs of different tasks, settings or data (or files, by
            their recorded SHA-256), or their test samples or truths differ.
    """
    task, setting = side_a.record.get("task"), side_a.record.get("setting")
    if (side_b.record.get("task"), side_b.record.get("setting")) != (task, setting):
        raise ConfigError(f"{a} is {task} {setting}, {b} is {side_b.record.get('task')} "
                          f"{side_b.record.get('setting')}: compare runs of one task setting")
    if task not in _SAMPLES:
        raise ConfigError(f"{a}: task {task!r} writes no predictions to compare")
    data = {data_source_label(side.record) for side in (side_a, side_b)}
    if len(data) > 1:
        raise ConfigError(f"{a} and {b} read different data ({' and '.join(sorted(data))})")
    files = different_files(side_a.record, side_b.record)  # e.g. a/four.npz, b/four.npz
    if files is not None:
        raise ConfigError(f"{a} and {b} read different files: {files} differ; compare runs "
                          "of the same recording file")
    keys, group = _SAMPLES[task]
    samples_a, values_a, predicted_a = _per_sample(side_a, keys, task)
    samples_b, values_b, predicted_b = _per_sample(side_b, keys, task)
    if samples_a["key"].shape != samples_b["key"].shape or not np.array_equal(
            samples_a["key"], samples_b["key"]):
        raise ConfigError(f"{a} and {b} scored different test samples "
                          f"({samples_a['key'].size} and {samples_b['key'].size}): compare runs "
                          "of the same data and split")
    for name, truth in samples_a["truth"].items():
        if not np.array_equal(truth, samples_b["truth"][name]):
            raise ConfigError(f"{a} and {b} disagree on the truth ({name}) of the same test "
                              "samples: runs of different data")
    groups, unit = _groups(samples_a, group, side_a.record)
    names, per_sample, statistic = _metric(task, values_a, values_b, samples_a["truth"])
    if _classifies(side_a.record):
        names, per_sample, statistic = _with_weighted_f1(
            names, per_sample, statistic, samples_a["truth"]["true"], predicted_a, predicted_b,
            macro=_neural_kind(side_a.record) == "classes")
    if task == "task2" and predicted_a is not None and predicted_b is not None:
        (counts_a, classes), (counts_b, classes_b) = predicted_a, predicted_b
        if classes == classes_b:  # both runs recorded their pixel counts, of the same classes
            names, per_sample, statistic = with_pooled_f1(names, per_sample, statistic,
                                                          counts_a, counts_b, classes)
    point = statistic(per_sample.sum(axis=0))
    interval = bootstrap_interval(lambda t: statistic(t)[..., 2, :], per_sample, unit=unit,
                                  groups=groups)
    low, high = (np.atleast_1d(interval[k]) for k in ("low", "high"))
    result = Comparison(task=task, setting=setting, data=data.pop(),
                        a=side_a, b=side_b, n_samples=len(per_sample), n=interval["n"],
                        unit=unit)
    for j, name in enumerate(names):
        result.rows.append({"metric": name, "a": float(point[0][j]), "b": float(point[1][j]),
                            "difference": float(point[2][j]),
                            "low": None if low[j] is None else float(low[j]),
                            "high": None if high[j] is None else float(high[j])})
    return result


def _per_sample(side: Side, keys: tuple[str, ...], task: str
                ) -> tuple[dict[str, Any], dict[str, np.ndarray], Any]:
    """Each sample's key, truth and group, its values averaged over the side's seeds
    (``(samples,)`` arrays by name), and each seed's predicted labels ``(seeds, samples)``
    (``None`` for tasks without a ``predicted`` column; task 2: each seed's pixel counts and
    the class names, :func:`~mtneuro.report.compare_pooled.pixel_counts`); samples sorted by
    key."""
    rows = side.rows
    key = rows[keys[0]].astype(str)
    for name in keys[1:]:
        key = np.char.add(np.char.add(key, "|"), rows[name].astype(str))
    seeds = side.seeds
    order = np.lexsort((key, rows["seed"]))  # by seed, then by key
    per_seed = len(key) // len(seeds)
    sorted_key = key[order].reshape(len(seeds), -1) if per_seed * len(seeds) == len(key) else None
    if sorted_key is None or not (sorted_key == sorted_key[0]).all():
        raise ConfigError(f"{side.label}: its seeds scored different test samples (a split "
                          "that follows the seed, e.g. neural --split random): compare one "
                          "seed's runs")
    first = order[:per_seed]
    truth_columns = [c for c in rows if c == "true" or c.startswith("true_")
                     or (task == "task2" and c in ("z", "region"))]
    samples = {"key": sorted_key[0], "truth": {c: rows[c][first] for c in truth_columns},
               **{c: rows[c][first] for c in ("trial", "tile", "image", "bin") if c in rows}}
    values = {c: rows[c][order].reshape(len(seeds), per_seed).astype(np.float64).mean(axis=0)
              for c in _value_columns(rows, task)}
    if task == "task1":
        hits = (rows["true"] == rows["predicted"])[order].reshape(len(seeds), per_seed)
        values["accuracy"] = hits.mean(axis=0)
    if task == "task3":  # squared errors, averaged over seeds: 1 - their mean / SST is the
        for c in [c for c in rows if c.startswith("predicted_")]:  # mean R² over seeds
            name = c.removeprefix("predicted_")
            error = (rows[f"true_{name}"] - rows[c])[order].reshape(len(seeds), per_seed)
            values[f"sse_{name}"] = (error**2).mean(axis=0)
    predicted = (rows["predicted"][order].reshape(len(seeds), per_seed)
                 if "predicted" in rows else None)
    if task == "task2":  # its pixel counts stand in for labels: the pooled F1 is read from them
        return samples, values, pixel_counts(rows, order, len(seeds), per_seed)
    return samples, values, predicted


def _value_columns(rows: dict[str, np.ndarray], task: str) -> list[str]:
    if task == "neural":
        return [c for c in ("accuracy", "delta_accuracy") if c in rows]
    if task == "task2":
        return [c for c in rows if c.startswith("iou_")]
    return []


def _is_sleep(record: dict[str, Any]) -> bool:
    return _neural_kind(record) == "sleep"


def _classifies(record: dict[str, Any]) -> bool:
    """A neural run whose readout predicts classes (sleep states, a user's classes), not an
    angle: its F1 is compared too."""
    return _neural_kind(record) in ("sleep", "classes")


def _neural_kind(record: dict[str, Any]) -> str | None:
    metrics = record.get("metrics") or {}
    return metrics.get("kind") if record.get("task") == "neural" else None


def _groups(samples: dict[str, Any], group: str, record: dict[str, Any]
            ) -> tuple[np.ndarray, str]:
    """The groups resampled together, and their name, as the task's own intervals."""
    if _is_sleep(record):
        from mtneuro.tasks.neural.metrics import SLEEP_BLOCK_BINS

        return samples["bin"] // SLEEP_BLOCK_BINS, f"test blocks of {SLEEP_BLOCK_BINS} bins"
    units = {"tile": "test tiles", "image": "test images", "trial": "test trials"}
    return samples[group], units[group]


def _metric(task: str, a: dict[str, np.ndarray], b: dict[str, np.ndarray],
            truth: dict[str, np.ndarray]
            ) -> tuple[list[str], np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """(metric names, per-sample sums ``(N, K)``, statistic: sums -> ``(..., 3, M)`` of A, B
    and A - B)."""
    if task == "task3":
        names = [k.removeprefix("sse_") for k in a if k.startswith("sse_")]
        y = np.stack([truth[f"true_{n}"].astype(np.float64) for n in names], axis=1)
        sse_a = np.stack([a[f"sse_{n}"] for n in names], axis=1)
        sse_b = np.stack([b[f"sse_{n}"] for n in names], axis=1)
        per_sample = np.concatenate([y, y**2, sse_a, sse_b, np.ones((len(y), 1))], axis=1)
        f = len(names)

        def r2(totals: np.ndarray) -> np.ndarray:
            s, s2, ea, eb = (totals[..., i * f:(i + 1) * f] for i in range(4))
            sst = s2 - s**2 / totals[..., -1:]
            with np.errstate(invalid="ignore", divide="ignore"):
                sst = np.where(sst > 1e-12 * np.maximum(s2, 1), sst, np.nan)
                return np.stack([1 - ea / sst, 1 - eb / sst, (eb - ea) / sst], axis=-2)

        return [f"r2_{n}" for n in names], per_sample, r2
    names = list(a)
    va = np.stack([a[n] for n in names], axis=1)
    vb = np.stack([b[n] for n in names], axis=1)
    if task == "task2":  # the mean over classes of each image's IoU: avg_iou
        names.append("avg_iou")
        va, vb = (np.concatenate([v, v.mean(axis=1, keepdims=True)], axis=1) for v in (va, vb))
    per_sample = np.concatenate([va, vb, np.ones((len(va), 1))], axis=1)
    m = len(names)

    def means(totals: np.ndarray) -> np.ndarray:
        count = totals[..., -1:]
        ma, mb = totals[..., :m] / count, totals[..., m:2 * m] / count
        return np.stack([ma, mb, ma - mb], axis=-2)

    return names, per_sample, means


def _with_weighted_f1(names: list[str], per_sample: np.ndarray,
                      statistic: Callable[[np.ndarray], np.ndarray], true: np.ndarray,
                      predicted_a: np.ndarray, predicted_b: np.ndarray, *, macro: bool = False,
                      ) -> tuple[list[str], np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """``names``, ``per_sample`` and ``statistic`` with ``f1_weighted`` added (and, with
    ``macro``, a user's classes' headline ``f1_macro``): each sample's one-hot confusion cell
    per seed of each side (truth x predicted), so that every resample sums to per-seed
    confusion counts, whose F1 is averaged over the side's seeds."""
    classes, index = np.unique(np.concatenate([true, predicted_a.ravel(), predicted_b.ravel()]),
                               return_inverse=True)
    c, n = len(classes), len(true)
    true_index = index[:n]
    cells = []
    for start, predicted in ((n, predicted_a), (n + predicted_a.size, predicted_b)):
        predicted_index = index[start:start + predicted.size].reshape(predicted.shape)
        cell = true_index[None, :] * c + predicted_index  # (seeds, samples)
        onehot = np.zeros((n, len(predicted), c * c))
        onehot[np.arange(n)[None, :], np.arange(len(predicted))[:, None], cell] = 1
        cells.append(onehot.reshape(n, -1))
    k, k_a = per_sample.shape[1], cells[0].shape[1]

    scores = {"f1_weighted": weighted_f1_of_totals,
              **({"f1_macro": macro_f1_of_totals} if macro else {})}

    def with_f1(totals: np.ndarray) -> np.ndarray:
        columns = []
        for score in scores.values():
            f1_a, f1_b = (score(part.reshape(*part.shape[:-1], -1, c * c), c).mean(axis=-1)
                          for part in (totals[..., k:k + k_a], totals[..., k + k_a:]))
            columns.append(np.stack([f1_a, f1_b, f1_a - f1_b], axis=-1)[..., None])
        return np.concatenate([statistic(totals[..., :k]), *columns], axis=-1)

    return [*names, *scores], np.concatenate([per_sample, *cells], axis=1), with_f1
