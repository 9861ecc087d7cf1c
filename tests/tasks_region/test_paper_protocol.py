"""Task 1's ``paper`` protocol is the released scripts, value by value; its pieces give
hand-computed answers; its protocol card says how a run departs from it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from mtneuro.errors import ConfigError
from mtneuro.tasks.protocol import PRETRAIN_CODE, SUBVOLUME_NOTE, task3_card
from mtneuro.tasks.region import run_task1
from mtneuro.tasks.region_head import (
    HeadSettings,
    predict_with_head,
    random_crop,
    train_linear_head,
)
from mtneuro.tasks.region_protocol import resolve_recipe, task1_card
from mtneuro.tasks.region_task import TASK1
from mtneuro.tasks.tile_inputs import corner_crops
from mtneuro.tasks.volume import SplitData


def task1_config(**values):
    """A validated ``Task1Config``, as the CLI builds it without a preset."""
    return TASK1.make_config(None, values)

# The reference's values, read from MTNeuro/MTNeuro (HEAD of the mirror):
SUPERVISED = {
    "train_input": "whole",   # scripts/task1_sup.py:22-24 ToTensor only (augmentations 0): no
    "test_input": "whole",    # resize, no crop; :143-149 tests whole 256 x 256 tiles
    "input_size": None,
    "normalise": False,       # scripts/task1_sup.py:22-24 no Normalize
    "lr": 0.01,               # networkconfig/SUP_ResNet-18_2D.json:8 "learning_rate": 0.01
    "epochs": 1,              # networkconfig/SUP_ResNet-18_2D.json:9 "epochs": 1
    "batch_size": 8,          # networkconfig/SUP_ResNet-18_2D.json:10 "batch_size": 8
    "augment": False,         # networkconfig/SUP_ResNet-18_2D.json:11 "augmentations": 0
    "momentum": 0.0,          # scripts/task1_sup.py:87 torch.optim.SGD(model.parameters(), lr=...)
    "weight_decay": 0.0,      # scripts/task1_sup.py:87 (no weight_decay argument)
    "schedule": "constant",   # scripts/task1_sup.py:97 lr_scheduler=None
    "select_best": False,     # MTNeuro/trainer.py:34-59 trains all epochs, keeps no checkpoint
    "recalibrate_bn": False,
}
PROBE = {
    # scripts/task1_ssl.py:80 sets up random 128 crops normalised with mean 0.4894, std 0.1238,
    # but MTNeuro/ssl_eval_trainer.py:78-81 feeds the untransformed batch to the model, which
    # Trainer._train (:72) puts in training mode: the head trains on whole, un-normalised tiles.
    "train_input": "whole",
    "crop": 128,
    "normalise": False,
    "test_input": "corners",        # scripts/task1_ssl.py:275-290 the four 128 x 128 corners
    "schedule": "constant",         # scripts/task1_ssl.py:229 lr_scheduler=None
    "batch_size": 8,                # SSL_BYOL_ResNet-18_2D.json:40, SSL_MYOW*_ResNet-18_2D.json:47
    "lr": 0.01,                     # SSL_BYOL_ResNet-18_2D.json:38, SSL_MYOW*_ResNet-18_2D.json:45
    "head_inputs": "as-released",
}
HEADS = {
    "byol": ("adam", 100),          # SSL_BYOL_ResNet-18_2D.json:35 "Adam", :39 "epochs": 100
    "myow": ("sgd", 10),            # SSL_MYOW_ResNet-18_2D.json:42 "SGD", :46 "epochs": 10
    "myow-merged": ("sgd", 10),     # SSL_MYOWMerged_ResNet-18_2D.json:42 "SGD", :46 "epochs": 10
}


@pytest.mark.parametrize("method", ["supervised", "supervised-mixup"])
def test_paper_supervised_recipe_is_the_reference_table(method):
    recipe = resolve_recipe(task1_config(method=method)).to_dict()
    assert {k: recipe[k] for k in SUPERVISED} == SUPERVISED
    assert task1_config(method=method).preset("backbone") == "resnet18"  # SUP_ResNet-18_2D.json:12


@pytest.mark.parametrize("method", sorted(HEADS))
def test_paper_probe_recipe_is_the_reference_table(method):
    recipe = resolve_recipe(task1_config(method=method)).to_dict()
    assert {k: recipe[k] for k in PROBE} == PROBE
    assert (recipe["head"], recipe["epochs"]) == HEADS[method]


def test_quick_runs_default_to_the_resized_protocol_and_paper_options_are_checked():
    assert resolve_recipe(task1_config(method="pca", quick=True)).protocol == "resized"
    assert resolve_recipe(task1_config(method="pca", quick=True, protocol="paper")).protocol == "paper"
    with pytest.raises(ConfigError, match="test_crops: applies to protocol 'resized'"):
        resolve_recipe(task1_config(method="byol", test_crops="none"))


def test_corner_crops_are_the_reference_slices_in_its_order():
    tiles = torch.arange(2 * 16).reshape(2, 1, 4, 4)
    crops, labels = corner_crops(tiles, 3, np.array([7, 9]))
    assert crops.shape == (8, 1, 3, 3) and labels.tolist() == [7] * 4 + [9] * 4
    x = tiles[1:]
    expected = [x[..., :3, :3], x[..., :3, -3:], x[..., -3:, :3], x[..., -3:, -3:]]
    for got, want in zip(crops[4:], expected):
        assert torch.equal(got, want[0])
    assert crops[1, 0, 0].tolist() == [1, 2, 3]  # tile 0, top-right corner, first row


def test_random_crop_takes_one_window_for_the_whole_batch():
    batch = torch.arange(5 * 10 * 10).reshape(5, 1, 10, 10) % 100  # every tile the same
    crop = random_crop(batch, 4, torch.Generator().manual_seed(0))
    assert crop.shape == (5, 1, 4, 4) and all(torch.equal(c, crop[0]) for c in crop)


def _brightness_tiles(n: int = 32, side: int = 12, seed: int = 0):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 4
    tiles = 40 + 50 * labels[:, None, None, None] + rng.normal(0, 4, (n, 1, side, side))
    return np.clip(tiles, 0, 255).astype(np.uint8), labels


def _encoder() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten()).eval()


def test_linear_head_learns_and_leaves_the_frozen_encoder_alone():
    images, labels = _brightness_tiles()
    encoder = _encoder()
    before = {k: v.clone() for k, v in encoder.state_dict().items()}
    settings = HeadSettings(optimizer="adam", lr=0.05, epochs=60, batch_size=8, crop=8)
    head = train_linear_head(encoder, 4, images, labels, settings, mean=0.5, std=0.25, seed=0)
    for key, value in encoder.state_dict().items():
        assert torch.equal(value, before[key]), key  # weights and BatchNorm statistics
    crops, crop_labels = corner_crops(torch.from_numpy(images), 8, labels)
    pred = predict_with_head(encoder, head, crops, settings, mean=0.5, std=0.25)
    assert np.mean(pred == crop_labels) == 1.0


def test_as_released_head_training_moves_the_encoder_batchnorm_statistics():
    images, labels = _brightness_tiles()
    encoder = _encoder()
    before = encoder[1].running_mean.clone()
    settings = HeadSettings(epochs=1, batch_size=8, crop=None, normalise=False,
                            encoder_train_mode=True)
    train_linear_head(encoder, 4, images, labels, settings, mean=0.5, std=0.25, seed=0)
    assert not torch.equal(encoder[1].running_mean, before)  # BatchNorm in training mode
    assert not encoder.training  # back in eval mode for testing


def _splits(side: int = 32) -> dict[str, SplitData]:
    out = {}
    for split, n in (("train", 24), ("val", 8), ("test", 8)):
        images, labels = _brightness_tiles(n, side, seed=len(split))
        out[split] = SplitData(images, labels, np.arange(n))
    return out


def test_paper_supervised_scores_whole_test_tiles_with_the_last_epoch():
    config = task1_config(method="supervised", seeds=[0], backbone="resnet-tiny", epochs=2)
    result = run_task1(config, _splits(side=16))
    assert result["n_test"] == 8 and result["recipe"]["test_input"] == "whole"  # no crops
    assert result["per_seed"][0]["best_epoch"] == 2  # the last epoch, not the best one


@pytest.mark.parametrize("probe_inputs", ["random-crops", "as-released"])
def test_paper_probe_scores_the_four_corners_of_every_test_tile(probe_inputs):
    config = task1_config(method="encoder", encoder="resnet-tiny", seeds=[0], crop=16,
                          head_epochs=2, probe_inputs=probe_inputs)
    result = run_task1(config, _splits())
    assert result["n_test"] == 4 * 8 and result["recipe"]["test_input"] == "corners"
    assert np.sum(result["per_seed"][0]["confusion"]) == 32


def test_task1_cards():
    exact = task1_card(task1_config(method="supervised", source="bossdb"))
    assert exact == {"protocol": {"name": "task1-paper", "version": 1}, "deviations": [],
                     "notes": []}
    c2 = task1_card(task1_config(method="supervised", source="bossdb", setting="roi-c2"))
    assert c2["deviations"] == [SUBVOLUME_NOTE]
    phantom = task1_card(task1_config(method="supervised", epochs=5))["deviations"]
    assert phantom[0] == "epochs 5 (reference 1, SUP_ResNet-18_2D.json:9)"
    assert phantom[-1].startswith("data: the synthetic phantom volume")
    released = task1_card(task1_config(method="byol", source="bossdb"))
    # the probe is what the released trainer runs; the pre-training's heads are not the
    # released code's (PRETRAIN_CODE), whatever the config
    assert released["deviations"] == [PRETRAIN_CODE]
    intended = task1_card(task1_config(method="byol", source="bossdb",
                                          probe_inputs="random-crops"))["deviations"]
    assert len(intended) == 2 and "ssl_eval_trainer.py:72-82" in intended[0]
    assert intended[1] == PRETRAIN_CODE
    quick = task1_card(task1_config(method="myow", quick=True))
    assert quick["protocol"]["name"] == "task1-resized-quick"
    assert any("tested as 32-px quadrant crops" in d for d in quick["deviations"])
    # the reference it names is what the released trainer runs (the paper card's default),
    # not the crops the script sets up and the trainer discards
    probe = [d for d in quick["deviations"] if d.startswith("probe:")]
    assert len(probe) == 1 and "whole un-normalised 256-px tiles" in probe[0]
    assert "ssl_eval_trainer.py:72-82" in probe[0] and "random 128-px crops" not in probe[0]
    assert any(d.startswith("pre-training epochs 25 (reference 800") for d in quick["deviations"])


def test_a_slice_step_is_no_deviation_of_a_one_slice_source():
    # the slice source's windows are read whatever the step: its card must not list one
    step = "every n-th slice, n = 8 (reference 1, taskconfig/task1.json:18-20, all slices)"
    quick = task1_config(method="pca", quick=True)
    assert step in task1_card(quick, "phantom")["deviations"]
    assert step not in task1_card(quick, "slice")["deviations"]
    one_slice = {"source": "cache", "shape": [1, 64, 64], "upstream": {"source": "slice"}}
    assert step not in task1_card(quick, one_slice)["deviations"]
    assert step in task1_card(quick, {"source": "phantom", "shape": [96, 64, 64]})["deviations"]
    from mtneuro.tasks.registry import get_task

    task3 = get_task("task3").make_config("quick", {"method": "pca"})
    assert any(d.startswith("every n-th slice, n = 8") for d in task3_card(task3)["deviations"])
    assert not any(d.startswith("every n-th slice") for d in task3_card(task3, "slice")
                   ["deviations"])
    # in 3D the step takes blocks, 8 slices each: 8n slices apart, which "slice" would hide
    blocks = task1_card(task1_config(method="pca", quick=True, dim="3d"), "phantom")
    assert ("every n-th 8-slice block, n = 8 (reference 1, taskconfig/task1.json:18-20, all "
            "slices)") in blocks["deviations"]


def test_the_quick_card_of_supervised_mixup_names_the_mixup():
    quick = task1_card(task1_config(method="supervised-mixup", quick=True))["deviations"]
    assert quick[0] == ("no mixup script was released: mixup (alpha 0.2) added to the "
                        "scripts/task1_sup.py recipe")
    plain = task1_card(task1_config(method="supervised", quick=True))["deviations"]
    assert quick[1:] == plain  # the rest of the recipe is the same
