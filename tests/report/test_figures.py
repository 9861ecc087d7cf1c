"""Figures say what they show: data source and model in titles, n instead of empty error caps,
empty confusion rows annotated, one class colour map, legends off the data, readable text."""

from __future__ import annotations

import matplotlib.colors as mcolors
import numpy as np
from matplotlib.container import ErrorbarContainer
from PIL import Image
from report_fixture import DIRECTIONS, task1_result, task2_result, task3_result

from mtneuro.data.sources.base import VolumeSource
from mtneuro.data.spec import PIXEL_CLASSES
from mtneuro.report import plots_region, plots_segmentation, plots_semantic, preview
from mtneuro.report.colors import CLASS_COLOURS
from mtneuro.report.figures import FONT_KEY, MIN_FONT_PT, new_subplots, save_figure
from mtneuro.report.leaderboard import load_records
from mtneuro.report.plots_neural import plot_decoding_confusion


def _flat(text: str) -> str:
    """A wrapped title on one line."""
    return " ".join(text.split())


def _has_error_bars(ax) -> bool:
    return any(
        isinstance(c, ErrorbarContainer) or getattr(c, "errorbar", None) is not None
        for c in ax.containers
    )


def _overlaps_data(fig, legend) -> bool:
    renderer = fig.canvas.get_renderer()
    box = legend.get_window_extent(renderer)
    return any(box.overlaps(ax.get_window_extent(renderer)) for ax in fig.axes if ax.has_data())


def test_confusion_row_without_test_samples_is_annotated(captured, tmp_path):
    label = np.array([0, 1, 2, 3, 4, 6, 7, 0])  # no 225° (index 5) trial
    pred = np.array([0, 1, 2, 3, 4, 6, 7, 1])
    plot_decoding_confusion(pred, label, DIRECTIONS, tmp_path / "c.png", title="t")
    (fig,) = captured
    notes = [t for t in fig.axes[0].texts if t.get_text() == "no test samples"]
    assert len(notes) == 1 and notes[0].get_position()[1] == 5
    row_counts = [t for t in fig.axes[0].texts if t.get_position()[1] == 5 and t is not notes[0]]
    assert row_counts == []  # no column of zeros pretending to be results
    # rows with samples keep their counts: 8 rows - 1 empty, 8 columns each
    assert len(fig.axes[0].texts) == 7 * 8 + 1


def test_task1_figures_name_the_source_and_draw_no_caps_for_one_seed(captured, tmp_path):
    plots_region.plot_task1(task1_result("byol", 0.9, 1), tmp_path)
    confusion, per_class = captured
    title = _flat(confusion.axes[0].get_title())
    assert "phantom (synthetic volume)" in title
    # the interval is over tiles, the matrix counts what was scored (crops where cut)
    scored = int(np.asarray(task1_result("byol", 0.9, 1)["confusion"]).sum())
    assert title.endswith(f"the matrix counts {scored} scored test inputs")
    ax = per_class.axes[0]
    assert "phantom (synthetic volume)" in _flat(ax.get_title())
    assert "n=1 seed: no error bar" in _flat(ax.get_title())
    # both figures say 2-D tiles or 3-D blocks: the two look alike otherwise
    assert "roi-c1 byol (2d) on" in title and "roi-c1 byol (2d) on" in _flat(ax.get_title())
    assert not _has_error_bars(ax)
    assert not _overlaps_data(per_class, ax.get_legend())  # the legend covers no bar


def test_task1_error_bars_only_where_seeds_differ(captured, tmp_path):
    plots_region.plot_task1(task1_result("byol", 0.9, 3), tmp_path)
    ax = captured[1].axes[0]
    assert _has_error_bars(ax)
    assert "n=3 seeds: bars ± std over seeds" in _flat(ax.get_title())


def test_task1_titles_name_the_seeds_drawn_and_say_summed_only_over_several(captured, tmp_path):
    # a bench cell runs one seed: its figure must not claim counts summed over seeds
    plots_region.plot_task1(task1_result("pca", 0.5, 1, first_seed=1), tmp_path)
    plots_region.plot_task1(task1_result("pca", 0.5, 2), tmp_path)
    one, one_bars, two, two_bars = (_flat(f.axes[0].get_title()) for f in captured)
    assert "pca (2d) on phantom (synthetic volume), seed 1: accuracy 0.500" in one
    assert "summed" not in one and "n=" not in one
    assert "seed 1" in one_bars
    assert "mean over seeds 0, 1 (n=2); counts summed over the 2 seeds" in two
    assert "seeds 0, 1" in two_bars


