"""Known answers for what task 1 records beside its accuracy (mutation audit of
mtneuro.tasks.region and region_inputs): the probe's C chosen on validation, never on test;
the kept epoch's validation accuracy; each seed named; intervals shown only where seeds
agree on every number; and each scored crop mapped to the tile it was cut from."""

from __future__ import annotations

import warnings
from typing import ClassVar

import numpy as np
import pytest
import torch

from mtneuro.tasks import region
from mtneuro.tasks.probe import LinearProbe
from mtneuro.tasks.region import run_task1
from mtneuro.tasks.region_inputs import RegionInputs
from mtneuro.tasks.region_protocol import resolve_recipe
from mtneuro.tasks.region_task import TASK1
from mtneuro.tasks.volume import SplitData

N_VAL, N_TEST = 8, 16  # different sizes, so validation and test inputs cannot be confused


def _config(**values):
    return TASK1.make_config(None, {"protocol": "resized", "input_size": 16, **values})


def _splits() -> dict[str, SplitData]:
    """Tiles whose class sets the brightness: a linear readout separates them."""
    rng = np.random.default_rng(0)
    out = {}
    for split, n in (("train", 32), ("val", N_VAL), ("test", N_TEST)):
        labels = np.arange(n) % 4
        tiles = 50 + 50 * labels[:, None, None] + rng.normal(0, 3, (n, 32, 32))
        out[split] = SplitData(np.clip(tiles, 0, 255).astype(np.uint8)[:, None], labels,
                               np.arange(n))
    return out


class _MeanEncoder(torch.nn.Module):
    """Mean and std of each image: enough for a probe to tell the brightness classes apart."""

    out_dim = 2
    input_spec: ClassVar[dict] = {"spatial_dims": 2, "in_channels": 1, "size": 16}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.flatten(1)
        return torch.stack([flat.mean(1), flat.std(1)], dim=1)


@pytest.fixture
def probe_fits(monkeypatch) -> list[dict]:
    """Each LinearProbe.fit's validation labels; its scores and C then set to known values."""
    calls: list[dict] = []
    fit = LinearProbe.fit

    def spy(self, x, y, x_val=None, y_val=None, *args, **kwargs):
        calls.append({"n_val": len(x_val), "y_val": np.asarray(y_val).tolist()})
        fitted = fit(self, x, y, x_val, y_val, *args, **kwargs)
        fitted.scores_, fitted.C_ = np.array([0.25, np.nan, 0.75]), float(fitted.Cs[2])
        return fitted

    monkeypatch.setattr(LinearProbe, "fit", spy)
    return calls


@pytest.mark.parametrize("method", ["pca", "encoder"])
def test_the_probe_picks_c_on_the_validation_crops_and_records_that_choice(method, probe_fits):
    config = _config(method=method, seeds=[3], n_components=4, probe_cs=[0.1, 1.0, 10.0])
    encoder = _MeanEncoder() if method == "encoder" else None
    seed = run_task1(config, _splits(), encoder=encoder)["per_seed"][0]
    # validation tiles cut into their four quadrants, each with its tile's label
    val_crop_labels = np.repeat(np.arange(N_VAL) % 4, 4).tolist()
    assert probe_fits == [{"n_val": 4 * N_VAL, "y_val": val_crop_labels}]
    assert seed["seed"] == 3 and seed["C"] == 10.0 and seed["val_accuracy"] == 0.75
    # crops resampled by test tile: 16 tiles, not 64 crops
    assert seed["intervals"]["accuracy"]["n"] == N_TEST
    assert seed["intervals"]["accuracy"]["unit"] == "test tiles"
    assert set(seed["intervals"]) == {"accuracy", "per_class_accuracy"}
    assert len(seed["intervals"]["per_class_accuracy"]["low"]) == 4


def test_one_predicted_region_is_not_flagged_when_the_test_set_holds_only_that_region():
    # every test tile is CTX and predicted CTX: right, not a readout that sees nothing
    data = _splits()
    data["test"] = SplitData(data["train"].images[::4][:N_TEST], np.zeros(8, dtype=np.int64),
                             np.arange(8))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        result = run_task1(_config(method="encoder", seeds=[0]), data, encoder=_MeanEncoder())
    assert result["accuracy"]["mean"] == 1.0


