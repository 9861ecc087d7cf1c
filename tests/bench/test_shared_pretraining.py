"""A suite pre-trains each on-the-fly SSL encoder once: cells of the same pre-training (task 1
and task 3 of one setting, method and seed) share it through ``OUT/shared_encoders/``.

The store tests pre-train a tiny MYOW (widths 4..8, one epoch, 2 steps) on 16 random 32 x 32
tiles; the bench test runs a suite of real task-1 and task-3 cells on the phantom (a 2-step
pre-training; about 20 s on 2 cores).
"""

from __future__ import annotations

import dataclasses
import json
import random
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import mtneuro.tasks.pretrain.run as pretrain_run
from mtneuro.tasks.pretrain.config import RESUMABLE_CHANGES, make_config
from mtneuro.tasks.pretrain.shared import (
    NO_EFFECT_ON_WEIGHTS,
    pretrained,
    pretraining_key,
    shared_pretraining,
)

TINY = {"epochs": 1, "backbone_params": {"widths": [4, 8, 8, 8]}, "projector_hidden": 16,
        "projector_out": 8, "predictor_hidden": 16, "mined_projector_hidden": 16,
        "mined_out": 8, "crop": 16, "batch_size": 8, "quiet": True}


# the key includes the thread count: every test and fixture trains on one thread
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def config():
    return make_config("quick", TINY)


@pytest.fixture(scope="module")
def images():
    generator = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (16, 1, 32, 32), dtype=torch.uint8, generator=generator)


def _draws() -> tuple:
    return torch.rand(3).tolist(), np.random.rand(3).tolist(), random.random()


@pytest.fixture(scope="module")
def reference(config, images):
    """A training without store: its weights, input spec and what the global generators
    draw after it."""
    torch.set_num_threads(1)
    trained = pretrain_run.pretrain_encoder(config, images)
    return SimpleNamespace(state=trained.encoder.state_dict(), spec=dict(trained.input_spec),
                           draws=_draws())


@pytest.fixture(scope="module")
def kept(config, images, tmp_path_factory):
    """The file a store keeps of the tiny pre-training."""
    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("kept")
    with shared_pretraining(folder):
        result = pretrained(config, images)
    return folder / f"{result.key}.pt"


def _same_weights(state, expected) -> None:
    assert list(state) == list(expected)
    for name, value in expected.items():
        assert state[name].dtype == value.dtype and torch.equal(state[name], value), name


def _count_trainings(monkeypatch) -> list:
    calls: list = []
    real = pretrain_run.pretrain_encoder

    def counted(config, images, **kwargs):
        calls.append(config)
        return real(config, images, **kwargs)

    monkeypatch.setattr(pretrain_run, "pretrain_encoder", counted)
    return calls


def _store_with(kept: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(kept, folder / kept.name))


# -- the store ---------------------------------------------------------------------------
def test_the_same_pretraining_is_trained_once_and_loads_as_it_was_trained(
        tmp_path, monkeypatch, config, images, reference):
    calls = _count_trainings(monkeypatch)
    with shared_pretraining(tmp_path) as store:
        first = pretrained(config, images)
        after_training = _draws()  # keeping the file drew nothing from the run's generators
        for reseed in (torch.manual_seed, np.random.seed, random.seed):
            reseed(123)  # the generators moved on since that training
        second = pretrained(dataclasses.replace(config), images.clone())
        after_reuse = _draws()
    assert len(calls) == 1
    assert (first.reused, second.reused) == (False, True) and first.key == second.key
    assert store.served == [second.key]
    assert [p.name for p in tmp_path.iterdir()] == [f"{first.key}.pt"]
    for result in (first, second):
        _same_weights(result.encoder.state_dict(), reference.state)
        assert result.input_spec == reference.spec
        assert result.encoder.training  # as training hands it back; the caller calls eval()
    # the global generators are left as training leaves them, whether trained or loaded
    assert after_training == reference.draws and after_reuse == reference.draws


