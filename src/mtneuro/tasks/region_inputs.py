"""Task-1 inputs: whole tiles, resized tiles and their quadrant crops, as a recipe asks.

:class:`RegionInputs` holds the train / val / test arrays one task-1 run scores
(:class:`~mtneuro.tasks.region_protocol.RegionRecipe`):

* ``whole``: the 256 x 256 tiles as read, uint8 (the paper protocol; converted to
  [0, 1] one batch at a time by :func:`~mtneuro.tasks.tile_inputs.as_unit_float`);
* ``resized`` / ``quadrants``: tiles resized to ``input_size`` and, for the scored
  splits, cut into their four quadrant crops, each scored on its own with the tile's
  label. This is what the repository's ``BrainRegionDataset`` (``tresize=64``) does; the
  released task-1 scripts do not use it, the task-3 reference does
  (``BrainRegionDatasetInfer``).
* ``corners``: the four corner crops of whole test tiles (paper probe).

:func:`task1_input_shapes` gives the shapes a frozen encoder is fed, without the data.

Resizing and cropping: :mod:`mtneuro.tasks.tile_inputs`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from mtneuro.data.spec import TILE_SIZE
from mtneuro.data.tiles import depth_of
from mtneuro.tasks.encoder_inputs import READS_ENCODER, Shape
from mtneuro.tasks.region_protocol import resolve_recipe
from mtneuro.tasks.tile_inputs import corner_crops, quadrant_crops, resize_tiles


class RegionInputs:
    """Inputs of every split in the shapes a :class:`~mtneuro.tasks.region_protocol.RegionRecipe`
    scores: ``train_x`` / ``train_y`` (what models and heads train on), ``val_x`` /
    ``val_y`` and ``test_x`` / ``test_y`` (what is scored), and for the pixel baselines
    ``train_crops_x`` / ``train_crops_y`` (training inputs of the scored size).

    Args:
        data: ``{"train", "val", "test"}`` splits with uint8 ``images`` ``(N, 1, [D,] H, W)``
            and ``labels`` ``(N,)``.
        recipe: the run's recipe.
    """

    def __init__(self, data: dict, recipe) -> None:
        if recipe.input_size is None:  # whole tiles, kept uint8 until a batch is used
            prepared = {k: torch.from_numpy(np.ascontiguousarray(v.images)) for k, v in data.items()}
        else:
            prepared = {k: resize_tiles(v.images, recipe.input_size) for k, v in data.items()}
        self.train_x, self.train_y = prepared["train"], data["train"].labels
        #: the test tile each scored image comes from (its crops are resampled together)
        self.test_tile = np.repeat(np.arange(len(data["test"].labels)),
                                   4 if recipe.test_input in ("quadrants", "corners") else 1)
        for split in ("val", "test"):
            x, y = prepared[split], data[split].labels
            if recipe.test_input == "quadrants":
                x, y = quadrant_crops(x, y)
            elif recipe.test_input == "corners":
                x, y = corner_crops(x, recipe.crop, y)
            setattr(self, f"{split}_x", x)
            setattr(self, f"{split}_y", y)
        self.train_crops_x, self.train_crops_y = (
            quadrant_crops(self.train_x, self.train_y) if recipe.train_input == "quadrants"
            else (self.train_x, self.train_y)
        )


def task1_input_shapes(config: Any, tile: int = TILE_SIZE) -> tuple[Shape, ...]:
    """The shapes a task-1 ``config`` feeds its frozen encoder, training inputs first (none
    for a method that reads no encoder), as :class:`RegionInputs`
    and the probe head cut them from its recipe and tiles of side ``tile``."""
    if config.method not in READS_ENCODER:
        return ()
    recipe = resolve_recipe(config)
    sides = {"whole": tile, "random-crops": recipe.crop, "corners": recipe.crop,
             "resized": recipe.input_size,
             "quadrants": recipe.input_size // 2 if recipe.input_size else None}
    slices = (depth_of(config.dim),) if config.dim == "3d" else ()
    return tuple(dict.fromkeys((1, *slices, sides[kind], sides[kind])
                               for kind in (recipe.train_input, recipe.test_input)))
