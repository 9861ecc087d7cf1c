"""Training: crops stay aligned, weights have known values, resume equals an uninterrupted run."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from mtneuro.checkpoint_io import save_state
from mtneuro.config import from_mapping
from mtneuro.errors import ConfigError, TrainingError
from mtneuro.tasks.segmentation.batches import CropBatches
from mtneuro.tasks.segmentation.config import TrainSettings
from mtneuro.tasks.segmentation.train import (
    SegmentationLoss,
    balanced_class_weights,
    train_segmentation,
)


def _tiles(n=6, size=24, depth=None, seed=0):
    rng = np.random.default_rng(seed)
    shape = (n, size, size) if depth is None else (n, depth, size, size)
    masks = rng.integers(0, 3, size=shape)
    images = (masks * 50).astype(np.uint8)[:, None]
    return images, masks


def _tiny_net():
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 3, 1)
    )


@pytest.mark.parametrize("depth", [None, 4])
def test_crops_keep_image_and_mask_aligned(depth):
    images, masks = _tiles(depth=depth)
    batches = CropBatches(images, masks, batch_size=4, crop=16, seed=3)
    seen = 0
    for image, mask in batches.epoch(0):
        assert image.shape == (4, 1, *((depth,) if depth else ()), 16, 16)
        assert mask.shape == (4, *((depth,) if depth else ()), 16, 16)
        torch.testing.assert_close(image[:, 0], mask.float() * 50 / 255)
        seen += 1
    assert seen == len(batches) == 1


def test_a_batch_size_beyond_the_tiles_says_so_and_batches_all_of_them():
    images, masks = _tiles()
    with pytest.warns(UserWarning, match=f"batch_size 100000 is more than the {len(images)} "
                                         f"training tiles; each batch holds all {len(images)}"):
        batches = CropBatches(images, masks, batch_size=100_000, crop=8)
    (image, _), = batches.epoch(0)
    assert image.shape[0] == len(images)


def test_batches_depend_only_on_seed_and_epoch():
    images, masks = _tiles()
    a = CropBatches(images, masks, batch_size=2, crop=8, seed=1, steps_per_epoch=3)
    b = CropBatches(images, masks, batch_size=2, crop=8, seed=1, steps_per_epoch=3)
    first = [m for _, m in a.epoch(2)]
    second = [m for _, m in b.epoch(2)]
    assert len(first) == 3
    assert all(torch.equal(x, y) for x, y in zip(first, second))
    assert not all(torch.equal(x, y) for x, y in zip(first, [m for _, m in a.epoch(3)]))
    with pytest.raises(ConfigError, match="crop"):
        CropBatches(images, masks, batch_size=2, crop=25)


def test_balanced_class_weights_known_values():
    masks = np.array([0, 0, 0, 0, 0, 0, 1, 1])
    # N / (C_present * n_c) = 8/12, 8/4 -> normalised to mean 1 -> 0.5, 1.5; absent class 0
    np.testing.assert_allclose(balanced_class_weights(masks, 3).numpy(), [0.5, 1.5, 0.0])


def test_dice_ce_is_zero_for_confident_correct_logits():
    target = torch.tensor([[[0, 1], [2, 1]]])
    logits = nn.functional.one_hot(target, 3).movedim(-1, 1).float() * 100
    assert SegmentationLoss("dice_ce")(logits, target).item() == pytest.approx(0.0, abs=1e-4)
    wrong = torch.roll(logits, 1, dims=1)
    assert SegmentationLoss("dice_ce")(wrong, target).item() > 1.0


def test_settings_validation():
    with pytest.raises(ConfigError, match="train.lr"):
        from_mapping(TrainSettings, {"lr": -1}, prefix="train")
    with pytest.raises(ConfigError, match="class_weights"):
        from_mapping(TrainSettings, {"class_weights": "inverse"})
    images, masks = _tiles()
    with pytest.raises(ConfigError, match="expected 3 weights"):
        train_segmentation(
            _tiny_net(),
            CropBatches(images, masks, batch_size=2, crop=8),
            TrainSettings(epochs=1, class_weights=(1.0, 2.0)),
            n_classes=3,
            quiet=True,
        )


def _dropout_net() -> nn.Module:
    """Dropout draws from torch's generator: resuming must restore its state too."""
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Dropout2d(0.5),
                         nn.Conv2d(8, 3, 1))


def _run(tmp_path, interrupt_at=None, resume=False, fingerprint=None, net=_tiny_net,
         **settings_values):
    torch.manual_seed(0)  # as run_task2: seed, then build the model, then train
    model = net()
    images, masks = _tiles()
    batches = CropBatches(images, masks, batch_size=2, crop=16, seed=0, steps_per_epoch=2)
    if interrupt_at is not None:
        real = batches.epoch

        def epoch(e):
            if e == interrupt_at:
                raise KeyboardInterrupt
            return real(e)

        batches.epoch = epoch
    settings = TrainSettings(**{"epochs": 3, "optimizer": "sgd", "lr": 0.1,
                                "class_weights": "balanced", "loss": "dice_ce",
                                **settings_values})
    history = train_segmentation(
        model,
        batches,
        settings,
        n_classes=3,
        checkpoint=tmp_path / "ck.pt",
        resume=resume,
        quiet=True,
        fingerprint=fingerprint or {"seed": 0},
    )
    return model, history


