"""Mutation audit of the report rendering: known answers read from matplotlib's object model
(panels, texts, legends, artists) and from the parsed report.html, never pixel snapshots.

Each test pins something a reader relies on that the neighbouring tests left open: which
panel shows truth and which the prediction, which cell of a confusion matrix a count sits
in, that a name with markup stays text in the page, and so on."""

from __future__ import annotations

import colorsys
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image
from report_fixture import PHANTOM, REGIONS, task1_result, task2_result, task3_result, write_cell

from mtneuro.data.sources.base import VolumeSource
from mtneuro.report import (
    plots_neural,
    plots_region,
    plots_segmentation,
    plots_semantic,
    preview,
)
from mtneuro.report.colors import CLASS_COLOURS
from mtneuro.report.figures import new_figure, plot_confusion_matrix, save_figure
from mtneuro.report.html import build_report
from mtneuro.report.plots_segmentation import label_overlay, plot_overlays
from mtneuro.report.published import PublishedRow, Stat, parse_published
from mtneuro.tasks.api import Result
from mtneuro.tasks.semantic import FEATURE_TITLES

CLASSES = ["background", "vessel", "cell", "axon"]




def _flat(text: str) -> str:
    return " ".join(text.split())


def _texts_at(ax) -> dict[tuple[float, float], object]:
    """Text artists of ``ax`` by their (x, y) data position: (column, row) of a matrix."""
    return {tuple(map(float, t.get_position())): t for t in ax.texts}


# --- class colours and task 2 overlays ------------------------------------------------------


def test_class_colours_are_red_gold_blue_and_differ_in_lightness():
    """The documented map (colors.py): hue tells the classes apart and so does lightness,
    for readers with a colour-vision deficiency; every figure's legend reads it."""
    hues = {name: colorsys.rgb_to_hls(*rgb)[0] * 360 for name, rgb in CLASS_COLOURS.items()}
    assert set(hues) == {"vessel", "cell", "axon"}
    assert hues["vessel"] < 15 or hues["vessel"] > 345  # red
    assert 35 <= hues["cell"] <= 55  # gold
    assert 200 <= hues["axon"] <= 235  # blue
    luminance = sorted(0.2126 * r + 0.7152 * g + 0.0722 * b for r, g, b in CLASS_COLOURS.values())
    assert min(np.diff(luminance)) >= 0.1


def test_overlay_columns_show_image_truth_and_prediction_in_that_order(captured, tmp_path):
    image = np.full((1, 2, 2), 100, dtype=np.uint8)
    truth = np.array([[[1, 1], [1, 1]]])  # all vessel
    prediction = np.array([[[3, 3], [3, 3]]])  # all axon: a wrong column would show vessel
    plot_overlays(image, truth, prediction, CLASSES, tmp_path / "o.png")
    (fig,) = captured
    shown = [np.asarray(ax.images[0].get_array()) for ax in fig.axes]
    assert [ax.get_title() for ax in fig.axes] == ["image", "truth", "prediction"]
    assert np.allclose(shown[0], 100 / 255)
    assert np.allclose(shown[1], label_overlay(image[0], truth[0], CLASSES))
    assert np.allclose(shown[2], label_overlay(image[0], prediction[0], CLASSES))


