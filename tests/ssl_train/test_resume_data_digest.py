"""A pre-training resume on training images that changed under the same settings (an edited
image folder) is refused, naming the images, instead of finishing one run on two datasets
(own-data walkthrough F4)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mtneuro.cli.main import main
from mtneuro.ssl import trainer as trainer_module


def _images(root: Path, corner: int) -> None:
    """20 random images whose top-left pixel is ``corner`` (an edit to every file, so to
    the 14 of them the 70/30 split trains on)."""
    rng = np.random.default_rng(0)
    for cls in ("a", "b"):
        (root / cls).mkdir(parents=True, exist_ok=True)
        for i in range(10):
            array = rng.integers(0, 255, (32, 32), dtype=np.uint8)
            array[0, 0] = corner
            Image.fromarray(array).save(root / cls / f"{i}.png")


def _interrupted_run(args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    original = trainer_module.Trainer._run_epoch

    def interrupted(self, epoch, *rest):
        if epoch == 1:
            raise KeyboardInterrupt
        return original(self, epoch, *rest)

    monkeypatch.setattr(trainer_module.Trainer, "_run_epoch", interrupted)
    with pytest.raises(SystemExit):
        main(args)
    monkeypatch.setattr(trainer_module.Trainer, "_run_epoch", original)


def test_resume_on_changed_images_is_refused_and_on_the_same_ones_goes_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    root, out = tmp_path / "images", tmp_path / "run"
    _images(root, 7)
    every_epoch = tmp_path / "every_epoch.yaml"  # the quick preset writes every 5th epoch
    every_epoch.write_text("checkpoint_every: 1\n")
    args = ["pretrain", "--method", "byol", "--source", "folder", "--source-param",
            f"root={root}", "--source-param", "channels=1", "--source-param", "image_size=32",
            "--quick", "--quiet", "--epochs", "2", "--batch-size", "4", "--out", str(out),
            "--config", str(every_epoch)]
    _interrupted_run(args, monkeypatch)
    _images(root, 8)  # edited in place: same count, same settings
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--resume"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2, err
    assert "training_images was '14 images, SHA-256 " in err and "now '14 images, SHA-256" in err
    _images(root, 7)  # back as they were: the run goes on
    main([*args, "--resume"])
    assert (out / "encoder.pt").is_file()
