"""``mtneuro compare A B``: the paired difference of two runs on the same test samples, on
hand-made runs whose answer is known."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from mtneuro.cli.compare import compare
from mtneuro.errors import ConfigError
from mtneuro.report.compare import compare_runs
from mtneuro.report.predictions import write_predictions

PHANTOM = {"source": "phantom", "label": "phantom (synthetic volume)"}


def _run(folder, method, columns, task="task1", setting="roi-c1", source=PHANTOM):
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps(
        {"task": task, "setting": setting, "method": method, "source": source, "metrics": {}}))
    write_predictions(columns, folder)
    return folder


def _task1(folder, method, hits, seed=0, true=None):
    n = len(hits)
    true = np.asarray(["CTX", "STR"] * (n // 2)) if true is None else true
    predicted = np.where(np.asarray(hits, dtype=bool), true, "ZI")
    return _run(folder, method, {"seed": [seed] * n, "tile": np.arange(n), "z": np.arange(n),
                                 "crop": ["whole"] * n, "true": true, "predicted": predicted})


def test_the_difference_is_the_accuracies_difference_and_a_dominant_run_is_higher(tmp_path):
    better = np.ones(20, dtype=int)  # right on every tile
    worse = np.r_[np.ones(10, dtype=int), np.zeros(10, dtype=int)]  # wrong on half of them
    a, b = _task1(tmp_path / "a", "a", better), _task1(tmp_path / "b", "b", worse)
    result = compare_runs(a, b)
    [row] = result.rows
    assert (row["metric"], row["a"], row["b"]) == ("accuracy", 1.0, 0.5)
    assert row["difference"] == pytest.approx(0.5)
    assert 0 < row["low"] <= 0.5 <= row["high"] <= 1.0  # never below 0: A is never worse
    assert (result.n, result.unit, result.n_samples) == (20, "test tiles", 20)
    out = CliRunner().invoke(compare, [str(a), str(b), "--json", str(tmp_path / "c.json")])
    assert out.exit_code == 0, out.output
    assert "accuracy" in out.output and "+0.500" in out.output and "A higher" in out.output
    written = json.loads((tmp_path / "c.json").read_text())
    assert written["rows"] == result.rows and written["a"]["method"] == "a"
    assert (written["n"], written["unit"]) == (20, "test tiles")
    same = compare_runs(a, a).rows[0]
    assert (same["difference"], same["low"], same["high"]) == (0.0, 0.0, 0.0)


def test_a_sides_value_is_the_mean_over_its_seeds_of_cells_of_one_row(tmp_path):
    """Bench cells ``<id>-s0``, ``<id>-s1`` named by ``<id>``: each seed's accuracy counts."""
    hits = np.r_[np.ones(6, dtype=int), np.zeros(4, dtype=int)]
    _task1(tmp_path / "cells" / "row-s0", "a", hits, seed=0)
    _task1(tmp_path / "cells" / "row-s1", "a", np.ones(10, dtype=int), seed=1)
    b = _task1(tmp_path / "b", "b", np.zeros(10, dtype=int))
    result = compare_runs(tmp_path / "cells" / "row", b)
    assert result.a.seeds == [0, 1]
    assert result.rows[0]["a"] == pytest.approx((0.6 + 1.0) / 2)
    assert result.rows[0]["difference"] == pytest.approx(0.8)


def test_r2_difference_of_a_perfect_and_a_mean_predictor_is_one(tmp_path):
    rng = np.random.default_rng(0)
    n = 40
    truth = rng.normal(size=n)
    base = {"seed": [0] * n, "tile": np.arange(n) // 4, "z": np.arange(n) // 4,
            "region": ["CTX"] * n, "crop": ["top-left"] * n, "true_cell_count": truth}
    a = _run(tmp_path / "a", "a", {**base, "predicted_cell_count": truth}, task="task3")
    b = _run(tmp_path / "b", "b", {**base, "predicted_cell_count": np.full(n, truth.mean())},
             task="task3")
    [row] = compare_runs(a, b).rows
    assert row["metric"] == "r2_cell_count"
    assert (row["a"], row["b"], row["difference"]) == pytest.approx((1.0, 0.0, 1.0))


