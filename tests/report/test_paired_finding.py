"""The report's paired line under a neural table: our SSL rows against raw rates on the same
test bins, from the cells' predictions.csv (as ``mtneuro compare``), on known numbers."""

from __future__ import annotations

import numpy as np
from report_fixture import write_cell

from mtneuro.report.html import build_report
from mtneuro.report.predictions import write_predictions

SOURCE = {"source": "chewie-1", "label": "real recording chewie-1"}


def _neural_cell(out, method, seed, hits):
    n = len(hits)
    accuracy = float(np.mean(hits))
    path = write_cell(out, "neural", "chewie-1", method, seed,
                      {"accuracy": accuracy, "delta_accuracy": accuracy}, lambda d: [],
                      source=SOURCE, metrics={"accuracy": accuracy, "delta_accuracy": accuracy,
                                              "kind": "reach", "seed": seed})
    true = np.asarray(["0°", "45°"] * (n // 2))
    write_predictions({"seed": [seed] * n, "bin": np.arange(n), "trial": np.arange(n),
                       "timestep": np.zeros(n, dtype=int), "true": true,
                       "predicted": np.where(np.asarray(hits, bool), true, "90°"),
                       "accuracy": hits, "delta_accuracy": hits}, path.parent)


def test_a_dominant_ssl_row_is_said_above_raw_on_the_same_bins(tmp_path):
    half = np.r_[np.ones(10, dtype=int), np.zeros(10, dtype=int)]
    for seed in (0, 1):
        _neural_cell(tmp_path, "raw", seed, half)
        _neural_cell(tmp_path, "myow", seed, np.ones(20, dtype=int))
    paths = build_report(tmp_path)
    markdown = paths["markdown"].read_text()
    line = next(text for text in markdown.splitlines() if text.startswith("Paired on the same"))
    assert "over 20 test trials" in line
    assert "myow - raw: Accuracy +0.500 [" in line and "(above raw)" in line
    assert "Paired on the same test bins" in paths["html"].read_text()


def test_cells_without_predictions_give_no_paired_line(tmp_path):
    for seed in (0, 1):
        for method in ("raw", "myow"):
            write_cell(tmp_path, "neural", "chewie-1", method, seed,
                       {"accuracy": 0.5, "delta_accuracy": 0.5}, lambda d: [], source=SOURCE)
    assert "Paired on the same" not in build_report(tmp_path)["markdown"].read_text()


def test_each_interval_gets_the_verdict_its_ends_show_in_both_wordings():
    from mtneuro.cli.compare import _interval
    from mtneuro.report.compare import difference_side, signed
    from mtneuro.report.findings import _paired_interval

    nan = float("nan")
    cases = [({"low": 0.01, "high": 0.2}, "a", "A higher", "(above raw)"),
             ({"low": -0.2, "high": -0.0001}, "b", "B higher", "(below raw)"),
             ({"low": -0.1, "high": 0.1}, "neither", "holds 0", "(holds 0)"),
             ({"low": 0.0, "high": 0.1}, "neither", "holds 0", "(holds 0)"),
             ({"low": nan, "high": nan}, "undefined", "undefined", "undefined"),
             ({"low": None, "high": None}, "none", "fewer than 5", "fewer than 5")]
    for row, side, cli_words, report_words in cases:
        assert difference_side(row) == side, row
        assert cli_words in _interval(row, 4), row
        assert report_words in _paired_interval(row), row
    assert "nan" not in _paired_interval({"low": nan, "high": 0.1})
    # an end just below 0 keeps its sign, as the verdict reads it
    assert _interval({"low": -0.2, "high": -0.0001}, 9).startswith("[-0.200, -0.000]")
    assert (signed(-0.0004), signed(0.0125), signed(-1.5)) == ("+0.000", "+0.013", "-1.500")
