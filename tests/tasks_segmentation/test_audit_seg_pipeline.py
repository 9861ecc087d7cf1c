"""Task-2 pipeline on cases whose answers are known (mutation audit): training batches, config
checks and presets, what a run records (tiles, classes, examples, summary), the protocol card.

Runs here train nothing: the network is a per-class scale of the image and training is
stubbed out, so a run costs the reading of a few GridSource tiles (labels ``(y + x) mod 4``).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from grid_source import GridSource
from scale_net import ScaleNet
from torch import nn

from mtneuro.errors import ConfigError
from mtneuro.tasks.segmentation.batches import CropBatches
from mtneuro.tasks.segmentation.config import block_depth, task2_config
from mtneuro.tasks.segmentation.protocol import task2_card
from mtneuro.tasks.segmentation.task import cell_fields

TILE = 256 * 256


# ---------------------------------------------------------------- batches
def _position_tiles(n: int, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Image pixels hold their column, mask pixels their row: a crop's top-left says where
    it was cut."""
    cols = np.broadcast_to(np.arange(width, dtype=np.uint8), (n, 1, height, width)).copy()
    rows = np.broadcast_to(np.arange(height)[:, None], (n, height, width)).copy()
    return cols, rows


def test_mismatched_masks_and_empty_splits_are_refused_naming_the_shapes():
    images, masks = _position_tiles(2, 8, 8)
    with pytest.raises(ConfigError, match=r"images \(2, 1, 8, 8\) and masks \(2, 8, 9\)"):
        CropBatches(images, np.zeros((2, 8, 9), int), batch_size=1, crop=4)
    with pytest.raises(ConfigError, match="^no training tiles$"):
        CropBatches(images[:0], masks[:0], batch_size=1, crop=4)


def test_a_crop_must_fit_the_shorter_side():
    images, masks = _position_tiles(2, 8, 16)
    with pytest.raises(ConfigError, match=r"^crop: expected int in \[1, 8\], got 12$"):
        CropBatches(images, masks, batch_size=1, crop=12)


