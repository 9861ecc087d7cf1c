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