def test_task2_overlays_name_model_setting_seed_and_source_in_the_shared_colours(
    captured, tmp_path
):
    paths = plots_segmentation.plot_task2(task2_result("unet"), tmp_path)
    assert [p.name for p in paths] == ["overlay_cortex.png", "overlay_striatum.png"]
    fig = captured[0]
    title = _flat(fig._suptitle.get_text())
    for words in ("unet", "2d 4-class", "seed 0", "phantom (synthetic volume)", "cortex"):
        assert words in title
    (legend,) = fig.legends
    colours = {
        t.get_text(): h.get_facecolor()[:3]
        for t, h in zip(legend.get_texts(), legend.legend_handles)
    }
    for name, rgb in CLASS_COLOURS.items():
        assert np.allclose(colours[name], rgb)
    assert "background: not coloured" in colours
    assert not _overlaps_data(fig, legend)


def test_overlay_paints_each_class_with_the_shared_colour():
    image = np.full((1, 4), 100, dtype=np.uint8)
    labels = np.array([[0, 1, 2, 3]])
    rgb = plots_segmentation.label_overlay(image, labels, PIXEL_CLASSES, alpha=0.5)
    grey = 100 / 255
    assert np.allclose(rgb[0, 0], grey)  # background unpainted
    for k in (1, 2, 3):
        assert np.allclose(rgb[0, k], 0.5 * grey + 0.5 * np.array(CLASS_COLOURS[PIXEL_CLASSES[k]]))


class _TinyLabelled(VolumeSource):
    """A small volume with every microstructure class, for the preview's legend."""

    name = "tiny"

    def __init__(self) -> None:
        super().__init__((1, 64, 64), ("image", "pixel_labels"))

    def _read(self, channel, z, y, x):
        shape = (z[1] - z[0], y[1] - y[0], x[1] - x[0])
        return np.full(shape, 120 if channel == "image" else 2, dtype=np.uint8)


def test_preview_uses_the_same_class_colours_as_the_overlays(captured, tmp_path):
    preview.render_preview(_TinyLabelled(), tmp_path / "p.png", z=0)
    (legend,) = captured[0].legends
    for text, handle in zip(legend.get_texts(), legend.legend_handles):
        name = text.get_text().split(" ", 1)[1]  # "2 cell"
        assert np.allclose(handle.get_facecolor()[:3], CLASS_COLOURS[name])
    assert all(
        mcolors.to_rgb(preview.LABEL_COLOURS[k]) == CLASS_COLOURS[PIXEL_CLASSES[k]]
        for k in (1, 2, 3)
    )


def test_task3_scatter_shows_every_feature_and_names_the_source(captured, tmp_path):
    result = task3_result("pca")
    plots_semantic.plot_task3_scatter(result, tmp_path / "s.png")
    fig = captured[0]
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert len(titles) == len(result["features"]) == 5
    assert "phantom (synthetic volume)" in _flat(fig._suptitle.get_text())
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["y = x"]
    assert any("(px²)" in title for title in titles)  # a cell size is an area


def test_save_figure_records_the_smallest_font(tmp_path):
    fig, ax = new_subplots()
    ax.set_title("big", fontsize=14)
    ax.text(0.5, 0.5, "small", fontsize=7)
    ax.tick_params(labelsize=12)
    with Image.open(save_figure(fig, tmp_path / "f.png")) as image:
        assert float(image.info[FONT_KEY]) == 7.0


def test_every_report_figure_keeps_text_readable_at_thumbnail_size(suite_report):
    """Text sizes of every PNG of the report (figures.MIN_FONT_PT = 9 px on the page)."""
    out = suite_report.parent
    pngs = [out / r["_dir"] / f for r in load_records(out) for f in r["figures"]]
    pngs += sorted((out / "report_figures").glob("*.png"))
    assert len(pngs) == 4 * 2 + 2 + 1 + 1 + 4  # task1 x4 cells, task2, task3, neural, charts
    for png in pngs:
        with Image.open(png) as image:
            assert float(image.info[FONT_KEY]) >= MIN_FONT_PT, png.name


def test_task_runs_draw_titled_figures_through_the_report(captured, tmp_path):
    """``task2`` and bench cells draw through ``report.task_figures`` (``plot_task2``), so an
    overlay of a run names its model, setting and data source; task 1 and 3 name theirs."""
    from mtneuro.report.task_figures import task1_figures, task2_figures, task3_figures
    from mtneuro.tasks.api import Result

    def result(task, setting, method, metrics, **artefacts):
        return Result(task=task, setting=setting, method=method, metrics=metrics, headline={},
                      config={"seeds": [0]}, source=task2_result("unet")["source"], card={},
                      artefacts=artefacts)

    seg = task2_result("unet")
    task2_figures(result("task2", "2d-4class", "unet", seg["metrics"],
                         examples=seg["examples"]), tmp_path)
    region = task1_result("pca", 0.5, 1)
    task1_figures(result("task1", "roi-c1", "pca", {k: v for k, v in region.items()
                                                    if k not in ("source", "setting", "method")}),
                  tmp_path)
    semantic = task3_result("pca")
    task3_figures(result("task3", "roi-c1", "pca", {k: v for k, v in semantic.items()
                                                    if k not in ("source", "scatter")},
                         scatter=semantic["scatter"]), tmp_path)
    titles = [_flat(fig._suptitle.get_text() if fig._suptitle else fig.axes[0].get_title())
              for fig in captured]
    assert all(w in titles[0] for w in ("unet", "2d 4-class", "phantom (synthetic volume)"))
    assert all("phantom (synthetic volume)" in t and "pca" in t for t in titles[2:])


