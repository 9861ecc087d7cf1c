"""Pre-training config: the pool size it accepts, and what a resumed run may change.

A checkpoint stores the complete :class:`PretrainConfig` (plain values); a resume with
another value of any field but ``RESUMABLE_CHANGES`` is refused, naming the field. A
checkpoint written before configs were stored is checked on its loop settings, as then.
"""

from __future__ import annotations

import dataclasses
import shutil

import pytest
import torch
from ssl_train_helpers import digits_subset, flip_noise_view, tiny_myow

from mtneuro.checkpoint_io import save_state
from mtneuro.errors import CheckpointError, ConfigError, TrainingError
from mtneuro.ssl import settings as ssl_settings
from mtneuro.ssl.checkpoint import load_checkpoint
from mtneuro.ssl.trainer import Trainer, TrainSettings
from mtneuro.tasks.pretrain.config import RESUMABLE_CHANGES, PretrainConfig, make_config
from mtneuro.tasks.pretrain.run import check_resumable, pretrain_encoder

TINY = {"source": "digits", "epochs": 1, "batch_size": 16, "quiet": True,
        "backbone_params": {"widths": [4, 8]}, "projector_hidden": 16, "projector_out": 8,
        "predictor_hidden": 16, "mined_projector_hidden": 16, "mined_out": 8}


@pytest.mark.parametrize("size", [1, -1])
def test_a_pool_of_one_sample_is_refused(size):
    # its one sample is excluded for the query it was drawn for: nothing left to mine
    with pytest.raises(ConfigError, match=f"pool_size: expected 0 \\(mine within the batch\\) "
                                          f"or an int >= 2, got {size}$"):
        make_config("quick", {"pool_size": size})
    assert make_config("quick", {"pool_size": 0}).pool_size == 0
    assert make_config("quick", {"pool_size": 2}).pool_size == 2


def test_the_trainer_refuses_a_pool_of_one_sample(tmp_path):
    settings = TrainSettings(epochs=1, batch_size=8, lr=0.1, mined_weight=0.5, pool_size=1)
    method = tiny_myow()
    with pytest.raises(ConfigError, match="pool_size: expected 0 .* or an int >= 2, got 1"):
        Trainer(method, torch.optim.SGD(method.parameters(), lr=0.1), digits_subset(16),
                flip_noise_view, settings, tmp_path)