@pytest.mark.parametrize("net", [_tiny_net, _dropout_net])
def test_resume_matches_uninterrupted_run(tmp_path, net):
    straight, history = _run(tmp_path / "a", net=net)
    assert len(history["loss_per_epoch"]) == 3 and history["steps"] == 6
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path / "b", interrupt_at=1, net=net)
    resumed, history_b = _run(tmp_path / "b", resume=True, net=net)
    assert history_b["resumed_from_epoch"] == 1
    assert history_b["loss_per_epoch"] == history["loss_per_epoch"]
    for key, value in straight.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[key], value, rtol=0, atol=0)
    with pytest.raises(ConfigError, match=r"different run \(fingerprint.seed was 0, now 1\); "
                                          r"resume it with the settings it was started with, "
                                          r"use another --out, or start it afresh with "
                                          r"--overwrite instead of --resume$"):
        _run(tmp_path / "b", resume=True, fingerprint={"seed": 1})  # "drop --resume" failed


def test_checkpoint_without_rng_state_resumes_with_a_warning(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, interrupt_at=1, net=_dropout_net)
    path = tmp_path / "ck.pt"
    state = torch.load(path, weights_only=True)
    assert set(state["rng"]) == {"cpu"} and state["rng"]["cpu"].dtype == torch.uint8
    del state["rng"]  # as written before the generator state was saved
    save_state(path, state)
    with pytest.warns(UserWarning, match=f"checkpoint {path} holds no random-number state"):
        _run(tmp_path, resume=True, net=_dropout_net)


def test_resume_takes_the_thread_count_the_run_started_with(tmp_path, capsys):
    """CPU float sums depend on torch's thread count (set from the machine's load at start):
    a resumed run uses the count its checkpoint was written with."""
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        with pytest.raises(KeyboardInterrupt):
            _run(tmp_path, interrupt_at=1)
        torch.set_num_threads(1)
        _run(tmp_path, resume=True)
        assert torch.get_num_threads() == 2
        assert "with its 2 torch threads (not 1)" in capsys.readouterr().err
    finally:
        torch.set_num_threads(before)


def test_nan_loss_stops_training_and_names_the_checkpoint_it_keeps(tmp_path):
    images, masks = _tiles()
    batches = CropBatches(images, masks, batch_size=2, crop=8)

    class Broken(nn.Module):  # finite for the first epoch, NaN from the second
        def __init__(self):
            super().__init__()
            self.w, self.calls = nn.Parameter(torch.ones(1)), 0

        def forward(self, x):
            self.calls += 1
            factor = float("nan") if self.calls > len(batches) else 1.0
            return torch.cat([x, x, x], dim=1) * self.w * factor

    path = tmp_path / "seed0.pt"
    with pytest.raises(TrainingError, match=(
            rf"loss became nan at epoch 2; training stopped, the checkpoint of epoch 1 is kept "
            rf"in {path}; lower train.lr \(now 0.01\) and run again with --overwrite")):
        train_segmentation(Broken(), batches, TrainSettings(epochs=3, lr=0.01), n_classes=3,
                           checkpoint=path, quiet=True)
    assert torch.load(path, weights_only=True)["epoch"] == 1


def test_checkpoint_every_writes_every_nth_epoch_and_the_last(tmp_path, monkeypatch):
    """5 epochs, every 2nd: written after epochs 2, 4 and 5; a run stopped in epoch 4
    resumes from epoch 2, with other checkpoint_every, to an uninterrupted run's weights."""
    import mtneuro.tasks.segmentation.train as train_module

    written = []
    real_save = train_module.save_state
    monkeypatch.setattr(train_module, "save_state",
                        lambda path, state, **kw: (written.append(state["epoch"]),
                                                   real_save(path, state, **kw)))
    straight, history = _run(tmp_path / "a", epochs=5, checkpoint_every=2)
    assert written == [2, 4, 5]
    written.clear()
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path / "b", interrupt_at=3, epochs=5, checkpoint_every=2)
    assert written == [2]
    resumed, history_b = _run(tmp_path / "b", resume=True, epochs=5, checkpoint_every=1)
    assert history_b["resumed_from_epoch"] == 2 and written == [2, 3, 4, 5]
    assert history_b["loss_per_epoch"] == history["loss_per_epoch"]
    for key, value in straight.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[key], value, rtol=0, atol=0)


def test_nan_loss_names_the_last_checkpoint_written_not_the_last_epoch(tmp_path):
    images, masks = _tiles()
    batches = CropBatches(images, masks, batch_size=2, crop=8)

    class Broken(nn.Module):  # finite for three epochs, NaN in the fourth
        def __init__(self):
            super().__init__()
            self.w, self.calls = nn.Parameter(torch.ones(1)), 0

        def forward(self, x):
            self.calls += 1
            factor = float("nan") if self.calls > 3 * len(batches) else 1.0
            return torch.cat([x, x, x], dim=1) * self.w * factor

    path = tmp_path / "seed0.pt"
    with pytest.raises(TrainingError, match=r"loss became nan at epoch 4; training stopped, "
                                            r"the checkpoint of epoch 2 is kept in "):
        train_segmentation(Broken(), batches, TrainSettings(epochs=5, lr=0.01, checkpoint_every=2),
                           n_classes=3, checkpoint=path, quiet=True)
    assert torch.load(path, weights_only=True)["epoch"] == 2
