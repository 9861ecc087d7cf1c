"""End to end on a tiny analytic source: tiles, seeds, summary, metrics.json, overlays, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("segmentation_models_pytorch", reason="needs mtneuro[seg]")
pytest.importorskip("monai", reason="needs mtneuro[seg]")

from grid_source import GridSource  # noqa: E402

from mtneuro.errors import ConfigError  # noqa: E402
from mtneuro.tasks.segmentation import run as run_module  # noqa: E402
from mtneuro.tasks.segmentation.config import Task2Config, task2_config  # noqa: E402
from mtneuro.tasks.segmentation.run import run_task2  # noqa: E402

TINY = {
    "train_z_step": 100,
    "test_z_step": 50,
    "window": 256,
    "eval_batch_size": 8,
    "train": {"epochs": 1, "crop": 32, "batch_size": 2, "steps_per_epoch": 1},
}


def test_presets_and_overrides():
    quick = task2_config("quick", model="unet")
    assert (quick.train.crop, quick.train_z_step, quick.dim) == (128, 4, None)
    assert task2_config("quick", model="vnet").train.crop == 64
    paper = task2_config("paper", model="unet", train={"epochs": 2})
    assert (paper.train.optimizer, paper.train.lr, paper.train.epochs) == ("sgd", 0.01, 2)
    assert task2_config(None, model="pan", seeds=[0, 1]).seeds == (0, 1)
    with pytest.raises(ConfigError, match="overlap"):
        task2_config("quick", overlap=1.5)
    with pytest.raises(ConfigError, match="train_z_stp"):
        task2_config("quick", train_z_stp=2)
    with pytest.raises(ConfigError, match="preset"):
        task2_config("fast")
    with pytest.raises(ConfigError, match="unknown segmentation model"):
        task2_config("quick", model="unett")


def test_run_2d_three_classes_two_seeds(tmp_path):
    config = task2_config(None, model="unet", classes=3, seeds=[0, 1], **TINY)
    result = run_task2(config, source=GridSource(), checkpoint_dir=tmp_path, quiet=True)
    m = result["metrics"]
    # 3-class: all four regions; test z [420, 470) every 50th slice -> 1 tile per region
    assert m["setting"]["regions"] == ["cortex", "striatum", "thalamus", "zona_incerta"]
    assert (m["n_test_tiles"], m["n_train_tiles"]) == (4, 12)
    assert [s["seed"] for s in m["per_seed"]] == [0, 1]
    f1 = [s["scores"]["avg_f1"] for s in m["per_seed"]]
    assert m["summary"]["avg_f1"]["mean"] == pytest.approx(np.mean(f1))
    assert m["summary"]["avg_f1"]["std"] == pytest.approx(np.std(f1, ddof=1))
    cm = np.array(m["per_seed"][0]["scores"]["confusion_matrix"])
    assert cm.shape == (3, 3) and cm.sum() == 4 * 256 * 256
    # GridSource labels are (y + x) mod 4; label 3 (axon) is merged into class 0.
    assert cm.sum(axis=1).tolist() == [2 * 4 * 256 * 64, 4 * 256 * 64, 4 * 256 * 64]
    ex = result["examples"]
    assert ex["image"].shape == (4, 256, 256) and sorted(set(ex["region"].tolist())) == [0, 1, 2, 3]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seed0.pt", "seed1.pt"]
    json.dumps(m, allow_nan=True)  # plain data


def test_run_3d_four_classes():
    config = task2_config(
        None,
        model="unet3d",
        classes=4,
        **{**TINY, "train_z_step": 20, "test_z_step": 6, "window": 128, "examples_per_region": 1},
    )
    m = run_task2(config, source=GridSource(), quiet=True)["metrics"]
    # 4-class: no zona incerta; 50 test slices -> 6 blocks of 8, every 6th -> 1 per region
    assert m["setting"]["regions"] == ["cortex", "striatum", "thalamus"]
    assert m["n_test_tiles"] == 3 and m["train_tile_shape"] == [1, 8, 256, 256]
    assert m["window"] == [8, 128, 128]
    assert 0.0 <= m["summary"]["avg_iou"]["mean"] <= m["summary"]["avg_f1"]["mean"] <= 1.0


def test_inconsistent_options_fail_before_reading():
    with pytest.raises(ConfigError, match="is 2d, not 3d"):
        run_task2(task2_config(None, model="unet", dim="3d"), source=GridSource())
    with pytest.raises(ConfigError, match="ssl-unet"):
        run_task2(task2_config(None, model="unet", encoder="x.pt"), source=GridSource())


class _Unread:
    """A source that stops the run where it would first be read."""

    def __getattr__(self, name):
        raise _Stopped


class _Stopped(Exception):
    pass


def test_ssl_unet_without_an_encoder_says_its_encoder_is_random():
    with pytest.warns(UserWarning, match=r"^ssl-unet without an encoder: its ResNet-18 starts "
                      r"from random weights; give --encoder"), pytest.raises(_Stopped):
        run_task2(task2_config("quick", model="ssl-unet"), source=_Unread())


def test_cli_writes_metrics_and_overlays(tmp_path, monkeypatch):
    from mtneuro.cli.main import main
    from mtneuro.report.results import read_metrics

    monkeypatch.setattr(run_module, "open_source", lambda name, **kw: GridSource())
    out = tmp_path / "run"
    main(
        [
            "task2",
            "--model",
            "fpn",
            "--classes",
            "4",
            "--quiet",
            "--seeds",
            "3",
            "--epochs",
            "1",
            "--crop",
            "32",
            "--batch-size",
            "2",
            "--set",
            "train_z_step=100",
            "--set",
            "test_z_step=50",
            "--set",
            "window=256",
            "--set",
            "train.steps_per_epoch=1",
            "--set",
            "examples_per_region=1",
            "--out",
            str(out),
        ]
    )
    data = read_metrics(out)
    assert data["task"] == "task2" and data["config"]["model"] == "fpn"
    assert data["config"]["seeds"] == [3] and data["metrics"]["n_test_tiles"] == 3
    assert set(data["metrics"]["summary"]["f1"]) == {"background", "vessel", "cell", "axon"}
    assert sorted(p.name for p in out.glob("*.png")) == [
        "overlay_cortex.png",
        "overlay_striatum.png",
        "overlay_thalamus.png",
    ]


def test_cli_bad_model_is_one_line_error(capsys):
    from mtneuro.cli.main import main

    with pytest.raises(SystemExit) as code:
        main(["task2", "--model", "unet4", "--out", "/nonexistent/never-written"])
    assert code.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "model: expected one of unet, " in err and "got 'unet4'" in err
    assert "highresnet" in err


def test_config_defaults_are_the_mtneuro_model():
    config = Task2Config()
    assert (config.model, config.classes, config.source, config.train.batch_size) == (
        "unet",
        4,
        "phantom",
        8,
    )


def test_the_task2_command_says_what_its_checkpoints_cost(tmp_path):
    from mtneuro.cli.task2 import checkpoint_note

    assert checkpoint_note(tmp_path) is None
    (tmp_path / "checkpoints").mkdir()
    for seed in (0, 1):
        (tmp_path / "checkpoints" / f"seed{seed}.pt").write_bytes(b"x" * 3 * 2**20)
    assert checkpoint_note(tmp_path) == (
        f"kept 2 checkpoint(s) for --resume in {tmp_path / 'checkpoints'} (6 MiB); "
        "delete them once the run needs no resuming")
