"""With ``drop_last=False`` (the paper preset) no training tile is dropped and no batch holds
a single tile: a last batch of one joins the batch before it (BatchNorm on a pooled map, as in
smp PAN, cannot train on one sample)."""

from __future__ import annotations

import numpy as np
import pytest

from mtneuro.tasks.segmentation.batches import CropBatches


def _batches(n, batch_size, drop_last=False, size=16):
    rng = np.random.default_rng(0)
    masks = rng.integers(0, 3, size=(n, size, size))
    # each tile's pixels hold its index, so a batch says which tiles it holds
    images = np.broadcast_to(np.arange(n, dtype=np.uint8)[:, None, None, None],
                             (n, 1, size, size)).copy()
    return CropBatches(images, masks, batch_size=batch_size, crop=size, augment=False,
                       drop_last=drop_last)


@pytest.mark.parametrize(("n", "batch_size", "sizes"),
                         [(9, 8, [9]), (17, 8, [8, 9]), (5, 2, [2, 3]),
                          (10, 8, [8, 2]), (16, 8, [8, 8]), (3, 1, [1, 1, 1])])
def test_a_last_batch_of_one_tile_joins_the_batch_before_it(n, batch_size, sizes):
    batches = _batches(n, batch_size)
    assert len(batches) == len(sizes)
    seen = []
    for image, mask in batches.epoch(0):
        assert image.shape[0] == mask.shape[0]
        seen.extend((image[:, 0, 0, 0] * 255).round().int().tolist())
    assert [len(b) for b in _split(seen, sizes)] == sizes
    assert sorted(seen) == list(range(n))  # every tile once: none dropped


def _split(values, sizes):
    out, start = [], 0
    for size in sizes:
        out.append(values[start : start + size])
        start += size
    return out


def test_drop_last_still_drops_the_partial_batch():
    batches = _batches(9, 8, drop_last=True)
    assert len(batches) == 1
    assert [image.shape[0] for image, _ in batches.epoch(0)] == [8]


def test_pan_trains_through_a_pass_whose_last_batch_held_one_tile():
    torch = pytest.importorskip("torch")
    pytest.importorskip("segmentation_models_pytorch")
    from mtneuro.models.segmentation import create_segmentation_model
    from mtneuro.tasks.segmentation.config import TrainSettings
    from mtneuro.tasks.segmentation.train import train_segmentation

    torch.manual_seed(0)
    model = create_segmentation_model("pan", 3, "2d")
    batches = _batches(3, 2, size=128)  # one batch of 3, not 2 + 1
    settings = TrainSettings(epochs=1, batch_size=2, crop=128, drop_last=False, amp="none",
                             optimizer="sgd", lr=0.01)
    history = train_segmentation(model, batches, settings, n_classes=3, quiet=True)
    assert len(history["loss_per_epoch"]) == 1 and history["steps"] == 1