def test_a_loss_term_equal_to_the_total_is_not_drawn_under_it(tmp_path, monkeypatch):
    """BYOL's ``byol_loss`` is its ``loss``: a legend entry for a curve no one can see."""
    from mtneuro.report import figures, plots_neural

    drawn = []
    monkeypatch.setattr(figures, "save_figure", lambda fig, path: drawn.append(fig) or path)
    monkeypatch.setattr(plots_neural, "save_figure", lambda fig, path: drawn.append(fig) or path)
    same = [{"step": 0, "loss": 1.0, "byol_loss": 1.0}, {"step": 5, "loss": 0.5, "byol_loss": 0.5}]
    plots_neural.plot_learning_curve(same, tmp_path / "a.png")
    mixed = [{"step": 0, "loss": 1.0, "byol_loss": 0.8}, {"step": 5, "loss": 0.5, "byol_loss": 0.4}]
    plots_neural.plot_learning_curve(mixed, tmp_path / "b.png")
    labels = [[t.get_text() for t in fig.axes[0].get_legend().get_texts()] for fig in drawn]
    assert labels == [["loss"], ["byol_loss", "loss"]]


def test_preview_box_names_stand_out_from_the_region_under_them(captured, tmp_path):
    """White on a black outline: drawn in the box's colour, a name vanished into its region's
    fill of the same hue."""
    from mtneuro.data.sources import open_source

    preview.render_preview(open_source("phantom"), tmp_path / "p.png")
    names = {t.get_text(): t for t in captured[0].axes[0].texts}
    for name in ("CTX", "STR", "VP", "ZI"):
        assert names[name].get_color() == "white" and names[name].get_path_effects(), name


def test_representation_axes_give_their_variance_and_an_absent_class_is_named(captured,
                                                                              tmp_path):
    from mtneuro.report import plots_neural

    # two features of variance 9 and 1 along the axes: PC 1 holds 90 %, PC 2 10 %
    features = np.array([[3.0, 0.0], [-3.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    plots_neural.plot_representation_2d(features, np.array([0, 0, 2, 2]), ["a", "b", "c"],
                                        tmp_path / "r.png")
    ax = captured[0].axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("PC 1 (90% of the variance)",
                                                 "PC 2 (10% of the variance)")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "a", "b (no test samples)", "c"]


def test_task3_scatter_marks_the_values_a_definition_sets(captured, tmp_path):
    """A crop with fewer than 2 cells has its distance set to 64 px: drawn apart and named,
    not read as an outlier of the measured ones."""
    from report_fixture import FEATURE_NAMES

    result = task3_result("pca")
    count = np.array([0, 1, 2, 3] * 10, dtype=float)
    result["scatter"]["true"][:, FEATURE_NAMES.index("cell_count")] = count
    plots_semantic.plot_task3_scatter(result, tmp_path / "s.png")
    axes = dict(zip(FEATURE_NAMES, captured[0].axes))
    hollow = axes["nn_distance"].collections[1]
    assert len(hollow.get_offsets()) == int((count < 2).sum()) == 20
    assert "set by definition (too few cells)" in [
        t.get_text() for t in axes["nn_distance"].get_legend().get_texts()]
    assert len(axes["vessel_fraction"].collections) == 1  # measured everywhere


def test_overlays_carry_the_previews_scale_bar_where_the_image_holds_it(captured, tmp_path):
    """The 50 µm bar (43 px) of the previews, on each row's image; none on a 24-px image,
    which it would overrun."""
    rng = np.random.default_rng(0)
    for side in (256, 24):
        truth = rng.integers(0, 4, size=(2, side, side)).astype(np.uint8)
        image = rng.integers(0, 255, size=(2, side, side)).astype(np.uint8)
        plots_segmentation.plot_overlays(image, truth, truth, ["background", "vessel",
                                         "cell", "axon"], tmp_path / f"{side}.png")
    for fig, bars in zip(captured, (True, False)):
        image_axes = [ax for ax in fig.axes if ax.get_subplotspec().colspan.start == 0]
        assert len(image_axes) == 2
        assert all(("50 µm" in [t.get_text() for t in ax.texts]) == bars for ax in image_axes)
