"""Task-3 probe end to end on synthetic tiles whose pixels show the labels."""

from __future__ import annotations

import numpy as np
import pytest

from mtneuro.data.sources.base import VolumeSource
from mtneuro.data.spec import SUBVOLUME_A
from mtneuro.errors import ConfigError
from mtneuro.report.plots_semantic import plot_task3_scatter
from mtneuro.tasks.semantic import FEATURE_NAMES, feature_matrix, semantic_features
from mtneuro.tasks.semantic_probe import Task3Data, run_task3
from mtneuro.tasks.semantic_task import TASK3
from mtneuro.tasks.volume import SplitData

VESSEL, CELL, AXON = 1, 2, 3


def task3_config(**values):
    """A validated ``Task3Config``, as the CLI builds it without a preset."""
    return TASK3.make_config(None, values)


def _data(n: int = 48, seed: int = 0) -> Task3Data:
    """Each quadrant has a random number of vessel rows and axon columns; the image is
    bright on vessels and dark on axons, so pixels linearly encode both fractions."""
    rng = np.random.default_rng(seed)
    labels = np.zeros((n, 256, 256), dtype=np.uint8)
    quads = [
        (slice(0, 128), slice(0, 128)),
        (slice(0, 128), slice(128, 256)),
        (slice(128, 256), slice(0, 128)),
        (slice(128, 256), slice(128, 256)),
    ]
    rows = rng.integers(0, 100, (n, 4))
    cols = rng.integers(0, 100, (n, 4))
    for i in range(n):
        for q, (ys, xs) in enumerate(quads):
            tile = labels[i, ys, xs]
            tile[: rows[i, q], :] = VESSEL
            tile[rows[i, q] :, : cols[i, q]] = AXON
            tile[-10:-6, -10:-6] = CELL
    image = np.where(labels == VESSEL, 200, np.where(labels == AXON, 40, 120)).astype(np.uint8)[
        :, None
    ]
    z = np.linspace(110, 469, n).astype(np.int64)
    features = feature_matrix(semantic_features(labels, 128, "2d"))
    return Task3Data(image, z, np.arange(n) % 4, features, "2d")


def test_pca_readout_recovers_fractions_on_held_out_tiles(tmp_path):
    config = task3_config(method="pca", seeds=[0], n_components=16, pixel_input_size=32, cv=3)
    result = run_task3(config, _data())
    assert result["r2_test"]["vessel_fraction"]["mean"] > 0.95
    assert result["r2_test"]["axon_fraction"]["mean"] > 0.95
    assert result["r2_in_sample_reference"]["vessel_fraction"]["mean"] > 0.95
    # the test crops are those of slices [420, 470); every other crop is train / val / gap
    assert result["n_crops"]["test"] == 4 * int(((_data().z >= 420) & (_data().z < 470)).sum())
    assert result["scatter"]["true"].shape == (result["n_crops"]["test"], len(FEATURE_NAMES))
    # cell count is constant (one cell per crop): no variance, R^2 undefined
    assert np.isnan(result["r2_test"]["cell_count"]["mean"])
    png = plot_task3_scatter(result, tmp_path / "scatter.png")
    assert png.stat().st_size > 0


def test_features_carry_the_published_names_only_under_the_published_definitions():
    data = _data(24)
    exact = run_task3(task3_config(method="pca", seeds=[0], n_components=8, pixel_input_size=32,
                                   cv=3, reference_features=False), data)
    assert exact["features"] == ["vessel_fraction", "axon_fraction", "cell_count",
                                 "cell_size_exact", "nn_distance_exact"]
    assert "nn_distance" not in exact["r2_in_sample_reference"]
    published = run_task3(task3_config(method="pca", seeds=[0], n_components=8,
                                       pixel_input_size=32, cv=3), data)
    assert published["features"] == list(FEATURE_NAMES)


def test_supervised_encoders_learn_the_region_tiles_they_are_given():
    """The ``supervised`` encoder is a region classifier trained on the task-1 splits passed
    in (here four brightness classes, which it separates), then probed on task 3's crops."""
    rng = np.random.default_rng(0)

    def split(n: int) -> SplitData:
        labels = np.arange(n) % 4
        tiles = 40 + 50 * labels[:, None, None, None] + rng.normal(0, 4, (n, 1, 32, 32))
        return SplitData(np.clip(tiles, 0, 255).astype(np.uint8), labels, np.arange(n))

    config = task3_config(method="supervised", quick=True, seeds=[0], input_size=16, cv=3)
    result = run_task3(config, _data(24), {"train": split(32), "val": split(16)})
    assert result["per_seed"][0]["task1_val_accuracy"] == 1.0
    assert set(result["r2_test"]) == set(FEATURE_NAMES)


