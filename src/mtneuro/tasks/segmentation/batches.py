"""Random-crop training batches drawn straight from uint8 tile arrays.

The whole training split is a few hundred 256 x 256 tiles, so it lives in
memory (``SegmentationTileDataset.arrays()``); drawing crops here avoids a
DataLoader per step. The draw depends only on ``(seed, epoch)``, so a run
resumed at epoch k sees exactly the batches an uninterrupted run would.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import numpy as np
import torch

from mtneuro.errors import ConfigError


class CropBatches:
    """Shuffled batches of random ``crop`` x ``crop`` windows, with flips and 90-degree turns.

    Args:
        images: uint8 ``(N, 1, H, W)`` (2D) or ``(N, 1, D, H, W)`` (3D) tiles.
        masks: int ``(N, H, W)`` or ``(N, D, H, W)`` class indices.
        batch_size: tiles per batch.
        drop_last: drop the last partial batch of a pass (when there are at least
            ``batch_size`` tiles), so BatchNorm never sees a batch of 1; ``False`` keeps
            it, as a PyTorch ``DataLoader`` does by default (MTNeuro's task 2), except that
            a last batch of a single tile joins the batch before it (see :meth:`__len__`).
        crop: side of the square crop in pixels (<= H, W); depth is kept whole.
        seed: base seed; epoch ``e`` draws from ``(seed, e)``.
        augment: random horizontal/vertical flips and 90-degree rotations.
        steps_per_epoch: batches per epoch; ``None`` is one pass over the tiles.

    Yields (per :meth:`epoch`):
        ``image`` float32 ``(B, 1, [D,] crop, crop)`` in [0, 1] and ``mask`` int64
        ``(B, [D,] crop, crop)``.
    """

    def __init__(
        self,
        images: np.ndarray,
        masks: np.ndarray,
        *,
        batch_size: int,
        crop: int,
        seed: int = 0,
        augment: bool = True,
        steps_per_epoch: int | None = None,
        drop_last: bool = True,
    ) -> None:
        if images.shape[0] != masks.shape[0] or images.shape[2:] != masks.shape[1:]:
            raise ConfigError(f"images {images.shape} and masks {masks.shape} do not match")
        height, width = images.shape[-2:]
        if not 1 <= crop <= min(height, width):
            raise ConfigError(f"crop: expected int in [1, {min(height, width)}], got {crop!r}")
        if images.shape[0] == 0:
            raise ConfigError("no training tiles")
        if batch_size > images.shape[0]:
            warnings.warn(f"batch_size {batch_size} is more than the {images.shape[0]} training "
                          f"tiles; each batch holds all {images.shape[0]}", UserWarning,
                          stacklevel=2)
        self.images, self.masks = images, masks
        self.batch_size, self.crop, self.seed = batch_size, crop, seed
        self.augment, self.steps, self.drop_last = augment, steps_per_epoch, drop_last

    def __len__(self) -> int:
        """Batches per epoch.

        With ``drop_last=False`` a pass whose last batch would hold one tile has one batch
        fewer: that tile joins the batch before it (``batch_size + 1`` tiles). In training
        mode BatchNorm cannot normalise a single sample on a pooled 1 x 1 map (smp PAN's
        attention branch: ``Expected more than 1 value per channel``), and dropping the tile
        would train on fewer tiles than the reference's ``DataLoader`` pass.
        """
        if self.steps is not None:
            return self.steps
        n = self.images.shape[0]
        if not self.drop_last:
            return -(-n // self.batch_size) - self._single_tile_folded()
        return max(1, n // self.batch_size) if n >= self.batch_size else 1

    def _single_tile_folded(self) -> bool:
        """Whether the last batch of a pass holds one tile that joins the batch before it.
        Batches of 1 tile asked for (``batch_size=1``, the 3D paper preset) stay as they are."""
        n = self.images.shape[0]
        return (self.steps is None and not self.drop_last and 1 < self.batch_size < n
                and n % self.batch_size == 1)

    def epoch(self, epoch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Batches of epoch ``epoch`` (deterministic given ``seed`` and ``epoch``)."""
        rng = np.random.default_rng((self.seed, epoch))
        n = self.images.shape[0]
        size = min(self.batch_size, n)
        needed = len(self) * size if self.drop_last or self.steps is not None else n
        order = np.concatenate([rng.permutation(n) for _ in range(-(-needed // n))])[:needed]
        height, width = self.images.shape[-2:]
        steps = len(self)
        for step in range(steps):
            # The last batch takes the rest of the pass: short (drop_last=False), or one
            # longer when it holds a single tile otherwise (see __len__).
            stop = needed if step == steps - 1 else (step + 1) * size
            index = order[step * size : stop]
            m = len(index)
            ys = rng.integers(0, height - self.crop + 1, size=m)
            xs = rng.integers(0, width - self.crop + 1, size=m)
            flips = rng.integers(0, 2, size=(m, 2)) if self.augment else np.zeros((m, 2), int)
            turns = rng.integers(0, 4, size=m) if self.augment else np.zeros(m, int)
            images, masks = [], []
            for i, y, x, (fy, fx), k in zip(index, ys, xs, flips, turns):
                image = self.images[i, ..., y : y + self.crop, x : x + self.crop]
                mask = self.masks[i, ..., y : y + self.crop, x : x + self.crop]
                image, mask = _orient(image, fy, fx, k), _orient(mask, fy, fx, k)
                images.append(image)
                masks.append(mask)
            image_batch = torch.from_numpy(np.stack(images)).float().div_(255.0)
            mask_batch = torch.from_numpy(np.stack(masks).astype(np.int64))
            yield image_batch, mask_batch


def _orient(array: np.ndarray, flip_y: int, flip_x: int, turns: int) -> np.ndarray:
    """Flip and rotate the last two axes (the same for image and mask)."""
    if flip_y:
        array = array[..., ::-1, :]
    if flip_x:
        array = array[..., ::-1]
    return np.ascontiguousarray(np.rot90(array, k=int(turns), axes=(-2, -1)))
