"""Known answers for what torchrun's process count changes in pre-training (mutation audit
mut18): the resolved pool, the batch and pool split among processes, the settings an image
source has no use for, and a checkpoint refused by a trainer of another process count."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from ssl_train_helpers import digits_subset, flip_noise_view, tiny_byol, tiny_myow

from mtneuro.errors import ConfigError, MtneuroError
from mtneuro.ssl.checkpoint import load_checkpoint
from mtneuro.ssl.distributed import DistInfo
from mtneuro.ssl.trainer import Trainer, TrainSettings
from mtneuro.tasks.pretrain.config import (
    check_processes,
    make_config,
    pool_size_of,
    settings_not_used,
)


@pytest.mark.parametrize(("values", "pool"), [
    ({"method": "myow", "batch_size": 12}, 12),  # MYOW's pool defaults to the batch
    ({"method": "byol", "batch_size": 12}, 0),  # BYOL mines nothing
    ({"method": "byol", "batch_size": 12, "pool_size": 6}, 0),  # nor embeds a pool to mine
    ({"method": "myow", "batch_size": 12, "pool_size": 0}, 0),  # 0: mine within the batch
    ({"method": "myow", "batch_size": 12, "pool_size": 6}, 6),
])
def test_the_pool_size_resolves_from_method_and_batch(values: dict, pool: int) -> None:
    assert pool_size_of(make_config("quick", values)) == pool


def test_a_byol_pool_size_is_named_unused_and_asks_no_split() -> None:
    config = make_config("quick", {"method": "byol", "batch_size": 12, "pool_size": 6})
    assert "pool_size" in settings_not_used(config)
    check_processes(config, 4)  # no pool: nothing to divide among processes


def test_two_processes_refuse_an_odd_batch_one_process_does_not() -> None:
    config = make_config("quick", {"method": "byol", "batch_size": 9})
    check_processes(config, 1)  # nothing to split
    with pytest.raises(MtneuroError) as info:
        check_processes(config, 2)
    assert str(info.value) == ("batch_size: 9 does not split among 2 processes (each takes an "
                               "equal share); use a multiple of 2")


def test_no_pool_needs_no_split() -> None:
    # pool_size 0 mines within each process's share of the batch: nothing to divide
    check_processes(make_config("quick", {"method": "myow", "batch_size": 12, "pool_size": 0}), 4)
    with pytest.raises(MtneuroError, match=r"^pool_size: 6 does not split among 4 processes"):
        check_processes(make_config("quick", {"method": "myow", "batch_size": 12,
                                              "pool_size": 6}), 4)


@pytest.mark.parametrize(("augment", "unused"), [
    ("auto", ("setting", "z_step", "crop")),  # image sets are viewed whole
    ("vision", ("setting", "z_step", "crop")),
    ("mtneuro", ("setting", "z_step")),  # crop views use the crop
    ("mtneuro-strong", ("setting", "z_step")),
])
def test_the_crop_is_unused_only_where_the_views_take_the_whole_image(
        augment: str, unused: tuple[str, ...]) -> None:
    assert settings_not_used(make_config("quick", {"source": "digits",
                                                   "augment": augment})) == unused


SETTINGS = TrainSettings(epochs=1, batch_size=16, lr=0.05, warmup_epochs=0, base_momentum=0.9,
                         seed=7, log_every=1, quiet=True)


def _trainer(out: Path, world_size: int) -> Trainer:
    method = tiny_byol(seed=7)
    optimizer = torch.optim.SGD(method.parameters(), lr=0.05)
    return Trainer(method, optimizer, digits_subset(32), flip_noise_view, SETTINGS, out,
                   dist=DistInfo(rank=0, world_size=world_size))


def test_a_trainer_of_another_process_count_refuses_the_checkpoint(tmp_path: Path) -> None:
    _trainer(tmp_path, 1).fit()
    assert load_checkpoint(tmp_path / "checkpoint.pt")["world_size"] == 1
    # refused in _restore, before any step (or collective) of the two-process run
    with pytest.raises(MtneuroError, match="written by one process, this run has 2 processes"):
        _trainer(tmp_path, 2).fit(resume=True)


def test_a_pool_the_processes_cannot_share_is_named_as_the_pool(tmp_path: Path) -> None:
    # the batch of 16 splits in 2; MYOW's candidate pool of 15 does not
    settings = TrainSettings(**{**SETTINGS.__dict__, "pool_size": 15, "mined_weight": 0.5})
    method = tiny_myow(seed=7, layout="merged", k=1)
    optimizer = torch.optim.SGD(method.parameters(), lr=0.05)
    with pytest.raises(ConfigError) as info:
        Trainer(method, optimizer, digits_subset(32), flip_noise_view, settings, tmp_path,
                dist=DistInfo(rank=0, world_size=2))
    assert str(info.value) == "pool_size: 15 is not divisible by the 2 processes"
