"""Issue 19: every figure the tool writes names its data source in a title (task 1, 2, 3,
neural confusion / representation / learning curve, summary chart, data preview)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image
from report_fixture import DIRECTIONS, PHANTOM, task1_result, task2_result, task3_result, write_cell
from test_figures import _TinyLabelled

from mtneuro.report import figures, preview, summary_chart, task_figures
from mtneuro.report.figures import FONT_KEY, MIN_FONT_PT
from mtneuro.report.leaderboard import build_tables, data_source_label, load_records
from mtneuro.tasks.api import Result

RECORDING = {"source": "chewie-1", "label": "real recording chewie-1", "name": "chewie-1"}


@pytest.fixture
def saved_titles(monkeypatch) -> dict:
    """File name -> every title text (suptitle, axes titles, figure texts) of each figure
    saved, flattened to one line; the figures are still written."""
    titles: dict = {}
    original = Figure.savefig
    original_write = figures.write_atomic
    target: list = []  # figures are written through a temporary file: the path it replaces

    def write(path, *args, **kwargs):
        target[:] = [str(path)]
        return original_write(path, *args, **kwargs)

    def record(fig, path, *args, **kwargs):
        texts = [fig._suptitle.get_text()] if fig._suptitle else []
        texts += [ax.get_title() for ax in fig.axes] + [t.get_text() for t in fig.texts]
        key = str(path) if isinstance(path, (str, Path)) else target[0]
        titles[key] = " ".join(" ".join(texts).split())
        return original(fig, path, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", record)
    monkeypatch.setattr(figures, "write_atomic", write)
    return titles


def _result(task: str, method: str, metrics: dict, source: dict, **artefacts) -> Result:
    return Result(task=task, setting="s", method=method, metrics=metrics, headline={},
                  config={"seeds": [0]}, source=source, card={}, artefacts=artefacts)


class _LabelledTiny(_TinyLabelled):
    """A tiny volume whose provenance carries a data-source label, as a recording's does."""

    def describe(self) -> dict:
        return {**super().describe(), "label": "tiny test volume"}


def _neural_outcome() -> SimpleNamespace:
    label = np.array([0, 1, 2, 3, 4, 6, 7] * 2)
    rng = np.random.default_rng(0)
    return SimpleNamespace(
        recording=SimpleNamespace(class_names=DIRECTIONS), metrics={"seed": 0},
        test_pred=label, test_label=label, test_features=rng.normal(size=(len(label), 4)),
        feature_label=label, curve=[{"step": 0, "loss": 1.0}, {"step": 10, "loss": 0.5}],
        selection=[{"step": 10, "accuracy": 0.6}], kept_step=10)


def test_every_figure_writer_names_its_data_source(saved_titles, tmp_path):
    phantom = data_source_label({"source": PHANTOM})
    expected: dict[str, str] = {}

    def expect(paths, label):
        expected.update({str(p): label for p in paths})

    region = task1_result("pca", 0.5, 1)
    expect(task_figures.task1_figures(_result(
        "task1", "pca", {k: v for k, v in region.items() if k != "source"}, PHANTOM),
        tmp_path / "t1"), phantom)
    seg = task2_result("unet")
    expect(task_figures.task2_figures(_result("task2", "unet", seg["metrics"], PHANTOM,
                                              examples=seg["examples"]), tmp_path / "t2"), phantom)
    semantic = task3_result("pca")
    expect(task_figures.task3_figures(_result(
        "task3", "pca", {k: v for k, v in semantic.items() if k not in ("source", "scatter")},
        PHANTOM, scatter=semantic["scatter"]), tmp_path / "t3"), phantom)
    neural = task_figures.neural_figures(
        _result("neural", "myow", {}, RECORDING, outcome=_neural_outcome()), tmp_path / "n")
    assert len(neural) == 3  # confusion, 2-D representation, learning curve
    expect(neural, "real recording chewie-1")
    expect([preview.render_preview(_LabelledTiny(), tmp_path / "preview.png", z=0)],
           "tiny test volume")

    suite = tmp_path / "suite"
    write_cell(suite, "task1", "roi-c1", "pca", 0, {"accuracy": 0.5}, lambda d: [])
    (table,) = [t for t in build_tables(load_records(suite)) if t.task == "task1"]
    expect([summary_chart.plot_summary(table, tmp_path / "chart.png")], phantom)

    assert set(expected) == set(saved_titles)  # every figure written was checked
    missing = {p: saved_titles[p] for p, label in expected.items() if label not in saved_titles[p]}
    assert not missing, f"figures whose titles do not name their data source: {missing}"
    for path in expected:  # the longer titles still read at thumbnail size
        with Image.open(path) as image:
            assert float(image.info[FONT_KEY]) >= MIN_FONT_PT, path
