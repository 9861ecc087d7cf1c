"""Full (paper) pre-training follows MTNeuro's task-1 scripts where the released code differs
from BYOL's usual choices: one crop offset per batch, weight decay on every parameter, fp32;
MYOW's mining query, which differs, is named on the card."""

from __future__ import annotations

import torch
from torch import nn

from mtneuro.ssl.optim import build_optimizer, param_groups
from mtneuro.tasks.pretrain.config import make_config
from mtneuro.tasks.pretrain.run import build_view
from mtneuro.tasks.protocol import MINING_QUERY_NOTE, pretraining_deviations
from mtneuro.tasks.region_task import TASK1

BOSSDB = {"source": "bossdb"}


def test_full_task_pretraining_takes_the_scripts_values_and_quick_keeps_its_own() -> None:
    full = TASK1.make_config(None, {"method": "byol", **BOSSDB}).pretrain
    assert (full.same_crop_on_batch, full.exclude_bias_and_norm, full.amp) == (True, False, "none")
    quick = TASK1.make_config("quick", {"method": "byol"}).pretrain
    assert (quick.same_crop_on_batch, quick.exclude_bias_and_norm, quick.amp) == (False, True,
                                                                                 "auto")
    # the pretrain command's default is MTNeuro's, in mixed precision where a GPU has it
    command = make_config("default")
    assert (command.same_crop_on_batch, command.exclude_bias_and_norm, command.amp) == (
        True, False, "auto")


def test_the_card_of_full_pretraining_names_only_what_differs() -> None:
    assert pretraining_deviations(TASK1.make_config(None, {"method": "byol", **BOSSDB})) == []
    myow = pretraining_deviations(TASK1.make_config(None, {"method": "myow", **BOSSDB}))
    assert myow == [MINING_QUERY_NOTE]
    changed = TASK1.make_config(None, {"method": "byol", **BOSSDB, "pretrain": {
        "amp": "auto", "same_crop_on_batch": False, "exclude_bias_and_norm": True}})
    lines = pretraining_deviations(changed)
    assert [line.split(" (reference")[0] for line in lines] == [
        "pre-training same_crop_on_batch off", "pre-training exclude_bias_and_norm on",
        "pre-training amp auto"]


def test_every_parameter_is_decayed_when_biases_and_norms_are_not_excluded() -> None:
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4, 2))
    every = list(model.parameters())
    split = param_groups(model, 5e-4)
    assert [len(g["params"]) for g in split] == [2, 4]  # conv + linear weights; the rest
    assert [g["weight_decay"] for g in split] == [5e-4, 0.0]
    (one,) = param_groups(model, 5e-4, exclude_bias_and_norm=False)
    assert len(one["params"]) == len(every) and one["weight_decay"] == 5e-4
    assert not one["lars_exclude"]
    sgd = build_optimizer("sgd", model, 0.1, 5e-4, exclude_bias_and_norm=False)
    assert [g["weight_decay"] for g in sgd.param_groups] == [5e-4]


def test_one_crop_offset_per_batch_when_asked() -> None:
    # every image holds its own pixel index, so a crop's first pixel gives its offset
    images = torch.arange(16 * 16, dtype=torch.float32).reshape(1, 1, 16, 16).repeat(6, 1, 1, 1)
    for same, distinct in ((True, 1), (False, 6)):
        config = make_config("quick", {"crop": 8, "same_crop_on_batch": same})
        view, _ = build_view(config, images)
        corners = view(images, torch.Generator().manual_seed(0))[:, 0, 0, 0]
        assert len(set(corners.tolist())) == distinct, (same, corners)