class _Brightness(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([-(x.mean((1, 2, 3)) - c) ** 2 for c in (0.2, 0.4, 0.6, 0.8)], 1)


def test_supervised_records_the_kept_epochs_validation_accuracy(monkeypatch):
    seen = {}

    def train(encoder, n_classes, train, val, settings, seed):
        seen["val"] = (len(val[0]), np.asarray(val[1]).tolist())
        return _Brightness(), {"best_epoch": 2, "val_accuracy": [0.3, 0.9, 0.5], "loss": []}

    monkeypatch.setattr(region, "train_classifier", train)
    result = run_task1(_config(method="supervised", seeds=[0], backbone="resnet-tiny"), _splits())
    assert seen["val"] == (4 * N_VAL, np.repeat(np.arange(N_VAL) % 4, 4).tolist())
    assert result["per_seed"][0]["best_epoch"] == 2
    assert result["per_seed"][0]["val_accuracy"] == 0.9  # epoch 2's, not the last one's


def _scripted(per_class: list[list[float]], accuracy: tuple[float, ...] = (0.5, 0.5)):
    """A _run_seed that returns rows with the given accuracies and per-class accuracies:
    the run's summary of them is known."""
    rows = iter(zip(accuracy, per_class))

    def run_seed(config, recipe, inputs, seed, spatial_dims, frozen):
        confusion = np.eye(4, dtype=int) * (seed + 1)
        acc, per_class_row = next(rows)
        return {"seed": seed, "accuracy": acc, "per_class_accuracy": per_class_row,
                "confusion": confusion.tolist(),
                "intervals": {"accuracy": {"low": 0.4 + seed / 100, "high": 0.6}}}, inputs.test_y
    return run_seed


def test_intervals_are_shown_only_when_seeds_agree_on_accuracy_and_every_class(monkeypatch):
    config = _config(method="pca", seeds=[0, 1], n_components=4)
    monkeypatch.setattr(region, "_run_seed", _scripted([[0.5] * 4, [1.0, 0.0, 0.5, 0.5]]))
    varied = run_task1(config, _splits())
    # the accuracy agrees but two classes move by 0.5 (std 0.5 / sqrt 2): no interval to show
    assert varied["accuracy"] == {"mean": 0.5, "std": 0.0, "n": 2}
    assert varied["per_class_accuracy"]["mean"] == [0.75, 0.25, 0.5, 0.5]
    assert varied["per_class_accuracy"]["std"] == pytest.approx([0.125 ** 0.5] * 2 + [0.0] * 2)
    assert varied["intervals"] is None
    assert varied["confusion"] == (np.eye(4, dtype=int) * 3).tolist()  # seeds' counts summed
    monkeypatch.setattr(region, "_run_seed", _scripted([[0.5] * 4, [0.5] * 4]))
    agreed = run_task1(config, _splits())["intervals"]
    assert agreed == {"accuracy": {"low": 0.4, "high": 0.6, "seed": 0}}
    monkeypatch.setattr(region, "_run_seed", _scripted([[0.5] * 4] * 2, accuracy=(0.25, 0.75)))
    spread = run_task1(config, _splits())
    assert spread["accuracy"] == {"mean": 0.5, "std": pytest.approx(0.125 ** 0.5), "n": 2}
    assert spread["intervals"] is None


def test_every_scored_crop_is_mapped_to_the_tile_it_was_cut_from():
    # tile i of the test split is flat grey 10 * i: each crop's value names its tile
    data = _splits()
    grey = (10 * np.arange(N_TEST, dtype=np.uint8))[:, None, None, None]
    data["test"] = SplitData(np.broadcast_to(grey, (N_TEST, 1, 32, 32)).copy(),
                             np.arange(N_TEST) % 4, np.arange(N_TEST))
    inputs = RegionInputs(data, resolve_recipe(_config(method="pca")))
    tile_of_crop = np.rint(inputs.test_x.flatten(1).mean(1).numpy() * 255 / 10).astype(int)
    by_tile = np.repeat(np.arange(N_TEST), 4).tolist()
    assert inputs.test_tile.tolist() == tile_of_crop.tolist() == by_tile
    assert inputs.test_y.tolist() == np.repeat(np.arange(N_TEST) % 4, 4).tolist()
    # the paper probe: the four corner crops of the configured side, grouped the same way
    paper = TASK1.make_config(None, {"method": "encoder", "encoder": "resnet-tiny", "crop": 16})
    corners = RegionInputs(data, resolve_recipe(paper))
    assert tuple(corners.test_x.shape) == (4 * N_TEST, 1, 16, 16)
    tile_of_corner = np.rint(corners.test_x.flatten(1).float().mean(1).numpy() / 10).astype(int)
    assert corners.test_tile.tolist() == tile_of_corner.tolist() == inputs.test_tile.tolist()