def test_runs_of_other_samples_truth_settings_or_data_are_refused(tmp_path):
    a = _task1(tmp_path / "a", "a", np.ones(10, dtype=int))
    fewer = _task1(tmp_path / "fewer", "b", np.ones(8, dtype=int))
    with pytest.raises(ConfigError, match="scored different test samples"):
        compare_runs(a, fewer)
    flipped = _task1(tmp_path / "flipped", "b", np.ones(10, dtype=int),
                     true=np.asarray(["STR", "CTX"] * 5))
    with pytest.raises(ConfigError, match=r"disagree on the truth \(true\)"):
        compare_runs(a, flipped)
    other = _run(tmp_path / "other", "b", {"seed": [0], "tile": [0], "z": [0], "crop": ["whole"],
                                           "true": ["CTX"], "predicted": ["CTX"]}, setting="roi-c2")
    with pytest.raises(ConfigError, match="compare runs of one task setting"):
        compare_runs(a, other)
    real = _task1(tmp_path / "real", "b", np.ones(10, dtype=int))
    (real / "metrics.json").write_text(json.dumps({
        "task": "task1", "setting": "roi-c1", "method": "b", "metrics": {},
        "source": {"source": "bossdb", "label": "real volume (BossDB prasad/prasad2020)"}}))
    with pytest.raises(ConfigError, match="read different data"):
        compare_runs(a, real)
    (tmp_path / "bench" / "cells").mkdir(parents=True)
    with pytest.raises(ConfigError, match="is a bench folder: name one of its rows"):
        compare_runs(tmp_path / "bench", a)
    with pytest.raises(ConfigError, match="neither a run folder nor a bench cell id"):
        compare_runs(a, tmp_path / "bench" / "cells" / "typo")
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "metrics.json").write_text("{}")
    with pytest.raises(ConfigError, match="holds no predictions.csv"):
        compare_runs(a, tmp_path / "old")


def test_seeds_of_other_test_samples_are_refused_naming_the_split(tmp_path):
    """A split that follows the seed (neural --split random) tests other bins per seed:
    there is no per-sample mean over seeds to compare."""
    _task1(tmp_path / "cells" / "row-s0", "a", np.ones(10, dtype=int), seed=0)
    _task1(tmp_path / "cells" / "row-s1", "a", np.ones(8, dtype=int), seed=1)
    b = _task1(tmp_path / "b", "b", np.ones(10, dtype=int))
    with pytest.raises(ConfigError, match="its seeds scored different test samples"):
        compare_runs(tmp_path / "cells" / "row", b)


def test_a_side_of_no_run_folders_is_refused_by_name():
    from mtneuro.report.compare import side_of

    with pytest.raises(ConfigError, match="raw: no run folders"):
        side_of([], "raw")


def _sleep(folder, method, seed_predictions, true):
    """A sleep run of one seed per ``seed_predictions`` entry (bench cells of one row)."""
    n = len(true)
    for seed, predicted in enumerate(seed_predictions):
        _run(folder.parent / f"{folder.name}-s{seed}", method, {
            "seed": [seed] * n, "bin": np.arange(n), "trial": np.zeros(n, dtype=int),
            "timestep": np.arange(n), "true": true, "predicted": predicted,
            "accuracy": (np.asarray(predicted) == true).astype(int)},
            task="neural", setting="sleep")
        record = json.loads((folder.parent / f"{folder.name}-s{seed}" / "metrics.json").read_text())
        record["metrics"] = {"kind": "sleep"}
        (folder.parent / f"{folder.name}-s{seed}" / "metrics.json").write_text(json.dumps(record))
    return folder


def test_sleep_weighted_f1_is_the_mean_over_seeds_of_each_seeds_f1(tmp_path):
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(1)
    states = np.asarray(["wake", "nREM", "REM"])
    n = 8 * 150  # eight blocks of SLEEP_BLOCK_BINS, the unit resampled
    true = states[rng.integers(0, 3, n)]
    noisy = [np.where(rng.random(n) < p, true, states[rng.integers(0, 3, n)])
             for p in (0.9, 0.6)]
    a = _sleep(tmp_path / "cells" / "myow", "myow", noisy, true)
    b = _sleep(tmp_path / "cells" / "raw", "raw", [np.full(n, "nREM")], true)
    result = compare_runs(a, b)
    rows = {row["metric"]: row for row in result.rows}
    expected_a = np.mean([f1_score(true, p, average="weighted") for p in noisy])
    expected_b = f1_score(true, np.full(n, "nREM"), average="weighted", zero_division=0)
    f1 = rows["f1_weighted"]
    assert (f1["a"], f1["b"]) == pytest.approx((expected_a, expected_b))
    assert f1["difference"] == pytest.approx(expected_a - expected_b)
    assert 0 < f1["low"] <= f1["difference"] <= f1["high"]
    assert (result.n, result.unit) == (8, "test blocks of 150 bins")
    assert rows["accuracy"]["a"] == pytest.approx(np.mean([(p == true).mean() for p in noisy]))
    same = {row["metric"]: row for row in compare_runs(a, a).rows}["f1_weighted"]
    assert (same["difference"], same["low"], same["high"]) == (0.0, 0.0, 0.0)


