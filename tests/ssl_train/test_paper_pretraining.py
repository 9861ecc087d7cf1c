"""Full (paper) pre-training follows MTNeuro's task-1 scripts where the released code differs
from BYOL's usual choices: one crop offset per batch, weight decay on every parameter, fp32,
and MYOW's query from a third view cut together with the pool, on its own forward."""

from __future__ import annotations

import torch
from ssl_train_helpers import RecordingMethod, tiny_myow
from torch import nn

from mtneuro.ssl.optim import build_optimizer, param_groups
from mtneuro.ssl.trainer import Trainer, TrainSettings
from mtneuro.tasks.pretrain.config import make_config
from mtneuro.tasks.pretrain.run import build_view, train_settings
from mtneuro.tasks.protocol import MYOW_CODE, PRETRAIN_CODE, pretraining_deviations
from mtneuro.tasks.region_task import TASK1

BOSSDB = {"source": "bossdb"}


def test_full_task_pretraining_takes_the_scripts_values_and_quick_keeps_its_own() -> None:
    full = TASK1.make_config(None, {"method": "byol", **BOSSDB}).pretrain
    assert (full.same_crop_on_batch, full.exclude_bias_and_norm, full.amp) == (True, False, "none")
    myow = TASK1.make_config(None, {"method": "myow", **BOSSDB}).pretrain
    assert myow.mining_view == "third" and train_settings(myow).mining_view == "third"
    assert train_settings(full).mining_view == "a"  # BYOL mines nothing
    quick = TASK1.make_config("quick", {"method": "byol"}).pretrain
    assert (quick.same_crop_on_batch, quick.exclude_bias_and_norm, quick.amp) == (False, True,
                                                                                 "auto")
    # the pretrain command's default is MTNeuro's, in mixed precision where a GPU has it
    command = make_config("default")
    assert (command.same_crop_on_batch, command.exclude_bias_and_norm, command.amp) == (
        True, False, "auto")


def test_the_card_of_full_pretraining_names_only_what_differs() -> None:
    # what the code always does unlike the released code comes first (tested on its own in
    # test_pretraining_code_card.py); then the config's fields, only those that differ
    byol = pretraining_deviations(TASK1.make_config(None, {"method": "byol", **BOSSDB}))
    assert byol == [PRETRAIN_CODE]
    myow = pretraining_deviations(TASK1.make_config(None, {"method": "myow", **BOSSDB}))
    assert myow == [PRETRAIN_CODE, MYOW_CODE]
    own = pretraining_deviations(TASK1.make_config(None, {"method": "myow-merged", **BOSSDB,
                                                         "pretrain": {"mining_view": "a"}}))
    assert [line.split(" (reference")[0] for line in own[2:]] == ["pre-training mining_view a"]
    changed = {"method": "byol", **BOSSDB, "pretrain": {
        "amp": "auto", "same_crop_on_batch": False, "exclude_bias_and_norm": True}}
    lines = pretraining_deviations(TASK1.make_config(None, {**changed, "device": "auto"}))[1:]
    assert [line.split(" (reference")[0] for line in lines] == [
        "pre-training same_crop_on_batch off", "pre-training exclude_bias_and_norm on",
        "pre-training amp auto"]
    # on CPU, amp auto is full precision: the reference's fp32, no departure
    on_cpu = pretraining_deviations(TASK1.make_config(None, {**changed, "device": "cpu"}))
    assert on_cpu[1:] == lines[:2]


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


def test_the_query_view_replaces_view_a_in_mining_and_the_mined_loss() -> None:
    gen = torch.Generator().manual_seed(0)
    view_a, view_b, other = (torch.rand(4, 1, 16, 16, generator=gen) for _ in range(3))
    pool = torch.rand(6, 1, 16, 16, generator=gen)
    for layout in ("cascaded", "merged"):
        method = tiny_myow(seed=1, layout=layout, k=1)
        common = {"pool": pool, "mined_weight": 0.5, "uniform": torch.full((4,), 0.5)}
        alone = method(view_a, view_b, **common)
        # view a as its own query view: the same numbers as sharing view a's forward
        same = method(view_a, view_b, view_m=view_a, **common)
        assert torch.equal(same["mined_index"], alone["mined_index"])
        assert torch.allclose(same["loss"], alone["loss"])
        # another query view: mined by its own online representation, its own loss
        third = method(view_a, view_b, view_m=other, **common)
        with torch.no_grad():
            query = torch.nn.functional.normalize(method.online_encoder(other), dim=1)
            pool_y = torch.nn.functional.normalize(method.target_encoder(pool), dim=1)
        assert torch.equal(third["mined_index"], (query @ pool_y.T).argmax(dim=1))
        assert torch.equal(third["byol_loss"], alone["byol_loss"])
        assert not torch.allclose(third["mined_loss"], alone["mined_loss"])



def test_the_third_view_and_the_pool_are_cut_in_one_call_of_the_view() -> None:
    # sample i holds i; the view records each call's samples and keeps rows 0..1 of 2x2
    images = torch.arange(8, dtype=torch.float32).view(8, 1, 1, 1).expand(8, 1, 2, 2)
    calls: list[list[int]] = []

    def view(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        calls.append(batch[:, 0, 0, 0].long().tolist())
        return batch.clone()

    for mining_view, per_step in (("a", [4, 4, 4]), ("third", [4, 4, 8])):
        calls.clear()
        method = RecordingMethod()
        settings = TrainSettings(epochs=1, batch_size=4, lr=0.0, warmup_epochs=0, pool_size=4,
                                 mining_view=mining_view, quiet=True, channels_last=False,
                                 step="eager", mined_weight=0.5)
        Trainer(method, torch.optim.SGD(method.parameters(), lr=0.0), images.contiguous(),
                view, settings, None).fit()
        assert [len(c) for c in calls[:3]] == per_step
        first = method.given[0]
        if mining_view == "a":
            assert first["view_m"] is None
        else:  # the query is the batch, the pool the rest of that one call
            assert calls[2][:4] == calls[0] and calls[2][4:] == first["pool"][:, 0, 0, 0].tolist()
            assert torch.equal(first["view_m"], first["view_a"])


def test_an_unknown_mining_view_is_refused_by_the_trainer() -> None:
    import pytest

    from mtneuro.errors import ConfigError

    method = RecordingMethod()
    settings = TrainSettings(epochs=1, batch_size=4, lr=0.0, mining_view="thrid", quiet=True)
    with pytest.raises(ConfigError, match=r"^mining_view: expected 'a' or 'third', got 'thrid'"):
        Trainer(method, torch.optim.SGD(method.parameters(), lr=0.0), torch.zeros(8, 1, 2, 2),
                lambda x, g: x, settings, None)