def test_without_a_store_every_call_trains_and_nothing_is_kept(tmp_path, monkeypatch,
                                                               config, images):
    calls = _count_trainings(monkeypatch)
    monkeypatch.chdir(tmp_path)
    result = pretrained(config, images)
    assert len(calls) == 1 and not result.reused and result.key is None
    assert list(tmp_path.iterdir()) == []


def test_the_key_changes_with_what_decides_the_weights_and_only_with_that(config, images,
                                                                           monkeypatch):
    import mtneuro.tasks.pretrain.shared as shared

    key = pretraining_key(config, images)
    # two CPU families with the same kernel level train apart (docs/neural.md)
    monkeypatch.setattr(shared, "cpu_model", lambda: "Another CPU (AVX512)")
    assert pretraining_key(config, images) != key
    monkeypatch.undo()
    assert len(key) == 64 and pretraining_key(config, images.clone()) == key
    same = {"log_every": 7, "checkpoint_every": 3, "quiet": False, "retain_cpu_memory": False,
            "prefetch_indices": False, "out_dir": Path("elsewhere"), "resume": True,
            "download": True}
    for name, value in same.items():
        assert pretraining_key(dataclasses.replace(config, **{name: value}), images) == key, name
    other = {"seed": 1, "base_lr": 0.5, "epochs": 2, "mined_weight": 0.2,
             "backbone_params": {"widths": [4, 8, 8, 16]}, "step": "static",
             "compile_mode": "off", "source_params": {"seed": 3}}
    for name, value in other.items():
        assert pretraining_key(dataclasses.replace(config, **{name: value}), images) != key, name
    changed = images.clone()
    changed[3, 0, 5, 7] ^= 1
    assert pretraining_key(config, changed) != key
    assert pretraining_key(config, images[:15]) != key
    assert pretraining_key(config, images.to(torch.int16)) != key
    torch.set_num_threads(2)  # CPU float sums depend on the thread count
    assert pretraining_key(config, images) != key
    # only resumable settings (those a checkpoint may change) are left out of the key
    assert set(NO_EFFECT_ON_WEIGHTS) <= set(RESUMABLE_CHANGES)