def test_the_fields_a_resume_may_change_are_fields_and_cover_the_trainers():
    fields = set(PretrainConfig.__dataclass_fields__)
    assert set(RESUMABLE_CHANGES) <= fields
    assert set(ssl_settings.RESUMABLE_CHANGES) <= set(RESUMABLE_CHANGES)
    # what the audit found unchecked: none of it may change
    assert not {"crop", "k", "mine_space", "loss_mix", "augment", "source", "source_params",
                "z_step", "optimizer", "weight_decay", "momentum"} & set(RESUMABLE_CHANGES)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A finished one-epoch MYOW run (3 steps on 48 digits) and its config."""
    out = tmp_path_factory.mktemp("run") / "pretrain"
    config = make_config("quick", {**TINY, "out_dir": str(out)})
    pretrain_encoder(config, digits_subset(48), out_dir=out)
    return config, out


def test_the_checkpoint_stores_the_config_as_plain_values(finished_run):
    config, out = finished_run
    stored = torch.load(out / "checkpoint.pt", weights_only=True)["run_config"]
    assert stored["crop"] == config.crop and stored["loss_mix"] == "normalised"
    assert stored["backbone_params"] == {"widths": [4, 8]} and stored["out_dir"] == str(out)
    # every field, and the training images (count and digest) the run read
    assert set(stored) == {*PretrainConfig.__dataclass_fields__, "training_images"}
    from mtneuro.checkpoint_io import content_digest

    digest = content_digest(digits_subset(48))[:16]
    assert stored["training_images"] == f"48 images, SHA-256 {digest}"


CHANGES = [
    ({"crop": 24}, "crop was 32, now 24"),
    ({"k": 3}, "k was 1, now 3"),
    ({"mine_space": "online"}, "mine_space was 'target', now 'online'"),
    ({"loss_mix": "convex"}, "loss_mix was 'normalised', now 'convex'"),
    ({"augment": "mtneuro"}, "augment was 'auto', now 'mtneuro'"),
    ({"source": "cifar10"}, "source was 'digits', now 'cifar10'"),
    ({"z_step": 2}, "z_step was 16, now 2"),
    ({"optimizer": "adamw"}, "optimizer was 'sgd', now 'adamw'"),
    ({"weight_decay": 0.1}, "weight_decay was 0.0005, now 0.1"),
    ({"momentum": 0.5}, "momentum was 0.9, now 0.5"),
    ({"sync_bn": False}, "sync_bn was True, now False"),
]


@pytest.mark.parametrize(("change", "message"), CHANGES)
def test_resume_refuses_any_changed_field_naming_it(finished_run, change, message):
    config, out = finished_run
    changed = dataclasses.replace(config, resume=True, **change)
    with pytest.raises(ConfigError) as info:
        check_resumable(changed)  # the command's check, before any image is read
    assert str(info.value).startswith(f"cannot resume {out / 'checkpoint.pt'}: {message}; ")
    assert "--overwrite" in str(info.value)


def test_the_trainer_refuses_a_changed_config_too(finished_run):
    config, out = finished_run  # pretrain_encoder(resume=True), as the Python API resumes
    changed = dataclasses.replace(config, weight_decay=0.1)
    with pytest.raises(ConfigError, match=r"checkpoint.pt: weight_decay was 0.0005, now 0.1$"):
        pretrain_encoder(changed, digits_subset(48), out_dir=out, resume=True)


def test_resume_accepts_the_fields_that_may_change(finished_run, tmp_path):
    config, out = finished_run
    moved = tmp_path / "moved"
    shutil.copytree(out, moved)
    changed = dataclasses.replace(
        config, out_dir=moved, resume=True, log_every=3, checkpoint_every=2, quiet=False,
        retain_cpu_memory=False, step="eager", compile_mode="off", prefetch_indices=False,
        device="auto", download=True)
    check_resumable(changed)
    result = pretrain_encoder(dataclasses.replace(changed, quiet=True), digits_subset(48),
                              out_dir=moved, resume=True)
    assert result.summary["steps_run"] == 0 and result.summary["steps"] == 3


def test_an_older_checkpoint_without_a_config_is_checked_on_its_settings(finished_run,
                                                                         tmp_path):
    config, out = finished_run
    old = tmp_path / "old"
    shutil.copytree(out, old)
    state = torch.load(old / "checkpoint.pt", weights_only=True)
    del state["run_config"]
    save_state(old / "checkpoint.pt", state)
    base = dataclasses.replace(config, out_dir=old, resume=True)
    check_resumable(dataclasses.replace(base, crop=24))  # not in its settings: as before
    with pytest.raises(TrainingError, match="epochs was 1, now 2; resume with the settings"):
        check_resumable(dataclasses.replace(base, epochs=2))


def test_a_stored_config_that_is_no_mapping_is_a_damaged_checkpoint(finished_run, tmp_path):
    _, out = finished_run
    state = torch.load(out / "checkpoint.pt", weights_only=True)
    state["run_config"] = ["crop", 32]
    save_state(tmp_path / "checkpoint.pt", state)
    with pytest.raises(CheckpointError, match="'run_config' must be dict, got list"):
        load_checkpoint(tmp_path / "checkpoint.pt")


def test_a_field_added_after_the_checkpoint_compares_with_its_default():
    config = ssl_settings.RunConfig({"crop": 32, "new": 5}, defaults={"new": 4})
    settings = TrainSettings(epochs=1, batch_size=8, lr=0.1)
    state = {"settings": dataclasses.asdict(settings), "run_config": {"crop": 32}}
    assert ssl_settings.resume_problem(state, "myow", settings, config) == "new was 4, now 5"
    same = ssl_settings.RunConfig({"crop": 32, "new": 4}, defaults={"new": 4})
    assert ssl_settings.resume_problem(state, "myow", settings, same) is None
