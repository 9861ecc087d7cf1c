"""Known answers for the task-1 pipeline around the models (mutation audit of
mtneuro.tasks.region, region_protocol, region_config, volume, tile_inputs and scores): what
a run aggregates over seeds and records, what the probe head is trained with, every recipe
value a config sets, the protocol card's sentences, the bad-value messages, which tiles a
split read and the pre-training takes, and the edge cases of resizing and cropping."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, ClassVar

import numpy as np
import pytest
import torch

from mtneuro.errors import ConfigError, DataError
from mtneuro.tasks import region, volume
from mtneuro.tasks.region import run_task1
from mtneuro.tasks.region_protocol import resolve_recipe, task1_card
from mtneuro.tasks.region_task import TASK1
from mtneuro.tasks.scores import classification_metrics
from mtneuro.tasks.tile_inputs import corner_crops, quadrant_crops, resize_tiles
from mtneuro.tasks.volume import SplitData, pretraining_tiles, ssl_training_tiles


def _config(**values: Any) -> Any:
    return TASK1.make_config(None, values)


def _splits(side: int = 32, depth: int | None = None) -> dict[str, SplitData]:
    """8 / 4 / 4 tiles (different counts, so splits cannot be confused), labels cycling 0-3."""
    rng = np.random.default_rng(0)
    out = {}
    for split, n in (("train", 8), ("val", 4), ("test", 4)):
        shape = (n, 1, side, side) if depth is None else (n, 1, depth, side, side)
        images = rng.integers(0, 256, shape, dtype=np.uint8)
        out[split] = SplitData(images, np.arange(n) % 4, np.arange(n))
    return out


# -- aggregation over seeds (region._run_on_device) -------------------------------------------
@pytest.fixture
def seed_rows(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """Replaces each seed's training and scoring by a known row: seed s scores accuracy
    0.5 + 0.25 s and a confusion of (s + 1) on the diagonal; records the spatial dims."""
    calls: list[dict] = []
    per_class = [[1.0, 0.0, 0.5, 0.5], [0.0, 1.0, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5]]

    def fake(config, recipe, inputs, seed, spatial_dims, frozen):
        calls.append({"seed": seed, "spatial_dims": spatial_dims})
        return {"seed": seed, "accuracy": 0.5 + 0.25 * seed, "per_class_accuracy": per_class[seed],
                "confusion": (np.eye(4, dtype=int) * (seed + 1)).tolist(), "intervals": {}
                }, inputs.test_y

    monkeypatch.setattr(region, "_run_seed", fake)
    return calls


def test_accuracy_per_class_and_confusion_are_taken_over_every_seed(seed_rows):
    result = run_task1(_config(method="supervised", seeds=[0, 1, 2]), _splits())
    assert [c["seed"] for c in seed_rows] == [0, 1, 2]
    assert result["accuracy"] == {"mean": pytest.approx(0.75), "std": pytest.approx(0.25), "n": 3}
    assert result["per_class_accuracy"]["mean"] == pytest.approx([0.5, 0.5, 0.5, 0.5])
    assert result["per_class_accuracy"]["std"][0] == pytest.approx(0.5)  # std of 1, 0, 0.5
    assert np.array_equal(result["confusion"], np.eye(4) * 6)  # 1 + 2 + 3 on the diagonal
    # tiles read per split, and scored test images: whole tiles in the paper supervised recipe
    assert result["n_tiles"] == {"train": 8, "val": 4, "test": 4} and result["n_test"] == 4


@pytest.mark.parametrize("preset, method, backbone, z_step", [
    (None, "supervised", "resnet18", 1), (None, "supervised-mixup", "resnet18", 1),
    ("quick", "supervised-mixup", "resnet-tiny", 8), (None, "pca", None, 1)])
def test_the_recorded_recipe_names_the_resolved_backbone_and_slice_step(seed_rows, preset, method,
                                                                        backbone, z_step):
    # backbone and z_step unset: the record shows the preset's value, not None
    config = TASK1.make_config(preset, {"method": method, "seeds": [0]})
    recipe = run_task1(config, _splits())["recipe"]
    assert (recipe["backbone"], recipe["z_step"]) == (backbone, z_step)


@pytest.mark.parametrize("dim, depth, spatial_dims", [("2d", None, 2), ("3d", 8, 3)])
def test_3d_blocks_are_trained_by_3d_networks(seed_rows, dim, depth, spatial_dims):
    run_task1(_config(method="supervised", dim=dim, seeds=[0]), _splits(16, depth))
    assert seed_rows == [{"seed": 0, "spatial_dims": spatial_dims}]


# -- the paper probe's head settings (region._encoder_readout) --------------------------------
class _MeanEncoder(torch.nn.Module):
    out_dim = 1
    input_spec: ClassVar[dict] = {"spatial_dims": 2, "in_channels": 1}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1).mean(1, keepdim=True)


@pytest.mark.parametrize("probe_inputs, crop, normalise, train_mode", [
    ("as-released", None, False, True), ("random-crops", 16, True, False)])
def test_the_paper_head_trains_as_its_probe_inputs_say(monkeypatch, probe_inputs, crop, normalise,
                                                       train_mode):
    seen: dict[str, Any] = {}

    def train(encoder, n_classes, x, y, settings, *, seed, **norm):
        seen.update(settings=settings, n_train=len(x), train_side=x.shape[-1])

    def predict(encoder, head, x, settings, **norm):
        seen["n_test"], seen["test_side"] = len(x), x.shape[-1]
        return np.arange(len(x)) % 4

    monkeypatch.setattr(region, "train_linear_head", train)
    monkeypatch.setattr(region, "predict_with_head", predict)
    config = _config(method="encoder", seeds=[0], crop=16, probe_inputs=probe_inputs,
                     batch_size=4, lr=0.5, head_epochs=3)
    run_task1(config, _splits(), encoder=_MeanEncoder())
    s = seen["settings"]
    assert (s.crop, s.normalise, s.encoder_train_mode) == (crop, normalise, train_mode)
    assert (s.optimizer, s.lr, s.epochs, s.batch_size) == ("sgd", 0.5, 3, 4)
    # whole 32-px training tiles; the four 16-px corners of each of the 4 test tiles
    assert (seen["n_train"], seen["train_side"], seen["n_test"], seen["test_side"]) == (
        8, 32, 16, 16)


def test_val_accuracy_is_recorded_only_when_the_probe_chose_among_several_c():
    data = _splits(16)
    one = run_task1(_config(method="pca", seeds=[0], protocol="resized", input_size=8,
                            n_components=2, probe_cs=[1.0]), data)
    two = run_task1(_config(method="pca", seeds=[0], protocol="resized", input_size=8,
                            n_components=2, probe_cs=[0.1, 1.0]), data)
    assert one["per_seed"][0]["val_accuracy"] is None
    assert 0.0 <= two["per_seed"][0]["val_accuracy"] <= 1.0


# -- recipes (region_protocol) ----------------------------------------------------------------
def _recipe(**values: Any) -> dict[str, Any]:
    return resolve_recipe(_config(**values)).to_dict()


def test_paper_pixel_baselines_crop_quadrants_of_tiles_resized_to_128_or_the_given_side():
    recipe = _recipe(method="pca")
    assert (recipe["train_input"], recipe["test_input"], recipe["input_size"]) == (
        "quadrants", "quadrants", 128)
    assert _recipe(method="nmf", input_size=64)["input_size"] == 64


def test_paper_head_values_come_from_their_own_keys():
    # head_epochs sets the head's epochs (epochs is the supervised classifier's)
    assert _recipe(method="byol", epochs=5)["epochs"] == 100
    recipe = _recipe(method="byol", head_epochs=3, batch_size=4, lr=0.1)
    assert (recipe["epochs"], recipe["batch_size"], recipe["lr"]) == (3, 4, 0.1)


@pytest.mark.parametrize("quick, epochs", [(True, 8), (False, 30)])
def test_resized_supervised_recipe(quick, epochs):
    recipe = _recipe(method="supervised", protocol="resized", quick=quick)
    assert {k: recipe[k] for k in ("train_input", "test_input", "input_size", "epochs", "lr",
                                   "batch_size", "momentum", "weight_decay", "schedule",
                                   "augment", "select_best", "recalibrate_bn")} == {
        "train_input": "resized", "test_input": "quadrants", "input_size": 64, "epochs": epochs,
        "lr": 0.05, "batch_size": 32, "momentum": 0.9, "weight_decay": 5e-4,
        "schedule": "cosine", "augment": True, "select_best": True, "recalibrate_bn": True}
    assert _recipe(method="supervised", protocol="resized", lr=0.2, epochs=3)["lr"] == 0.2


def test_resized_pixel_baselines_without_test_crops_train_on_whole_resized_tiles():
    recipe = _recipe(method="pca", protocol="resized", test_crops="none")
    assert (recipe["train_input"], recipe["test_input"]) == ("resized", "resized")
    recipe = _recipe(method="pca", protocol="resized")
    assert (recipe["train_input"], recipe["test_input"]) == ("quadrants", "quadrants")


# -- protocol card (region_protocol.task1_card) -----------------------------------------------
def _deviations(**values: Any) -> list[str]:
    return task1_card(_config(source="bossdb", **values))["deviations"]


def test_the_card_names_each_supervised_departure_with_its_reference():
    assert _deviations(method="supervised", momentum=0.5) == [
        "SGD momentum 0.5 (reference 0.0, scripts/task1_sup.py:87)"]
    assert _deviations(method="supervised", backbone="resnet-tiny") == [
        "backbone resnet-tiny (reference resnet18, SUP_ResNet-18_2D.json:12)"]
    mixup = _deviations(method="supervised-mixup")
    assert len(mixup) == 1
    assert mixup[0].startswith("no mixup script was released: mixup (alpha 0.2)")


def test_the_card_names_pixel_components_head_lr_3d_and_a_user_encoder():
    pca = _deviations(method="pca", n_components=64)
    assert pca[1:] == ["components 64 (reference 256, annots/latents.py:58)"]
    byol = _deviations(method="byol", encoder="x.pt", lr=0.1)
    assert "head lr 0.1 (reference 0.01, SSL_BYOL_ResNet-18_2D.json:35-40)" in byol
    assert not any("user encoder" in d for d in byol)
    assert _deviations(method="encoder", encoder="x.pt")[-1] == (
        "a user encoder: no published row to compare with")
    three_d = _deviations(method="supervised", dim="3d")
    assert len(three_d) == 1 and three_d[0].startswith("3D blocks: the released task-1 scripts")


# -- bad values are named with what was expected (region_config, volume) ----------------------
@pytest.mark.parametrize("values, message", [
    ({"crop": 0}, "crop: expected int > 0, got 0"),
    ({"mixup_alpha": 0.0}, "mixup_alpha: expected float > 0, got 0.0"),
    ({"weight_decay": -0.5}, "weight_decay: expected float >= 0, got -0.5"),
    ({"probe_cs": []}, "probe_cs: expected a non-empty list of floats > 0, got []"),
    ({"n_components": 0}, "n_components: expected int > 0, got 0"),
    ({"input_size": 7}, "input_size: expected even int >= 4, got 7"),
    ({"method": "pca", "pretrain": {"epochz": 1}},
     "pretrain.epochz: unknown key (did you mean 'pretrain.epochs'?)")])
def test_bad_task1_values_name_the_key_value_and_what_was_expected(values, message):
    with pytest.raises(ConfigError) as err:
        TASK1.make_config(None, values)
    assert str(err.value).startswith(message)


def test_preset_sizes_and_3d_ssl_runs_pretrain_nothing():
    quick, full = TASK1.make_config("quick"), TASK1.make_config(None)
    assert [quick.preset(k) for k in ("z_step", "backbone", "nmf_max_iter")] == [
        8, "resnet-tiny", 100]
    assert [full.preset(k) for k in ("z_step", "backbone", "nmf_max_iter")] == [1, "resnet18", 200]
    assert _config(method="byol", dim="3d").pretrain is None  # 3D: an encoder must be given
    assert _config(method="byol").pretrain is not None


# -- which tiles a split reads and pre-training takes (volume) --------------------------------
def test_each_split_is_read_once_at_the_tasks_slice_step(monkeypatch):
    reads: list[tuple] = []

    class _Dataset:
        def __init__(self, source, setting, split, dim, z_step):
            reads.append((setting, split, dim, z_step))
            n = {"train": 3, "val": 2, "test": 1}[split]
            self.images = np.zeros((n, 1, 4, 4), np.uint8)
            self.labels, self.z = np.arange(n) % 4, 100 + np.arange(n) * z_step

    for depth, single in ((720, False), (1, True)):
        source = SimpleNamespace(shape=(depth, 64, 64), describe=lambda: {"source": "fake"})
        monkeypatch.setattr(volume, "open_source", lambda name, _s=source, **params: _s)
        monkeypatch.setattr(volume, "RegionTileDataset", _Dataset)
        reads.clear()
        data, info = volume.load_region_splits("fake", {}, "roi-c2", "3d", 4)
        assert reads == [("roi-c2", s, "3d", 4) for s in ("train", "val", "test")]
        assert info == {"source": "fake"} and list(data) == ["train", "val", "test"]
        assert data["train"].z.tolist() == [100, 104, 108] and len(data["test"].labels) == 1
        assert all(d.single_slice is single for d in data.values())  # a one-slice source


def _train_tiles(setting: str, z_step: int) -> SplitData:
    """Training tiles as RegionTileDataset orders them (part by part, then region by region,
    in slice order), each image holding its slice index and region."""
    from mtneuro.data.spec import region_setting

    z, regions = [], []
    for part in region_setting(setting).parts("train"):
        starts = np.arange(part.z.start, part.z.stop)[::z_step]
        for r in range(4):
            z += starts.tolist()
            regions += [r] * len(starts)
    z_arr, r_arr = np.asarray(z), np.asarray(regions)
    return SplitData((z_arr * 10 + r_arr)[:, None, None, None], r_arr, z_arr)


@pytest.mark.parametrize("setting", ["roi-c1", "roi-c3"])
def test_pretraining_takes_the_tiles_a_read_at_its_own_step_would_give(setting):
    # roi-c1: one training part [110, 379); roi-c3: two parts, each cut region by region
    got = pretraining_tiles(_train_tiles(setting, 2), setting, 2, 6)
    want = _train_tiles(setting, 6).images
    assert np.array_equal(got, want)
    one = SplitData(np.arange(5)[:, None, None, None], np.zeros(5), np.zeros(5), single_slice=True)
    assert np.array_equal(pretraining_tiles(one, setting, 2, 6), one.images)  # slice ignored


def test_pretraining_tiles_refuse_an_unread_step_or_a_wrong_tile_count():
    train = _train_tiles("roi-c1", 2)  # 4 regions x 135 slices
    with pytest.raises(ConfigError, match=r"pretrain.z_step: expected a multiple of the task's "
                                          r"z_step 2 .*got 3"):
        pretraining_tiles(train, "roi-c1", 2, 3)
    short = SplitData(train.images[:-1], train.labels[:-1], train.z[:-1])
    with pytest.raises(ConfigError, match="expected 540 training tiles of roi-c1, got 539"):
        pretraining_tiles(short, "roi-c1", 2, 4)


def test_ssl_tiles_come_from_the_tasks_tiles_when_they_hold_them_else_one_read(monkeypatch):
    reads: list[int] = []

    def read(source, params, setting, dim, step, splits):
        reads.append(step)
        return {"train": SplitData(np.zeros((7, 1, 1, 1)), np.zeros(7), np.zeros(7))}, {}

    monkeypatch.setattr(volume, "load_region_splits", read)
    config = _config(method="byol", z_step=2, pretrain={"z_step": 6})
    assert len(ssl_training_tiles(config, _train_tiles("roi-c1", 2))) == 4 * 45 and reads == []
    config = _config(method="byol", z_step=4, pretrain={"z_step": 6})
    assert len(ssl_training_tiles(config, _train_tiles("roi-c1", 4))) == 7 and reads == [6]


# -- resizing and cropping edge cases (tile_inputs) -------------------------------------------
def test_resize_refuses_a_side_below_two_and_anything_but_one_channel():
    with pytest.raises(ConfigError, match=r"^input_size: expected int >= 2, got 1$"):
        resize_tiles(np.zeros((1, 1, 4, 4), np.uint8), 1)
    with pytest.raises(DataError, match=r"expected \(N, 1, H, W\) or \(N, 1, D, H, W\), got "
                                        r"\(1, 3, 4, 4\)"):
        resize_tiles(np.zeros((1, 3, 4, 4), np.uint8), 2)


def test_tiles_already_at_the_input_size_are_still_scaled_to_unit_floats():
    same = resize_tiles(np.full((2, 1, 8, 8), 51, np.uint8), 8)
    assert same.dtype == torch.float32 and torch.allclose(same, torch.full_like(same, 0.2))


def test_quadrants_need_an_even_side_and_a_corner_crop_may_be_the_whole_tile():
    with pytest.raises(DataError, match=r"square tiles of even side, got \(5, 5\)"):
        quadrant_crops(torch.zeros(1, 1, 5, 5))
    tiles = torch.arange(2 * 9).reshape(2, 1, 3, 3)
    crops, labels = corner_crops(tiles, 3, np.array([1, 2]))
    assert torch.equal(crops, tiles.repeat_interleave(4, dim=0))
    assert labels.tolist() == [1] * 4 + [2] * 4
    with pytest.raises(DataError, match=r"corner crops of 4 px need tiles at least that large"):
        corner_crops(tiles, 4)


# -- scores -----------------------------------------------------------------------------------
def test_a_region_absent_from_the_test_set_has_no_accuracy_not_zero():
    scores = classification_metrics([0, 0, 1], [0, 1, 1], 3)
    assert scores["per_class_accuracy"][:2] == [0.5, 1.0]
    assert np.isnan(scores["per_class_accuracy"][2]) and scores["n_test"] == 3
    assert scores["confusion"] == [[1, 1, 0], [0, 1, 0], [0, 0, 0]]
