"""Whole-slice / whole-block prediction with sliding windows, and test-set evaluation.

A network trained on ``crop`` x ``crop`` windows predicts a 256 x 256 tile (or
an 8 x 256 x 256 block) window by window; overlapping windows are blended with
Gaussian weights (:mod:`mtneuro.tasks.segmentation.sliding_window`, equal to MONAI
``sliding_window_inference`` without importing MONAI), so seams between windows do not
show. Scores come from counts accumulated image by image over the whole test set
(:mod:`mtneuro.tasks.segmentation.metrics`: pooled F1, per-image IoU).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from mtneuro.acceleration import autocast_dtype
from mtneuro.errors import ConfigError
from mtneuro.progress import LoopProgress
from mtneuro.registry import check_choice
from mtneuro.tasks.segmentation.metrics import ConfusionAccumulator
from mtneuro.tasks.segmentation.sliding_window import sliding_window_inference

Predictor = Callable[[torch.Tensor], torch.Tensor]
#: How overlapping windows are blended (MONAI's ``BlendMode`` values).
BLENDS = ("gaussian", "constant")


def sliding_window_logits(
    predictor: Predictor,
    images: torch.Tensor,
    window: Sequence[int],
    *,
    overlap: float = 0.25,
    blend: str = "gaussian",
    window_batch: int = 4,
) -> torch.Tensor:
    """Apply ``predictor`` over overlapping windows and blend the outputs.

    Args:
        predictor: maps ``(b, C_in, *window)`` to ``(b, C_out, *window)``.
        images: ``(N, C_in, H, W)`` or ``(N, C_in, D, H, W)``.
        window: spatial window size, ``(h, w)`` or ``(d, h, w)``; a size larger than the
            image is clipped to it.
        overlap: fraction of a window shared with its neighbour, in [0, 1).
        blend: ``"gaussian"`` (centre-weighted) or ``"constant"`` (plain average).
        window_batch: windows per predictor call.

    Returns:
        ``(N, C_out, *spatial)`` float32 blended outputs on the images' device.
    """
    if not 0 <= overlap < 1:
        raise ConfigError(f"overlap: expected float in [0, 1), got {overlap!r}")
    # checked here: a ConfigError names the choices, where the window code raises ValueError
    check_choice("blend", blend, BLENDS)
    spatial = images.shape[2:]
    if len(window) != len(spatial):
        raise ConfigError(
            f"window: expected {len(spatial)} sizes for images {tuple(images.shape)}, got {window}"
        )
    roi = [min(int(w), int(s)) for w, s in zip(window, spatial)]
    return sliding_window_inference(
        images, roi, window_batch, predictor, overlap=overlap, mode=blend
    )


@torch.no_grad()
def predict_tiles(
    model: nn.Module,
    images: np.ndarray,
    window: Sequence[int],
    *,
    overlap: float = 0.25,
    batch_size: int = 4,
    device: torch.device | str = "cpu",
    amp: str = "auto",
    progress: bool = False,
) -> np.ndarray:
    """Class prediction for every pixel of uint8 tiles.

    Args:
        model: segmentation network (put in eval mode here).
        images: uint8 ``(N, 1, H, W)`` or ``(N, 1, D, H, W)``.
        window: sliding-window size (spatial dims of ``images``).
        batch_size: tiles per sliding-window call.
        amp: autocast type (:func:`mtneuro.acceleration.autocast_dtype`): ``"auto"`` is
            bfloat16 on CUDA (float16 on GPUs without it), full precision on CPU.
        progress: a bar on a terminal, a line every 30 s in a log (3D inference on a CPU
            runs for minutes).

    Returns:
        uint8 ``(N, H, W)`` or ``(N, D, H, W)`` class indices.
    """
    device = torch.device(device)
    model.eval().to(device)
    dtype = autocast_dtype(amp, device)
    use_amp = dtype is not None

    def predictor(x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device.type, dtype=dtype, enabled=use_amp):
            return model(x).float()

    out = np.empty((images.shape[0], *images.shape[2:]), dtype=np.uint8)
    unit = "blocks" if images.ndim == 5 else "tiles"
    with LoopProgress(f"scoring test {unit}", images.shape[0], unit=unit,
                      enabled=progress) as bar:
        for start in range(0, images.shape[0], batch_size):
            chunk = (torch.from_numpy(images[start : start + batch_size]).to(device).float()
                     .div_(255.0))
            logits = sliding_window_logits(
                predictor, chunk, window, overlap=overlap, window_batch=batch_size
            )
            out[start : start + batch_size] = logits.argmax(dim=1).to(torch.uint8).cpu().numpy()
            bar.update(len(chunk))
    return out


def evaluate_tiles(
    model: nn.Module,
    images: np.ndarray,
    masks: np.ndarray,
    n_classes: int,
    window: Sequence[int],
    *,
    class_names: Sequence[str] | None = None,
    overlap: float = 0.25,
    batch_size: int = 4,
    device: torch.device | str = "cpu",
    amp: str = "auto",
    scored: np.ndarray | None = None,
    progress: bool = False,
) -> tuple[dict, np.ndarray]:
    """Predict every test tile and score it against ``masks`` (F1 pooled, IoU per image).

    Args:
        images: uint8 ``(N, 1, [D,] H, W)``.
        masks: int ``(N, [D,] H, W)`` true classes; each of the N tiles / blocks is one
            image of the per-image IoU.
        scored: boolean, shaped like ``masks``: the voxels scored (``None``: all); a block
            ending a z range leaves out the slices the block before it scores
            (:meth:`~mtneuro.data.datasets.SegmentationTileDataset.scored`).

    Returns:
        ``(scores, predictions)``: :func:`~mtneuro.tasks.segmentation.metrics.segmentation_scores`
        of the whole set, and uint8 predictions shaped like ``masks``.
    """
    predictions = predict_tiles(
        model, images, window, overlap=overlap, batch_size=batch_size, device=device, amp=amp,
        progress=progress,
    )
    accumulator = ConfusionAccumulator(n_classes)
    # Chunked so the int64 bincount keys of a large test set never sit in memory at once.
    for start in range(0, len(masks), 16):
        part = None if scored is None else scored[start : start + 16]
        accumulator.update(predictions[start : start + 16], masks[start : start + 16], part)
    return accumulator.scores(class_names), predictions