def _classes(folder, method, predicted, true):
    """A run of a user's classes recording (kind ``classes``): 40 trials of 5 bins."""
    n = len(true)
    _run(folder, method, {
        "seed": [0] * n, "bin": np.arange(n), "trial": np.arange(n) // 5,
        "timestep": np.arange(n) % 5, "true": true, "predicted": predicted,
        "accuracy": (np.asarray(predicted) == true).astype(int)},
        task="neural", setting="mine")
    record = json.loads((folder / "metrics.json").read_text())
    record["metrics"] = {"kind": "classes"}
    (folder / "metrics.json").write_text(json.dumps(record))
    return folder


def test_classes_runs_compare_their_headline_macro_f1_too(tmp_path):
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(2)
    names = np.asarray(["rest", "walk", "groom"])
    true = names[np.repeat(rng.choice(3, 40, p=[0.7, 0.2, 0.1]), 5)]
    good = np.where(rng.random(true.size) < 0.85, true, names[rng.integers(0, 3, true.size)])
    a = _classes(tmp_path / "a", "myow", good, true)
    b = _classes(tmp_path / "b", "raw", np.full(true.size, "rest"), true)
    rows = {row["metric"]: row for row in compare_runs(a, b).rows}
    expected = [f1_score(true, p, average="macro", labels=np.unique(np.r_[true, p]),
                         zero_division=0) for p in (good, np.full(true.size, "rest"))]
    macro = rows["f1_macro"]
    assert (macro["a"], macro["b"]) == pytest.approx(expected)
    assert macro["low"] <= macro["difference"] <= macro["high"]
    assert rows["f1_weighted"]["a"] == pytest.approx(f1_score(true, good, average="weighted"))
    sleep = _sleep(tmp_path / "cells" / "s", "raw", [true], true)  # sleep: no macro row
    assert "f1_macro" not in {row["metric"] for row in compare_runs(sleep, sleep).rows}


def test_a_pretrain_run_is_refused_saying_it_scores_no_test_samples(tmp_path):
    run = tmp_path / "pt"
    run.mkdir()
    (run / "metrics.json").write_text(json.dumps({"task": "pretrain", "metrics": {}}))
    with pytest.raises(ConfigError) as err:
        compare_runs(run, run)
    message = str(err.value)
    assert "is a `mtneuro pretrain` run, which scores no test samples" in message
    assert f"--encoder {run / 'encoder.pt'}" in message and "run it again" not in message
    # a task run recorded before predictions.csv still hears that
    (run / "metrics.json").write_text(json.dumps({"task": "task1", "metrics": {}}))
    with pytest.raises(ConfigError, match="a run recorded before mtneuro wrote one"):
        compare_runs(run, run)


def _of_file(folder, path, digest):
    """``folder``'s run as one of recording file ``path`` (its SHA-256 ``digest``)."""
    record = json.loads((folder / "metrics.json").read_text())
    record["source"] = {"source": "four", "label": "recording four (your file)",
                        **({"files": {path: digest}} if digest else {})}
    (folder / "metrics.json").write_text(json.dumps(record))
    return folder


def test_runs_of_two_files_of_one_name_are_refused_and_one_files_runs_compare(tmp_path):
    true = np.asarray(["rest", "walk"] * 20)
    a = _of_file(_classes(tmp_path / "a", "raw", true, true), "a/four.npz", "1" * 64)
    b = _of_file(_classes(tmp_path / "b", "raw", true[::-1], true), "b/four.npz", "2" * 64)
    with pytest.raises(ConfigError) as err:
        compare_runs(a, b)
    assert (f"{a} and {b} read different files: a/four.npz (SHA-256 111111111111) and "
            f"b/four.npz (SHA-256 222222222222) differ") in str(err.value)
    moved = _of_file(_classes(tmp_path / "c", "raw", true[::-1], true), "c/four.npz", "1" * 64)
    assert compare_runs(a, moved).rows[0]["difference"] == pytest.approx(1.0)
    unrecorded = _of_file(_classes(tmp_path / "d", "raw", true[::-1], true), "", None)
    assert compare_runs(b, unrecorded).rows[0]["difference"] == 0.0


def test_seeds_of_one_side_that_read_different_files_are_refused(tmp_path):
    from mtneuro.report.compare import side_of

    true = np.asarray(["rest", "walk"] * 20)
    seed0 = _of_file(_classes(tmp_path / "s0", "raw", true, true), "a/four.npz", "1" * 64)
    seed1 = _of_file(_classes(tmp_path / "s1", "raw", true, true), "b/four.npz", "2" * 64)
    with pytest.raises(ConfigError) as err:
        side_of([seed0, seed1], "raw")
    assert str(err.value) == ("raw: its runs read different files: a/four.npz (SHA-256 "
                              "111111111111) and b/four.npz (SHA-256 222222222222) differ; "
                              "compare runs of one recording file")
    copy = _of_file(_classes(tmp_path / "s2", "raw", true, true), "c/four.npz", "1" * 64)
    assert len(side_of([seed0, copy], "raw").records) == 2  # one file, moved: one recording