def test_task3_config_errors():
    with pytest.raises(ConfigError, match="setting"):
        task3_config(setting="roi-c2")
    with pytest.raises(ConfigError, match="method encoder"):
        run_task3(task3_config(method="encoder"), _data(8))


def test_pixel_components_follow_the_preset():
    assert task3_config(method="nmf").preset("n_components") == 256
    assert task3_config(method="nmf", quick=True).preset("n_components") == 32
    assert task3_config(method="nmf", quick=True, n_components=8).preset("n_components") == 8
    with pytest.raises(ConfigError, match="n_components"):
        task3_config(method="nmf", n_components=0)


def test_quick_nmf_codes_of_unseen_crops_carry_the_axon_fraction():
    """Regression: quick NMF kept 256 factors of 544 phantom crops; they were near-duplicates,
    the codes of test crops were arbitrary and held-out axon R^2 was -0.16 (PCA: 0.86)."""
    result = run_task3(task3_config(method="nmf", quick=True, seeds=[0]))
    assert result["per_seed"][0]["n_components"] == 32
    assert result["r2_test"]["axon_fraction"]["mean"] > 0.8


class _ThreeCells(VolumeSource):
    """Labels 0 except three single-pixel cells at the top-left of every box A, in every
    slice: two 3 px apart in the top-left quadrant, one alone in the top-right quadrant."""

    name = "three-cells"

    def __init__(self):
        super().__init__((480, 1420, 5805))

    def _read(self, channel, z, y, x):
        out = np.zeros((z[1] - z[0], y[1] - y[0], x[1] - x[0]), dtype=np.uint8)
        if channel == "pixel_labels":
            for box in SUBVOLUME_A.values():
                y0, x0 = box.y[0], box.x[0]
                for dy, dx in ((10, 10), (10, 13), (10, 200)):
                    yy, xx = y0 + dy - y[0], x0 + dx - x[0]
                    if 0 <= yy < out.shape[1] and 0 <= xx < out.shape[2]:
                        out[:, yy, xx] = CELL
        return out


@pytest.mark.parametrize(("reference", "size", "distance"), [
    # published definitions (annots/features.py): the 0 self-distance averaged in -> 3 / 2,
    # and a crop with one cell has size 0 (features.py:51-53 skips it)
    (True, [1.0, 0.0], [1.5, 64.0]),
    # corrected definitions: the distance to the other cell, and the lone cell's area
    (False, [1.0, 1.0], [3.0, 64.0]),
])
def test_task3_features_follow_the_chosen_definitions(monkeypatch, reference, size, distance):
    from mtneuro.tasks import semantic_probe

    monkeypatch.setattr(semantic_probe, "open_source", lambda name, **kw: _ThreeCells())
    config = task3_config(method="pca", z_step=180, reference_features=reference)
    data, _ = semantic_probe.load_task3_data(config)
    names = list(FEATURE_NAMES)
    first_tile = data.features[:4]  # cortex, z = 110: quadrants TL, TR, BL, BR
    assert first_tile[:, names.index("cell_count")].tolist() == [2, 1, 0, 0]
    assert first_tile[:2, names.index("cell_size")].tolist() == size
    assert first_tile[:2, names.index("nn_distance")].tolist() == distance


class _BridgedCells(VolumeSource):
    """Two 10 x 10 cells in the cortex box's last slice (z 469) and, in the striatum box's
    first slice (z 110), a bar under both: consecutive in the reference's concatenated stack."""

    name = "bridged-cells"

    def __init__(self):
        super().__init__((480, 1420, 5805))

    def _read(self, channel, z, y, x):
        out = np.zeros((z[1] - z[0], y[1] - y[0], x[1] - x[0]), dtype=np.uint8)
        if channel != "pixel_labels":
            return out
        for region, slice_z, rows, columns in (("cortex", 469, [(10, 20)], [(10, 20), (40, 50)]),
                                               ("striatum", 110, [(12, 18)], [(10, 50)])):
            if not z[0] <= slice_z < z[1]:
                continue
            box = SUBVOLUME_A[region]
            for (r0, r1) in rows:
                for (c0, c1) in columns:
                    out[slice_z - z[0], box.y[0] + r0 - y[0]: box.y[0] + r1 - y[0],
                        box.x[0] + c0 - x[0]: box.x[0] + c1 - x[0]] = CELL
        return out