def test_a_3d_block_shows_its_middle_slice(captured, tmp_path):
    depth = 5
    image = np.arange(depth, dtype=np.uint8)[None, :, None, None] * np.ones((1, 1, 2, 2), np.uint8)
    labels = np.zeros((1, depth, 2, 2), dtype=np.int64)
    labels[0, depth // 2] = 2  # only the middle slice has cell pixels
    plot_overlays(image * 50, labels, labels, CLASSES, tmp_path / "o.png")
    truth_panel = np.asarray(captured[0].axes[1].images[0].get_array())
    assert np.allclose(truth_panel, label_overlay(image[0, 2] * 50, labels[0, 2], CLASSES))
    assert _flat(captured[0]._suptitle.get_text()) == (
        "3D blocks of 5 slices: slice 3 of 5 shown")


def test_each_region_file_holds_only_that_regions_tiles(captured, tmp_path):
    examples = task2_result("unet")["examples"]
    examples["image"] = np.stack([np.full((4, 4), 10 * (k + 1), np.uint8) for k in range(3)])
    examples["truth"] = examples["prediction"] = np.zeros((3, 4, 4), np.int64)
    examples["region"] = np.array([1, 0, 1])  # striatum, cortex, striatum
    paths = plots_segmentation.plot_region_overlays(examples, tmp_path)
    assert [p.name for p in paths] == ["overlay_cortex.png", "overlay_striatum.png"]
    cortex, striatum = ([np.asarray(ax.images[0].get_array())[0, 0, 0] for ax in f.axes[::3]]
                        for f in captured)
    assert cortex == pytest.approx([20 / 255])
    assert striatum == pytest.approx([10 / 255, 30 / 255])
    # column names head the first row only, the legend reads the shared colours
    titles = [ax.get_title() for ax in captured[1].axes]
    assert titles == ["image", "truth", "prediction"] + [""] * 3


def test_overlay_title_names_the_first_seed_it_draws(captured, tmp_path):
    result = task2_result("unet")
    result["config"] = {"seeds": [3, 4], "preset": "quick"}
    plots_segmentation.plot_task2(result, tmp_path)
    assert "2d 4-class, quick preset, seed 3," in _flat(captured[0]._suptitle.get_text())


# --- confusion matrices ---------------------------------------------------------------------


def test_confusion_counts_sit_in_their_cells_with_readable_contrast(captured, tmp_path):
    counts = np.array([[5, 0, 0], [1, 2, 3], [0, 0, 0]])  # row 2: no test samples
    plot_confusion_matrix(counts, ["a", "b", "c"], tmp_path / "c.png", title="t")
    ax = captured[0].axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted", "true")
    at = _texts_at(ax)
    for (row, col), value in np.ndenumerate(counts[:2]):
        assert at[(float(col), float(row))].get_text() == str(value)
    # dark cells (share > half the colour scale) get white text, the rest black
    assert at[(0.0, 0.0)].get_color() == "white"
    assert {at[(float(c), 1.0)].get_color() for c in range(3)} == {"black"}
    assert at[(1.0, 2.0)].get_text() == "no test samples"
    shown = ax.images[0].get_array()
    assert shown.mask[2].all() and not shown.mask[:2].any()  # not drawn as a row of zeros
    assert np.allclose(shown[:2], [[1, 0, 0], [1 / 6, 2 / 6, 3 / 6]])
    assert captured[0].axes[1].get_ylabel() == "share of the true row"  # the shade's scale


def test_confusion_text_is_white_only_on_the_darker_half_of_the_colour_scale(captured,
                                                                           tmp_path):
    """Shares of at most 0.6: a 0.4 cell is pale (the scale runs to 1), so its count is black;
    white was chosen against half the largest share and vanished there."""
    plot_confusion_matrix(np.array([[3, 2], [2, 3]]), ["a", "b"], tmp_path / "c.png")
    at = _texts_at(captured[0].axes[0])
    assert at[(0.0, 0.0)].get_color() == "white" and at[(1.0, 0.0)].get_color() == "black"


def test_decoding_confusion_rows_are_the_true_labels(captured, tmp_path):
    label, pred = np.array([0, 0, 1]), np.array([1, 1, 1])  # class 0 always called 1
    plots_neural.plot_decoding_confusion(pred, label, ["a", "b"], tmp_path / "c.png")
    at = _texts_at(captured[0].axes[0])
    assert {k: t.get_text() for k, t in at.items()} == {
        (0.0, 0.0): "0", (1.0, 0.0): "2", (0.0, 1.0): "0", (1.0, 1.0): "1"}


# --- task 1 per-class bars ------------------------------------------------------------------


def test_per_class_bars_show_each_class_and_the_overall_line(captured, tmp_path):
    result = task1_result("pca", 0.7, 1)
    result["per_class_accuracy"]["mean"] = [0.9, 0.2, 1.0, 0.4]
    plots_region.plot_task1(result, tmp_path)
    ax = captured[1].axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == REGIONS
    assert [p.get_height() for p in ax.patches] == pytest.approx([0.9, 0.2, 1.0, 0.4])
    (line,) = ax.lines
    assert line.get_label() == "overall\naccuracy" and list(line.get_ydata()) == [0.7, 0.7]
    assert len(ax.texts) == 0  # every class has test samples: no note


def test_a_class_without_test_samples_is_marked_not_drawn_as_zero(captured, tmp_path):
    result = task1_result("pca", 0.7, 1)
    result["per_class_accuracy"]["mean"] = [0.9, float("nan"), 1.0, 0.8]  # STR: no test tile
    plots_region.plot_task1(result, tmp_path)
    ax = captured[1].axes[0]
    (note,) = ax.texts
    assert _flat(note.get_text()) == "no test samples" and note.get_position()[0] == 1


# --- task 3 scatter -------------------------------------------------------------------------


def test_scatter_panels_plot_truth_against_prediction_per_feature(captured, tmp_path):
    result = task3_result("pca")
    names = result["features"]
    result["r2_test"] = {f: {"mean": 0.31, "std": 0.0, "n": 1} for f in names}
    result["r2_in_sample_reference"] = {f: {"mean": 0.77, "std": 0.0, "n": 1} for f in names}
    result["scatter"]["seed"] = 4
    result["scatter"]["true"][:, list(names).index("cell_count")] += 5  # every value measured
    plots_semantic.plot_task3_scatter(result, tmp_path / "s.png")
    fig = captured[0]
    true, pred = result["scatter"]["true"], result["scatter"]["pred"]
    for j, name in enumerate(names):
        ax = fig.axes[j]
        assert np.allclose(ax.collections[0].get_offsets(), np.column_stack([true[:, j],
                                                                               pred[:, j]]))
        assert ax.get_title() == f"{FEATURE_TITLES.get(name, name)}\nR² test 0.31 (in-sample 0.77)"
        assert ax.get_xlabel() == "true"
    assert "held-out test crops of seed 4;" in _flat(fig._suptitle.get_text())


# --- neural figures -------------------------------------------------------------------------


def test_representation_legend_names_each_class_in_its_own_colour(captured, tmp_path):
    rng = np.random.default_rng(0)
    label = np.array([0, 0, 1, 1, 2, 2])
    plots_neural.plot_representation_2d(rng.normal(size=(6, 3)), label, ["rest", "run", "sleep"],
                                        tmp_path / "r.png")
    ax = captured[0].axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["rest", "run", "sleep"]
    colours = {tuple(c.get_facecolor()[0][:3]) for c in ax.collections}
    assert len(colours) == 3


def test_learning_curve_labels_each_loss_and_marks_the_kept_checkpoint(captured, tmp_path):
    curve = [{"step": 0, "loss": 1.0, "aux_loss": 2.0}, {"step": 10, "loss": 0.5, "aux_loss": 1.0}]
    selection = [{"step": 5, "accuracy": 0.7}, {"step": 10, "accuracy": 0.6}]
    plots_neural.plot_learning_curve(curve, tmp_path / "l.png", title="t", selection=selection,
                                     selected_step=5)
    left, right = captured[0].axes
    # one legend for both axes, below them (inside, it covered the curves' ends)
    assert [t.get_text() for t in left.get_legend().get_texts()] == [
        "aux_loss", "loss", "validation accuracy", "kept: step 5"]
    assert right.get_legend() is None
    (kept,) = [line for line in right.lines if line.get_label().startswith("kept")]
    assert kept.get_label() == "kept: step 5" and list(kept.get_xdata()) == [5, 5]


def test_learning_curve_of_a_refit_says_which_training_each_line_is(captured, tmp_path):
    # the losses are the retrained encoder's (up to the kept step), the validation points the
    # first pass's, which chose that step
    curve = [{"step": 0, "loss": 1.0}, {"step": 5, "loss": 0.5}]
    plots_neural.plot_learning_curve(curve, tmp_path / "l.png", selection=[
        {"step": 5, "accuracy": 0.7}, {"step": 10, "accuracy": 0.6}], selected_step=5,
        retrained=True)
    labels = [t.get_text() for t in captured[0].axes[0].get_legend().get_texts()]
    assert labels == ["loss (retrained, train + val)", "validation accuracy (first pass)",
                      "kept: step 5"]


def _result(task: str, method: str, metrics: dict, **artefacts) -> Result:
    return Result(task=task, setting="roi-c1", method=method, metrics=metrics, headline={},
                  config={"seeds": [0]}, source=PHANTOM, card={}, artefacts=artefacts)


def test_task_figure_titles_name_the_method_not_the_task(captured, tmp_path):
    from mtneuro.report.task_figures import neural_figures, task1_figures

    region = task1_result("pca", 0.5, 1)
    task1_figures(_result("task1", "pca", {k: v for k, v in region.items()
                                           if k not in ("source", "setting", "method")}), tmp_path)
    label = np.array([0, 1, 0, 1])
    outcome = SimpleNamespace(
        recording=SimpleNamespace(class_names=["a", "b"]), metrics={"seed": 2}, test_pred=label,
        test_label=label, test_features=np.eye(4), feature_label=label, curve=[],
        selection=[], kept_step=None)
    neural_figures(_result("neural", "myow", {}, outcome=outcome), tmp_path)
    titles = [_flat(f.axes[0].get_title()) for f in captured]
    assert "task 1 roi-c1 pca (2d) on phantom" in titles[0]
    assert "task 1 roi-c1 pca (2d) on phantom" in titles[1]
    assert titles[2] == ("myow on phantom (synthetic volume) · seed 2 "
                         "accuracy 1.000 = 4/4 test bins on the diagonal")
    assert titles[3] == "test bins, myow on phantom (synthetic volume) · seed 2"


# --- data preview ---------------------------------------------------------------------------


class _Wide(VolumeSource):
    """One slice wide enough for every region's box A, labels: the left half cell, right axon."""

    name = "wide"

    def __init__(self) -> None:
        super().__init__((1, 1160, 4860), ("image", "pixel_labels"))

    def _read(self, channel, z, y, x):
        shape = (z[1] - z[0], y[1] - y[0], x[1] - x[0])
        if channel == "image":
            return np.full(shape, 120, dtype=np.uint8)
        out = np.full(shape, 2, dtype=np.uint8)
        out[..., shape[2] // 2:] = 3
        return out


def test_preview_tiles_report_the_share_of_each_class(captured, tmp_path):
    preview.render_preview(_Wide(), tmp_path / "p.png", z=0, step=16)
    titles = [ax.get_title() for ax in captured[0].axes]
    shares = [t for t in titles if t.startswith("vessel")]
    assert shares == ["vessel 0.0% cell 50.0% axon 50.0%"] * 4


# --- published numbers ----------------------------------------------------------------------


def test_a_published_row_citing_an_unknown_source_is_refused_by_name():
    """A row without a source would print without the label that marks it as not ours."""
    document = {"schema_version": 1, "sources": {},
                "rows": [{"task": "task1", "setting": "roi-c1", "method": "nmf",
                          "method_title": "NMF", "source": "ghost", "data": "real",
                          "metrics": {"accuracy": {"mean": 0.5}}}]}
    with pytest.raises(ValueError, match="published row task1/nmf: unknown source 'ghost'"):
        parse_published(document)


# --- report.html ----------------------------------------------------------------------------


def test_an_embedded_figure_is_sized_by_its_own_dpi(tmp_path):
    """The preview is saved at 100 dpi, task figures at 150: each shows at 100 px per inch."""
    from mtneuro.report.embed import figure_html

    png = save_figure(new_figure(figsize=(2, 1)), tmp_path / "f.png", dpi=100)
    with Image.open(png) as image:
        width = image.size[0]
    snippet = figure_html(png, "c", "fig0")
    assert f" width={width} " in snippet  # PNG pixels x 100 / 100 dpi
    assert float(re.search(r"data-dpi=([\d.]+)", snippet).group(1)) == pytest.approx(100, abs=0.01)


class _Page(HTMLParser):
    """Start tags, ``title`` attributes of table rows, and all text of a page."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.row_titles: list[str] = []
        self.text: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "tr" and dict(attrs).get("title"):
            self.row_titles.append(dict(attrs)["title"])

    def handle_data(self, data):
        self.text.append(data)


MARKUP = "<blink>x</blink> & \"q\" 'r'"  # tags the page never uses, an ampersand, both quotes


def test_report_html_shows_names_errors_and_reasons_as_text(tmp_path, monkeypatch):
    from mtneuro.report import leaderboard

    note = f"note {MARKUP}"
    published = PublishedRow(task="task1", setting="roi-c1", method="ref", method_title="ref",
                             source="s", label="paper, real volume", citation="c", data="d",
                             metrics={"accuracy": Stat(0.5)}, note=note)
    monkeypatch.setattr(leaderboard, "published_rows",
                        lambda task, setting=None: [published] if task == "task1" else [])

    def blank(d: Path) -> list[Path]:
        return [save_figure(new_figure(figsize=(1, 1)), d / "f.png")]

    method = "m<blink>&\"q\""  # the cell id, hence the figure caption, carries it too
    ours = write_cell(tmp_path, "task1", "roi<blink>", method, 0, {"accuracy": 0.5}, blank,
                      source={**PHANTOM, "label": f"src {MARKUP}"})
    ours.write_text(json.dumps({**json.loads(ours.read_text()), "deviations": [f"dev {MARKUP}"]}))
    for status, extra in (("failed", {"error": {"type": "ValueError", "message": MARKUP}}),
                          ("skipped", {"skip_reason": f"why {MARKUP}"})):
        path = write_cell(tmp_path, "task1", "roi-c1", status, 0, {"accuracy": 0.1},
                          lambda d: [])
        path.write_text(json.dumps({**json.loads(path.read_text()), "status": status, **extra}))
    page = _Page(build_report(tmp_path)["html"].read_text())
    assert "blink" not in page.tags
    text = "".join(page.text)
    for shown in (method, f"src {MARKUP}", f"dev {MARKUP}", f"ValueError: {MARKUP}",
                  f"why {MARKUP}",
                  "— roi<blink>", f"task1-roi<blink>-{method}-s0: f.png"):
        assert shown in text, shown
    assert set(page.row_titles) == {note}  # the quote does not end the attribute early


def test_kfold_figures_say_what_is_pooled_and_what_is_the_last_folds(captured, tmp_path):
    # the confusion matrix pools every fold's test bins; features and curve are the last
    # fold's encoder's
    from mtneuro.report.task_figures import neural_figures

    label = np.array([0, 1, 0, 1])
    outcome = SimpleNamespace(
        recording=SimpleNamespace(class_names=["a", "b"]), metrics={"seed": 0, "n_folds": 3},
        test_pred=label, test_label=label, test_features=np.eye(4), feature_label=label,
        curve=[{"step": 0, "loss": 1.0}, {"step": 1, "loss": 0.5}], selection=[],
        kept_step=None)
    neural_figures(_result("neural", "myow", {}, outcome=outcome), tmp_path)
    titles = [_flat(f.axes[0].get_title()) for f in captured]
    base = "myow on phantom (synthetic volume) · seed 0"
    assert titles == [f"{base} · 3 folds pooled accuracy 1.000 = 4/4 test bins on the diagonal",
                      f"test bins, {base} · last of 3 folds",
                      f"{base} · last of 3 folds"]
