"""The figures of each task, from its :class:`~mtneuro.tasks.api.Result`: the one place
that feeds the task plot functions (a task names its entry here in ``Task.figures``)."""

from __future__ import annotations

from pathlib import Path

from mtneuro.report.leaderboard import data_source_label
from mtneuro.tasks.api import Result
from mtneuro.vocab import method_label

#: δ-accuracy as :mod:`mtneuro.tasks.neural.metrics` scores it (``DELTA_ACC_TOL``, and
#: ``ACC_TOL`` for accuracy): a neighbouring-direction count read from the confusion matrix
#: is not it, so the title says so.
DELTA_ACCURACY = ("δ-accuracy {:.3f} = share of test bins with angular error < 3π/16 "
                  "(accuracy: < π/8), not read from this matrix")


def _with_provenance(result: Result, values: dict) -> dict:
    """``values`` with the run's setting, method and data source, which figure titles name;
    the method as the terminal names it (a user's ``encoder`` with its spec)."""
    return {**values, "setting": result.setting, "source": result.source,
            "method": _method_of(result)}


def _method_of(result: Result) -> str:
    """The run's method as the terminal names it: a user's ``encoder`` with its spec."""
    return method_label({"method": result.method,
                         "encoder": (result.config or {}).get("encoder")})


def task1_figures(result: Result, out_dir: Path) -> list[Path]:
    """``confusion.png`` and ``per_class_accuracy.png``."""
    from mtneuro.report.plots_region import plot_task1

    return plot_task1(_with_provenance(result, result.metrics), out_dir)


def task2_figures(result: Result, out_dir: Path) -> list[Path]:
    """``overlay_<region>.png``: test tiles of the first seed with truth and prediction,
    titled with the model, setting, seed and data source, each row with its slice's z."""
    from mtneuro.report.plots_segmentation import plot_task2

    return list(plot_task2({"metrics": result.metrics, "config": result.config,
                            "source": result.source,
                            "examples": result.artefacts["examples"]}, out_dir))


def task3_figures(result: Result, out_dir: Path) -> list[Path]:
    """``scatter.png``: held-out predictions against truth, per feature."""
    from mtneuro.report.plots_semantic import plot_task3_scatter

    scatter = _with_provenance(result, {**result.metrics, "scatter": result.artefacts["scatter"]})
    return [plot_task3_scatter(scatter, Path(out_dir) / "scatter.png")]


def neural_figures(result: Result, out_dir: Path) -> list[Path]:
    """``confusion.png``, ``representation_2d.png`` (2-D projection of the test bins'
    features) and, for trained methods, ``learning_curve.png`` with the validation
    checkpoints; every title names the method, the recording (data source) and the seed."""
    from mtneuro.report.plots_neural import (
        plot_decoding_confusion,
        plot_learning_curve,
        plot_representation_2d,
    )

    outcome, out_dir = result.artefacts["outcome"], Path(out_dir)
    names = outcome.recording.class_names
    source = data_source_label({"source": result.source})
    title = f"{_method_of(result)} on {source} · seed {outcome.metrics['seed']}"
    folds = int(outcome.metrics.get("n_folds") or 1)
    # k-fold: every fold's test bins are pooled; the encoder (its features, its curve) is the
    # last fold's
    pooled, last = ((f" · {folds} folds pooled", f" · last of {folds} folds") if folds > 1
                    else ("", ""))
    delta = outcome.metrics.get("delta_accuracy")  # reach only
    delta = DELTA_ACCURACY.format(delta) if delta is not None else ""
    paths = [plot_decoding_confusion(outcome.test_pred, outcome.test_label, names,
                                     out_dir / "confusion.png", title=title + pooled,
                                     unit="test bins", note=delta),
             plot_representation_2d(outcome.test_features, outcome.feature_label, names,
                                    out_dir / "representation_2d.png",
                                    title=f"test bins, {title}{last}")]
    if outcome.curve:
        paths.append(plot_learning_curve(outcome.curve, out_dir / "learning_curve.png",
                                         title=title + last,
                                         selection=outcome.selection,
                                         selected_step=outcome.kept_step,
                                         retrained=bool(outcome.metrics.get("refit"))
                                         and bool(outcome.selection)))
    return paths
