"""``retained_cpu_memory`` moves large buffers from per-buffer mmaps to the reusable
heap, and the task training loops run inside it on CPU (the SSL trainer's: ssl_train)."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest
import torch
from torch import nn

from mtneuro import cpu_memory
from mtneuro.cpu_memory import retained_cpu_memory
from mtneuro.models.registry import create_encoder
from mtneuro.tasks.segmentation.batches import CropBatches
from mtneuro.tasks.segmentation.config import TrainSettings
from mtneuro.tasks.segmentation.train import train_segmentation
from mtneuro.tasks.supervised import SupervisedSettings, train_classifier


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def _where_a_live_buffer_sits() -> dict[str, int]:
    """glibc's heap (``arena``) and mmapped (``hblkhd``) bytes while a 256 MiB tensor lives."""
    mallinfo2 = ctypes.CDLL(None).mallinfo2
    mallinfo2.restype = _MallInfo2
    buffer = torch.empty(64 * 2**20)  # 256 MiB: far above glibc's largest mmap threshold
    info = mallinfo2()
    del buffer
    return {"heap": info.arena, "mmapped": info.hblkhd}


@pytest.mark.skipif(
    cpu_memory._glibc_mallopt() is None or not hasattr(ctypes.CDLL(None), "mallinfo2"),
    reason="needs glibc >= 2.33 (Linux)",
)
def test_retained_memory_puts_large_buffers_on_the_heap_and_restores_mmap():
    size = 256 * 2**20
    before = _where_a_live_buffer_sits()
    with retained_cpu_memory() as applied:
        with retained_cpu_memory():  # a nested block leaves the setting to the outer one
            pass
        inside = _where_a_live_buffer_sits()
    after = _where_a_live_buffer_sits()
    assert applied
    # Outside: a fresh mmap per buffer (zero-filled pages faulted in on every use).
    assert before["mmapped"] >= size and after["mmapped"] >= size
    # Inside: heap memory, which free() keeps and the next buffer reuses.
    assert inside["mmapped"] < size <= inside["heap"]
    with retained_cpu_memory(enabled=False) as applied:
        assert not applied
    with retained_cpu_memory(device="cuda") as applied:  # GPU memory is cached by torch
        assert not applied


@pytest.mark.parametrize("retain", [True, False])
def test_segmentation_training_runs_inside_retained_memory(retained_memory_calls, retain):
    rng = np.random.default_rng(0)
    masks = rng.integers(0, 3, size=(4, 16, 16))
    batches = CropBatches((masks * 50).astype(np.uint8)[:, None], masks, batch_size=2, crop=16)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.Conv2d(4, 3, 1))
    train_segmentation(model, batches, TrainSettings(epochs=1, retain_cpu_memory=retain),
                       n_classes=3, quiet=True)
    assert retained_memory_calls == [(retain, "cpu")]


@pytest.mark.parametrize("retain", [True, False])
def test_supervised_training_runs_inside_retained_memory(retained_memory_calls, retain):
    encoder = create_encoder("resnet-tiny", in_channels=1, widths=(4, 8))
    images, labels = torch.rand(8, 1, 16, 16), np.arange(8) % 2
    settings = SupervisedSettings(epochs=1, batch_size=4, retain_cpu_memory=retain)
    train_classifier(encoder, 2, (images, labels), (images, labels), settings, seed=0)
    assert retained_memory_calls == [(retain, "cpu")]
