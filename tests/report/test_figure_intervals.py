"""Issue 19 in the task figures: with one seed (or seeds that agree exactly) the error bars
are the recorded bootstrap 95% interval over test samples, named with n and unit; where
seeds differ, the std over seeds; a value without either says so. Neural confusion titles
give the accuracy read from the matrix shown, and define δ-accuracy, which it is not."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from matplotlib.container import ErrorbarContainer
from report_fixture import DIRECTIONS, PHANTOM, task1_result, task3_result

from mtneuro.report import plots_region, plots_semantic
from mtneuro.tasks.api import Result
from mtneuro.tasks.neural.metrics import ACC_TOL, DELTA_ACC_TOL
from mtneuro.tasks.semantic import FEATURE_TITLES


def _flat(text: str) -> str:
    return " ".join(text.split())


def _bar_ends(ax) -> np.ndarray:
    """``(x, bottom, top)`` of every vertical error bar drawn on ``ax``, by x."""
    ends = [(segment[0, 0], segment[0, 1], segment[1, 1])
            for container in ax.containers if isinstance(container, ErrorbarContainer)
            for segment in container.lines[2][0].get_segments()
            if len(segment)]  # a NaN end draws an empty segment
    return np.array(sorted(ends)).reshape(-1, 3)


def _interval(low, high, n: int, unit: str, seed: int = 0) -> dict:
    """An interval as :func:`mtneuro.stats.bootstrap_interval` and ``first_seed_intervals``
    record it."""
    return {"low": low, "high": high, "level": 0.95, "resamples": 1000, "n": n, "unit": unit,
            "method": "percentile bootstrap over test samples", "seed": seed}


LOW, HIGH = [0.80, 0.55, 1.0, 0.50], [1.0, 0.95, 1.0, 0.90]


def _task1_with_intervals(seeds: int = 1, std: float = 0.0) -> dict:
    result = task1_result("byol", 0.9, seeds)
    result["accuracy"]["std"] = std
    result["per_class_accuracy"]["std"] = [std] * 4
    result["intervals"] = {"accuracy": _interval(0.85, 0.97, 28, "test tiles"),
                           "per_class_accuracy": _interval(LOW, HIGH, 28, "test tiles")}
    return result


# --- task 1 ---------------------------------------------------------------------------------


def test_one_seed_draws_the_recorded_test_tile_interval_and_names_n_and_unit(captured,
                                                                              tmp_path):
    plots_region.plot_task1(_task1_with_intervals(), tmp_path)
    confusion, per_class = captured
    ax = per_class.axes[0]
    assert _bar_ends(ax) == pytest.approx(np.column_stack([range(4), LOW, HIGH]))
    title = _flat(ax.get_title())
    assert "n=1 seed: bars show the bootstrap 95% interval over 28 test tiles" in title
    assert "no error bar" not in title
    assert "of seed" not in title  # the seed is named above: one seed's interval is its own
    # the confusion title gives the overall accuracy's interval, as the table does
    assert ("seed 0: accuracy 0.900 [0.850, 0.970], bootstrap 95% interval over 28 test tiles"
            in _flat(confusion.axes[0].get_title()))


def test_an_undefined_class_interval_draws_no_bar_for_that_class(captured, tmp_path):
    result = _task1_with_intervals()
    result["per_class_accuracy"]["mean"] = [0.9, float("nan"), 1.0, 0.8]  # STR: no test tile
    result["intervals"]["per_class_accuracy"]["low"] = [0.8, None, 1.0, 0.5]
    result["intervals"]["per_class_accuracy"]["high"] = [1.0, None, 1.0, 0.9]
    plots_region.plot_task1(result, tmp_path)
    assert _bar_ends(captured[1].axes[0]) == pytest.approx(np.array([[0, 0.8, 1.0],
                                                                      [2, 1.0, 1.0],
                                                                      [3, 0.5, 0.9]]))


def test_seeds_that_agree_draw_the_first_seeds_interval_and_say_whose(captured, tmp_path):
    plots_region.plot_task1(_task1_with_intervals(seeds=2), tmp_path)
    ax = captured[1].axes[0]
    assert _bar_ends(ax) == pytest.approx(np.column_stack([range(4), LOW, HIGH]))
    assert ("n=2 seeds, identical results: bars show the bootstrap 95% interval over 28 test "
            "tiles of seed 0") in _flat(ax.get_title())


def test_seeds_that_differ_keep_the_std_over_seeds_not_an_interval(captured, tmp_path):
    # even where a test-sample interval is at hand, seeds that differ show their own spread
    plots_region.plot_task1(_task1_with_intervals(seeds=3, std=0.02), tmp_path)
    confusion, per_class = captured
    ax = per_class.axes[0]
    means = task1_result("byol", 0.9, 3)["per_class_accuracy"]["mean"]
    assert _bar_ends(ax) == pytest.approx(np.column_stack([range(4), np.subtract(means, 0.02),
                                                           np.add(means, 0.02)]))
    assert "n=3 seeds: bars ± std over seeds" in _flat(ax.get_title())
    assert "[0.850, 0.970]" not in _flat(confusion.axes[0].get_title())


def test_an_interval_without_bounds_is_not_drawn(captured, tmp_path):
    result = _task1_with_intervals()
    # one test tile: bootstrap_interval records no bounds, nothing to resample
    result["intervals"] = {"accuracy": _interval(None, None, 1, "test tiles"),
                           "per_class_accuracy": _interval([None] * 4, [None] * 4, 1,
                                                           "test tiles")}
    plots_region.plot_task1(result, tmp_path)
    ax = captured[1].axes[0]
    assert _bar_ends(ax).size == 0
    assert "n=1 seed: no error bar" in _flat(ax.get_title())


# --- task 3 ---------------------------------------------------------------------------------


def _task3(**r2_test) -> dict:
    result = task3_result("pca")
    names = result["features"]
    result["r2_test"] = {f: {"mean": 0.31, "std": 0.0, "n": 1, **r2_test} for f in names}
    result["r2_in_sample_reference"] = {f: {"mean": 0.77, "std": 0.0, "n": 1} for f in names}
    return result


def test_task3_panels_give_the_held_out_interval_and_the_title_its_n_and_unit(captured,
                                                                             tmp_path):
    result = _task3()
    unit = "test tiles (4 crops each)"
    result["intervals"] = {"r2_test": {f: _interval(0.12 + j / 100, 0.5, 24, unit)
                                       for j, f in enumerate(result["features"])}}
    plots_semantic.plot_task3_scatter(result, tmp_path / "s.png")
    fig = captured[0]
    for j, name in enumerate(result["features"]):
        assert fig.axes[j].get_title() == (f"{FEATURE_TITLES.get(name, name)}\n"
                                           f"R² test 0.31 [{0.12 + j / 100:.2f}, 0.50]\n"
                                           "(in-sample 0.77)")
    title = _flat(fig._suptitle.get_text())
    assert "[low, high]: bootstrap 95% interval over 24 test tiles (4 crops each)" in title
    # F4: the in-sample value has no interval, and the figure says why rather than imply one
    assert "in-sample: fit and scored on all crops, no test-sample interval" in title


def test_task3_without_a_recorded_interval_says_so(captured, tmp_path):
    plots_semantic.plot_task3_scatter(_task3(), tmp_path / "s.png")
    title = _flat(captured[0]._suptitle.get_text())
    assert "R² test: no test-sample interval recorded" in title
    assert "in-sample: fit and scored on all crops, no test-sample interval" in title
    assert "[low, high]" not in title


def test_task3_seeds_that_differ_show_the_std_over_seeds(captured, tmp_path):
    result = _task3(std=0.05, n=3)
    result["per_seed"] = [{}, {}, {}]
    result["intervals"] = {"r2_test": {f: _interval(0.1, 0.5, 24, "test tiles")
                                       for f in result["features"]}}
    plots_semantic.plot_task3_scatter(result, tmp_path / "s.png")
    fig = captured[0]
    name = result["features"][0]
    assert fig.axes[0].get_title() == (f"{FEATURE_TITLES.get(name, name)}\n"
                                       "R² test 0.31 ± 0.05\n(in-sample 0.77)")
    title = _flat(fig._suptitle.get_text())
    assert "R² test ± std over n=3 seeds" in title and "[low, high]" not in title


# --- neural confusion -----------------------------------------------------------------------


def _neural(metrics: dict, label: np.ndarray, pred: np.ndarray) -> None:
    from mtneuro.report.task_figures import neural_figures

    outcome = SimpleNamespace(
        recording=SimpleNamespace(class_names=DIRECTIONS), metrics=metrics, test_pred=pred,
        test_label=label, test_features=np.eye(len(label)), feature_label=label, curve=[],
        selection=[], kept_step=None)
    result = Result(task="neural", setting="chewie-1", method="myow", metrics={}, headline={},
                    config={"seeds": [0]}, source=PHANTOM, card={},
                    artefacts={"outcome": outcome})
    neural_figures(result, Path("unused"))


def test_neural_confusion_title_gives_the_accuracy_of_the_matrix_and_defines_delta(captured):
    label = np.array([0, 1, 2, 3, 4, 6, 7, 0])
    pred = np.array([0, 1, 2, 3, 4, 6, 0, 1])  # 6 of 8 on the diagonal
    _neural({"seed": 0, "delta_accuracy": 0.875}, label, pred)
    title = _flat(captured[0].axes[0].get_title())
    assert "accuracy 0.750 = 6/8 test bins on the diagonal" in title
    assert ("δ-accuracy 0.875 = share of test bins with angular error < 3π/16 "
            "(accuracy: < π/8), not read from this matrix") in title
    # the words say what the metrics module scores
    assert (DELTA_ACC_TOL, ACC_TOL) == (3 * np.pi / 16, np.pi / 8)


def test_a_state_decoding_confusion_has_its_accuracy_and_no_delta(captured):
    label, pred = np.array([0, 1, 2, 2, 1]), np.array([0, 1, 2, 0, 0])  # 3 of 5 right
    _neural({"seed": 1}, label, pred)  # sleep: no delta_accuracy recorded
    title = _flat(captured[0].axes[0].get_title())
    assert title.endswith("accuracy 0.600 = 3/5 test bins on the diagonal")
    assert "δ" not in title


def test_task1_titles_name_the_users_encoder_and_what_plus_minus_is(captured, tmp_path):
    """Titles said "encoder" while the terminal said "encoder (mypkg.encoders:build)", and
    confusion.png's ± was not said to be the std over seeds (per_class_accuracy.png's is)."""
    from mtneuro.report.task_figures import task1_figures

    metrics = {k: v for k, v in task1_result("encoder", 0.9, 3).items()
               if k not in ("setting", "method", "source")}
    result = Result(task="task1", setting="roi-c1", method="encoder", metrics=metrics,
                    headline={}, config={"encoder": "mypkg.encoders:build"}, source=PHANTOM,
                    card={})
    task1_figures(result, tmp_path)
    confusion, per_class = (_flat(f.axes[0].get_title()) for f in captured)
    for title in (confusion, per_class):
        assert "roi-c1 encoder (mypkg.encoders:build) (2d) on " in title
    assert "accuracy 0.900 ± 0.020 (± std over seeds), mean over seeds 0, 1, 2" in confusion