def test_the_key_changes_when_the_package_source_does(config, images, tmp_path, monkeypatch):
    # an editable install keeps its version number while its code changes
    import mtneuro
    import mtneuro.tasks.pretrain.shared as shared

    copy = tmp_path / "mtneuro"
    shutil.copytree(Path(mtneuro.__file__).parent, copy,
                    ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(mtneuro, "__file__", str(copy / "__init__.py"))
    shared._package_source_digest.cache_clear()
    key = pretraining_key(config, images)
    (copy / "ssl" / "losses.py").write_text((copy / "ssl" / "losses.py").read_text() + "#\n")
    shared._package_source_digest.cache_clear()
    assert pretraining_key(config, images) != key
    shared._package_source_digest.cache_clear()


def test_a_run_of_another_pretraining_trains_one_of_the_same_loads(tmp_path, monkeypatch,
                                                                   config, images, kept):
    _store_with(kept, tmp_path)
    calls: list = []

    class Trained(Exception):
        pass

    def stub(config, images, **kwargs):
        calls.append(config)
        raise Trained

    monkeypatch.setattr(pretrain_run, "pretrain_encoder", stub)
    with shared_pretraining(tmp_path):
        assert pretrained(dataclasses.replace(config, log_every=3, quiet=False), images).reused
        for changed in ({"seed": 1}, {"base_lr": 0.5}):
            with pytest.raises(Trained):
                pretrained(dataclasses.replace(config, **changed), images)
        with pytest.raises(Trained):
            pretrained(config, images[:15])
    assert [c.seed for c in calls] == [1, 0, 0]


@pytest.mark.parametrize("damage", ["truncated", "flipped"])
def test_a_damaged_kept_file_is_named_trained_again_and_replaced(
        tmp_path, monkeypatch, config, images, reference, kept, damage):
    path = _store_with(kept, tmp_path)
    data = bytearray(path.read_bytes())
    if damage == "truncated":
        data = data[: len(data) // 2]
    else:  # inside the stored weights: torch checks no CRC, the saved digest catches it
        data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    calls = _count_trainings(monkeypatch)
    with shared_pretraining(tmp_path), pytest.warns(UserWarning) as caught:
        result = pretrained(config, images)
    messages = [str(w.message) for w in caught if "shared encoder" in str(w.message)]
    assert len(messages) == 1 and str(path) in messages[0]
    assert "pre-training it again and replacing the file" in messages[0]
    assert len(calls) == 1 and not result.reused
    _same_weights(result.encoder.state_dict(), reference.state)
    assert path.read_bytes() == kept.read_bytes()  # replaced by the whole file
    with shared_pretraining(tmp_path):
        assert pretrained(config, images).reused
    assert len(calls) == 1


def test_frozen_encoders_load_a_kept_encoder_in_eval_mode(tmp_path, monkeypatch, config,
                                                         images, reference, kept):
    from mtneuro.tasks.encoders import FrozenEncoders

    _store_with(kept, tmp_path)
    calls = _count_trainings(monkeypatch)
    task = SimpleNamespace(method="myow", encoder=None, pretrain=config, device="cpu")
    frozen = FrozenEncoders(task, 2, tiles=images.numpy())
    with shared_pretraining(tmp_path) as store:
        encoder, spec = frozen(0)
    assert calls == [] and store.served == [kept.stem]
    assert not encoder.training and spec == reference.spec
    _same_weights(encoder.state_dict(), reference.state)


# -- bench cells -------------------------------------------------------------------------
PRETRAIN = {key: TINY[key] for key in ("epochs", "backbone_params", "projector_hidden",
                                       "projector_out", "predictor_hidden",
                                       "mined_projector_hidden", "mined_out")}
PRETRAIN["z_step"] = 64


def _cells(tasks):
    from mtneuro.bench.suite import expand, parse_suite

    params = {"task1": {"pretrain": PRETRAIN, "z_step": 64, "probe_cs": [1.0]},
              "task3": {"pretrain": PRETRAIN, "z_step": 64}}
    grid = [{"task": task, "setting": "roi-c1", "methods": ["myow"], "preset": "quick",
             "params": params[task]} for task in tasks]
    return expand(parse_suite({"name": "t", "source": "phantom", "source_params": {"seed": 0},
                               "seeds": [0], "grid": grid}))


def _record(out: Path, cell_id: str) -> dict:
    return json.loads((out / "cells" / cell_id / "metrics.json").read_text())


@pytest.mark.timeout(300)
def test_a_suite_pretrains_task1_and_task3_of_one_setting_once(tmp_path, monkeypatch):
    """A suite of task 1 and task 3 (roi-c1, myow, seed 0): task 3 loads task 1's encoder and
    scores exactly as the same cell alone in another folder, which pre-trains its own."""
    from mtneuro.bench.runner import RunOptions, run_suite

    calls = _count_trainings(monkeypatch)
    states = run_suite(_cells(["task1", "task3"]), RunOptions(tmp_path / "suite", quiet=True))
    assert [s.status for s in states] == ["complete", "complete"], [s.error for s in states]
    assert len(calls) == 1
    task1 = _record(tmp_path / "suite", "task1-roi-c1-myow-s0")
    task3 = _record(tmp_path / "suite", "task3-roi-c1-myow-s0")
    assert "shared_pretraining" not in task1
    (kept,) = (tmp_path / "suite" / "shared_encoders").iterdir()
    assert task3["shared_pretraining"] == {"reused": True,
                                           "files": [f"shared_encoders/{kept.name}"]}
    alone = run_suite(_cells(["task3"]), RunOptions(tmp_path / "alone", quiet=True))
    assert alone[0].status == "complete" and len(calls) == 2
    record = _record(tmp_path / "alone", "task3-roi-c1-myow-s0")
    assert "shared_pretraining" not in record
    assert task3["headline"] == record["headline"]
    assert task3["metrics"]["per_seed"] == record["metrics"]["per_seed"]