@pytest.mark.parametrize(("reference", "count"), [(True, 1), (False, 2)])
def test_reference_cells_are_labelled_across_the_concatenated_region_stacks(
        monkeypatch, reference, count):
    # scripts/task3_main.py:61-76 concatenates the four regions along z before labelling, so
    # the striatum bar joins the two cortex cells into one; the corrected features do not.
    from mtneuro.tasks import semantic_probe

    monkeypatch.setattr(semantic_probe, "open_source", lambda name, **kw: _BridgedCells())
    config = task3_config(method="pca", z_step=359, connectivity="3d",
                          reference_features=reference)
    data, _ = semantic_probe.load_task3_data(config)
    assert data.z[:2].tolist() == [110, 469]
    cortex_last_top_left = data.features[4, list(FEATURE_NAMES).index("cell_count")]
    assert cortex_last_top_left == count


def test_paper_suite_task3_cells_use_the_published_feature_definitions():
    from mtneuro.bench.cell import cell_config
    from mtneuro.bench.suite import expand, load_suite
    from mtneuro.tasks.registry import get_task

    cells = [c for c in expand(load_suite("paper")) if c.task == "task3"]
    assert cells and all(cell_config(get_task("task3"), c).reference_features for c in cells)


def test_paper_task3_sizes_are_the_reference_table():
    # MTNeuro/MTNeuro: taskconfig/task3.json:7 zrange [110, 470], every slice;
    # annots/features.py:16-20 cc3d connectivity 6 over the stack, :22-35 128-px quadrants;
    # self_supervised/data/datasets/brain_dataset.py:22 tresize=64 (encoders, 32-px crops);
    # annots/latents.py:50 tresize=128 (PCA / NMF, 64-px crops), :57,63 256 components
    config = task3_config(method="pca")
    assert (config.preset("z_step"), config.connectivity or "3d") == (1, "3d")
    assert (config.input_size, config.pixel_input_size) == (64, 128)
    assert config.preset("n_components") == 256 and config.reference_features


def test_nmf_iterations_are_the_references_in_full_and_listed_in_the_quick_card():
    from mtneuro.tasks.protocol import task3_card

    def listed(config):
        return [d for d in task3_card(config)["deviations"] if d.startswith("NMF iterations")]

    full = task3_config(method="nmf")
    assert full.preset("nmf_max_iter") == 200 and listed(full) == []  # annots/latents.py:63
    assert listed(task3_config(method="nmf", quick=True)) == [
        "NMF iterations 100 (reference 200, annots/latents.py:63, scikit-learn's default)"]


def test_the_prediction_rows_give_back_each_features_r2():
    """predictions.csv's columns of a feature: the R² of the run."""
    from sklearn.metrics import r2_score

    config = task3_config(method="pca", seeds=[0], n_components=16, pixel_input_size=32, cv=3)
    data = _data()
    out = run_task3(config, data)
    rows = out["predictions"]
    assert len(rows["seed"]) == out["n_crops"]["test"]
    assert set(rows["z"].tolist()) == set(data.z[(data.z >= 420) & (data.z < 470)].tolist())
    for name in out["features"]:
        true, expected = rows[f"true_{name}"], out["per_seed"][0]["r2_test"][name]
        if np.ptp(true) == 0:  # R² of a constant truth is undefined: the run says NaN
            assert np.isnan(expected)
            continue
        assert r2_score(true, rows[f"predicted_{name}"]) == pytest.approx(expected, abs=1e-9)


def test_a_frozen_encoders_seeds_share_one_extraction(monkeypatch):
    """An in-memory encoder's weights are the same for every seed: its crops are embedded once
    (tests/tasks_region/test_feature_reuse.py has the rule and task 1's side)."""
    import torch

    from mtneuro.tasks import semantic_probe

    class Mean(torch.nn.Module):
        out_dim = 1
        input_spec = {"spatial_dims": 2, "in_channels": 1}  # noqa: RUF012 - read, not changed

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.flatten(1).mean(1, keepdim=True)

    calls = []
    real = semantic_probe.extract_features

    def counted(encoder, crops, **kwargs):
        calls.append(len(crops))
        return real(encoder, crops, **kwargs)

    monkeypatch.setattr(semantic_probe, "extract_features", counted)
    data = _data(16)
    out = run_task3(task3_config(method="encoder", seeds=[0, 1, 2], input_size=32, cv=2), data,
                    encoder=Mean())
    assert calls == [4 * 16]  # every quadrant crop, once
    rows = [row["r2_test"] for row in out["per_seed"]]
    np.testing.assert_equal(rows[1], rows[0])  # NaN (a constant feature) counts as equal
    np.testing.assert_equal(rows[2], rows[0])
