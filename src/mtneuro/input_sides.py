"""The image sides each segmentation network can take: one table, no torch.

The encoders of most networks halve the image several times and their decoders add the
halves back, so a side that does not divide by the total stride fails, often only at
evaluation (a sliding window of another size than the crops). The numbers were measured
on smp 0.6 and MONAI 1.6 (``tests/tasks_segmentation/test_input_sizes.py`` keeps them
honest): the smp encoders stride 32, and FPN, MAnet and UNet++ refuse sides it does not
divide; smp's U-Net resizes its skips and takes any side; PAN takes multiples of 16 from 128
(its pyramid attention pools the 1/16 map three more times); PSPNet multiples of 8; the
3D U-Net and V-Net halve H and W three times; HighResNet and ``ssl-unet`` take any side. The
depth of 3D blocks is checked the same way (:data:`MODEL_INPUT_DEPTHS`).

A base module (no layer, no torch): the task-2 config checks sizes without importing torch
(importing :mod:`mtneuro.models` imports it), and the model registry
(:mod:`mtneuro.models.segmentation`) reads the table from here and refuses a model without an
entry.
"""

from __future__ import annotations

from dataclasses import dataclass

from mtneuro.errors import ConfigError


@dataclass(frozen=True)
class InputSide:
    """What the height and width of a network's input must be.

    Attributes:
        multiple: the side must divide by it (1: any side).
        minimum: the smallest side.
    """

    multiple: int = 1
    minimum: int = 1

    def fits(self, side: int) -> bool:
        return side >= self.minimum and side % self.multiple == 0

    def describe(self) -> str:
        """``a multiple of 16, at least 128`` (what :meth:`fits` asks, in words)."""
        words = [f"a multiple of {self.multiple}"] if self.multiple > 1 else ["any side"]
        if self.minimum > 1:
            words.append(f"at least {self.minimum}")
        return ", ".join(words)

    def nearest(self, side: int) -> list[int]:
        """The fitting sides next to ``side`` (below, where there is one, and above)."""
        below = side // self.multiple * self.multiple
        above = below + self.multiple
        return [s for s in (below, above) if s >= self.minimum] or [self.minimum]


#: segmentation model name -> the input side it takes (height and width of crops and
#: inference windows; the depth of 3D blocks: :data:`MODEL_INPUT_DEPTHS`).
MODEL_INPUT_SIDES: dict[str, InputSide] = {
    "unet": InputSide(),
    "manet": InputSide(32),
    "fpn": InputSide(32),
    "unetplusplus": InputSide(32),
    "pan": InputSide(16, 128),
    "pspnet": InputSide(8),
    "ssl-unet": InputSide(),
    "unet3d": InputSide(8),
    "vnet": InputSide(8),
    "highresnet": InputSide(),
    "unet-mtneuro": InputSide(8),  # three 2x2 poolings
    "unet3d-mtneuro": InputSide(8),
}


#: 3D model name -> the depth (slices) of the blocks it takes, measured as the sides are:
#: the 3D U-Net and V-Net halve the depth three times (MONAI's U-Net gives a 7-slice block
#: back 8 slices deep and refuses other depths that are not multiples of 8, as V-Net does);
#: HighResNet does not downsample.
MODEL_INPUT_DEPTHS: dict[str, InputSide] = {
    "unet3d": InputSide(8),
    "vnet": InputSide(8),
    "highresnet": InputSide(),
    "unet3d-mtneuro": InputSide(8),
}


def check_input_depth(model: str, key: str, depth: int) -> None:
    """Refuse a 3D block depth that ``model`` cannot take.

    Args:
        model: a 3D segmentation model name (others are left to the caller).
        key: the config key that set ``depth``, for the message.
        depth: slices per block.

    Raises:
        ConfigError: naming ``key``, ``depth`` and what ``model`` needs.
    """
    _check(MODEL_INPUT_DEPTHS.get(model), model, key, depth, "blocks whose depth is {} slices")


def check_input_side(model: str, key: str, side: int) -> None:
    """Refuse a crop or window side that ``model`` cannot take.

    Args:
        model: a segmentation model name (unknown names are left to the model registry).
        key: the config key that set ``side`` (``train.crop``, ``window``), for the message.
        side: height and width in pixels.

    Raises:
        ConfigError: naming ``key``, ``side`` and what ``model`` needs.
    """
    _check(MODEL_INPUT_SIDES.get(model), model, key, side, "sides that are {}")


def _check(need: InputSide | None, model: str, key: str, value: int, takes: str) -> None:
    """Refuse ``value`` unless ``need`` (``None``: no rule) fits it; ``takes`` says what the
    model takes, ``{}`` standing for the rule."""
    if need is None or need.fits(value):
        return
    options = " or ".join(str(s) for s in need.nearest(value))
    raise ConfigError(f"{key}: model {model!r} takes {takes.format(need.describe())}, "
                      f"got {value}; use e.g. {options}")


def check_crop_and_window(model: str, crop: int, window: int | None) -> None:
    """Check the training crop and the inference window (``None``: the crop) of a task-2 run
    against :data:`MODEL_INPUT_SIDES`, so a bad size fails before training, not after it."""
    check_input_side(model, "train.crop", crop)
    if window is not None:
        check_input_side(model, "window", window)