def test_a_batch_of_every_tile_is_not_warned_about():
    images, masks = _position_tiles(4, 8, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        batches = CropBatches(images, masks, batch_size=4, crop=8)
    assert [len(x) for x, _ in batches.epoch(0)] == [4]


def test_steps_per_epoch_without_drop_last_gives_full_batches():
    # 3 steps of 2 from 4 tiles: the pass wraps into a second permutation
    images, masks = _position_tiles(4, 8, 8)
    batches = CropBatches(images, masks, batch_size=2, crop=8, steps_per_epoch=3,
                          drop_last=False, augment=False)
    assert [len(x) for x, _ in batches.epoch(0)] == [2, 2, 2]


def test_drop_last_counts_whole_batches_only():
    images, masks = _position_tiles(10, 8, 8)
    batches = CropBatches(images, masks, batch_size=4, crop=8, augment=False)
    assert len(batches) == 2 and [len(x) for x, _ in batches.epoch(0)] == [4, 4]


def test_random_crops_reach_every_offset_of_a_non_square_tile():
    # 4 x 12 tiles, 3-px crops: rows 0..1 and columns 0..9 can start a crop
    images, masks = _position_tiles(8, 4, 12)
    batches = CropBatches(images, masks, batch_size=8, crop=3, augment=False,
                          steps_per_epoch=20)
    ys, xs = set(), set()
    for image, mask in batches.epoch(0):
        assert image.shape == (8, 1, 3, 3)
        xs.update((image[:, 0, 0, 0] * 255).round().int().tolist())
        ys.update(mask[:, 0, 0].tolist())
    assert ys == {0, 1} and xs == set(range(10))


# ---------------------------------------------------------------- config
def test_class_weights_are_checked_by_value_and_by_count():
    assert task2_config(None, train={"class_weights": [0.0, 1.0, 1.0, 2.0]}).train.class_weights \
        == (0.0, 1.0, 1.0, 2.0)  # a zero weight ignores a class
    with pytest.raises(ConfigError, match=r"train\.class_weights.*non-negative weights"):
        task2_config(None, train={"class_weights": [0.0, 0.0, 0.0, 0.0]})
    with pytest.raises(ConfigError, match=r"^train\.class_weights: expected 3 weights, one per "
                                          r"class, got 4$"):
        task2_config(None, classes=3, train={"class_weights": [1.0, 1.0, 1.0, 1.0]})
    with pytest.raises(ConfigError, match=r"expected 4 weights, one per class, got 3$"):
        task2_config(None, classes=4, train={"class_weights": [1.0, 1.0, 1.0]})


def test_momentum_of_one_is_refused():
    with pytest.raises(ConfigError, match=r"train\.momentum.*\[0, 1\)"):
        task2_config(None, train={"optimizer": "sgd", "momentum": 1.0})


def test_no_examples_is_a_valid_choice():
    assert task2_config(None, examples_per_region=0).examples_per_region == 0


def test_quick_presets_are_the_documented_values():
    # config.py docstring: 2D every 4th training / 5th test slice, 8 x 25 steps of 8
    # 128-px crops; 3D every 2nd training slice, every test slice, 6 passes of 4 64-px crops
    q2 = task2_config("quick", model="unet")
    assert (q2.train_z_step, q2.test_z_step, q2.window) == (4, 5, 256)
    assert (q2.train.epochs, q2.train.steps_per_epoch, q2.train.batch_size, q2.train.crop) == (
        8, 25, 8, 128)
    q3 = task2_config("quick", model="unet3d")
    assert (q3.train_z_step, q3.test_z_step, q3.window) == (2, 1, 128)
    assert (q3.train.epochs, q3.train.steps_per_epoch, q3.train.batch_size, q3.train.crop) == (
        6, None, 4, 64)


def test_a_block_may_span_the_whole_test_range():
    # highresnet takes any depth: the limit is the 50 slices of the test range
    assert block_depth(task2_config("paper", model="highresnet", depth=50)) == 50
    assert block_depth(task2_config("paper", model="highresnet")) == 8
    assert block_depth(task2_config("paper", model="unet")) == 1
    with pytest.raises(ConfigError, match=r"^depth: expected at most 50 slices .* got 51$"):
        task2_config("paper", model="highresnet", depth=51)


def test_bench_cells_take_the_settings_classes_and_refuse_others():
    assert cell_fields("3d-3class", "unet3d", 4) == {"model": "unet3d", "classes": 3,
                                                     "dim": "3d", "seeds": [4]}
    with pytest.raises(ConfigError, match=r"^task2 setting: expected one of .*, got '2d-5class'$"):
        cell_fields("2d-5class", "unet", 0)


# ---------------------------------------------------------------- run
def _run_module() -> Any:
    """The run module: its inference imports MONAI (the seg extra) when it is imported."""
    pytest.importorskip("monai", reason="needs mtneuro[seg]")
    from mtneuro.tasks.segmentation import run

    return run


TINY: dict[str, Any] = {"model": "unet", "train_z_step": 100, "test_z_step": 25, "window": 256,
                        "overlap": 0.5, "eval_batch_size": 8, "examples_per_region": 2,
                        "train": {"epochs": 1, "crop": 32, "batch_size": 2, "steps_per_epoch": 1}}


@pytest.fixture
def untrained(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Runs with the scale net, no training, and what inference was given and returned."""
    run_module = _run_module()
    monkeypatch.setattr(run_module, "create_segmentation_model",
                        lambda name, classes, dim, **kw: ScaleNet(classes))
    monkeypatch.setattr(run_module, "train_segmentation", lambda *a, **kw: {"steps": 0})
    monkeypatch.setattr(run_module, "open_source", lambda name, **kw: GridSource())
    seen: dict[str, Any] = {}
    real = run_module.evaluate_tiles

    def evaluate(model, images, masks, *args, **kwargs):
        scores, predictions = real(model, images, masks, *args, **kwargs)
        seen.update(masks=masks, predictions=predictions, kwargs=kwargs)
        return scores, predictions

    monkeypatch.setattr(run_module, "evaluate_tiles", evaluate)
    return seen


@pytest.mark.parametrize(("classes", "regions", "rows"), [
    # labels (y + x) mod 4 give each label a quarter of a tile; 3 classes: axons -> background
    (3, 4, [2, 1, 1]),
    (4, 3, [1, 1, 1, 1]),
])
def test_a_run_reads_the_split_tiles_merges_axons_for_three_classes_and_shows_examples(
        untrained, classes, regions, rows):
    run_module = _run_module()
    config = task2_config(None, classes=classes, **TINY)
    out = run_module.run_task2(config, source=GridSource(), quiet=True)
    m = out["metrics"]
    # train [110, 379) every 100th slice: 3 per region; test [420, 470) every 25th: 2
    assert (m["n_train_tiles"], m["n_test_tiles"]) == (3 * regions, 2 * regions)
    assert m["train_tile_shape"] == [1, 256, 256] and m["window"] == [256, 256]
    cm = np.array(m["per_seed"][0]["scores"]["confusion_matrix"])
    assert cm.sum(axis=1).tolist() == [r * 2 * regions * TILE // 4 for r in rows]
    assert untrained["masks"].max() == classes - 1
    assert (untrained["kwargs"]["overlap"], untrained["kwargs"]["batch_size"]) == (0.5, 8)
    # overlays: the first and last test tile of each region (2 a region here: all of them)
    ex = out["examples"]
    assert ex["region"].tolist() == np.repeat(np.arange(regions), 2).tolist()
    np.testing.assert_array_equal(ex["truth"], untrained["masks"])
    np.testing.assert_array_equal(ex["prediction"], untrained["predictions"])
    assert not np.array_equal(ex["truth"], ex["prediction"])  # the scale net is no oracle


def test_example_tiles_are_spread_evenly_over_a_region():
    run_module = _run_module()
    region = np.array([0, 0, 0, 0, 0, 1, 1, 1])
    assert run_module._example_indices(region, 2).tolist() == [0, 4, 5, 7]
    # 4 of 5 tiles: positions 0, 4/3, 8/3, 4 round to 0, 1, 3, 4
    assert run_module._example_indices(region, 4).tolist() == [0, 1, 3, 4, 5, 6, 7]
    assert run_module._example_indices(region, 0).tolist() == []
    # tiles whose shown slice is unscored are passed over, unless a region has no other
    shown = np.array([1, 1, 1, 1, 0, 0, 0, 0], dtype=bool)
    assert run_module._example_indices(region, 2, shown).tolist() == [0, 3, 5, 7]


def test_summary_is_mean_and_sample_std_of_every_score():
    run_module = _run_module()
    names = ("a", "b")

    def scores(x: float) -> dict[str, Any]:
        flat = {k: x for k in ("avg_f1", "avg_iou", "avg_iou_pooled", "balanced_accuracy",
                               "pixel_accuracy")}
        return {**flat, **{k: {"a": x, "b": 2 * x} for k in ("f1", "iou", "iou_pooled",
                                                             "recall")}}

    summary = run_module._summary([{"scores": scores(0.2)}, {"scores": scores(0.4)}], names)
    std = float(np.std([0.2, 0.4], ddof=1))
    for key in ("avg_f1", "avg_iou", "avg_iou_pooled", "balanced_accuracy", "pixel_accuracy"):
        assert summary[key]["mean"] == pytest.approx(0.3) and summary[key]["std"] == \
            pytest.approx(std), key
    for key in ("f1", "iou", "iou_pooled", "recall"):
        assert summary[key]["b"]["mean"] == pytest.approx(0.6), key


def test_the_task_contract_names_the_setting_by_dim_and_classes(untrained):
    run_module = _run_module()
    result = run_module.run(task2_config(None, classes=3, **TINY))
    assert (result.setting, result.method) == ("2d-3class", "unet")
    assert "f1_axon" not in result.headline and "iou_cell" in result.headline


def test_an_encoder_module_for_an_smp_model_is_refused():
    run_module = _run_module()
    with pytest.raises(ConfigError, match=r"^--encoder applies to model 'ssl-unet', not 'unet'$"):
        run_module.run_task2(task2_config(None, **TINY), source=GridSource(),
                             encoder=nn.Identity())


def test_a_checkpoint_of_other_training_slices_is_not_resumed(monkeypatch, tmp_path):
    run_module = _run_module()
    monkeypatch.setattr(run_module, "create_segmentation_model",
                        lambda name, classes, dim, **kw: ScaleNet(classes))
    small = {**TINY, "test_z_step": 50}
    run_module.run_task2(task2_config(None, **small), source=GridSource(),
                         checkpoint_dir=tmp_path, quiet=True)
    other = task2_config(None, **{**small, "train_z_step": 134})  # also 3 slices a region
    with pytest.raises(ConfigError, match="--resume: checkpoint .* different run"):
        run_module.run_task2(other, source=GridSource(), checkpoint_dir=tmp_path, resume=True,
                             quiet=True)


# ---------------------------------------------------------------- protocol card
def test_quick_card_lists_what_differs_and_nothing_adamw_lacks():
    deviations = task2_card(task2_config("quick", model="unet", source="bossdb"))["deviations"]
    assert not any("momentum" in d for d in deviations)  # AdamW has none to compare
    assert "every n-th test slice, n = 5 (reference 1, task2_*.json:20, all slices)" in deviations
    assert "every n-th training slice, n = 4 (reference 1, task2_*.json:18, all slices)" \
        in deviations
    assert not any(d.startswith("sliding-window") for d in deviations)  # 256-px windows


def test_paper_card_of_a_released_configuration_lists_only_the_network():
    card = task2_card(task2_config("paper", model="fpn", source="bossdb",
                                   encoder_weights="imagenet"))
    assert card["deviations"] == [("fpn: no network config was released for it; trained as the "
                                   "UNet_2D configs (smp via scripts/task2_main.py:80-141)")]


def test_local_encoder_weights_are_a_deviation_from_imagenet(tmp_path):
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"x")
    card = task2_card(task2_config("paper", model="fpn", source="bossdb",
                                   encoder_weights=str(weights)))
    assert any(d.startswith("local weights file instead of ImageNet weights")
               for d in card["deviations"])


def test_3d_card_gives_each_range_end_overlap():
    card = task2_card(task2_config("paper", model="unet3d", source="bossdb"))
    assert card["protocol"] == {"name": "task2-paper", "version": 2}
    (ends,) = [d for d in card["deviations"] if d.startswith("3D z ranges end")]
    # train [110, 379): 269 slices, 33 whole blocks, the 34th starts at 371 (3 slices shared)
    assert "train [110, 379): 34 blocks per region, the last overlapping the one before by 3 " \
           "slices" in ends


@pytest.mark.parametrize("preset", ["quick", "paper"])
def test_a_wrong_dim_with_a_preset_is_named_as_without_one(preset):
    # the preset's values are looked up by dim: a wrong dim used to escape as a bare KeyError
    with pytest.raises(ConfigError, match=r"^dim: expected one of '2d', '3d' or null, got '4d'$"):
        task2_config(preset, dim="4d")
