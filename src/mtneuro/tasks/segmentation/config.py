"""Task-2 settings: :class:`Task2Config`, its training section :class:`TrainSettings`, and
the ``paper`` and ``quick`` presets (no torch, no segmentation extra).

Presets (MTNeuro ``task2_*`` configs, ``docs/protocols.md`` B.2/B.5):

* ``paper``: ``scripts/task2_main.py`` with the ``UNet_*`` network configs: whole
  256 x 256 tiles (8 x 256 x 256 blocks in 3D), every slice, batch 8 (3D: 1), plain SGD
  (no momentum, no weight decay) at lr 0.01 without a scheduler, cross-entropy, no
  augmentation, 5 epochs, fp32, the model after the last epoch. The reference starts
  smp encoders from ImageNet weights: pass ``encoder_weights="imagenet"``
  (``--encoder-weights imagenet``); the default stays random initialisation (no
  downloads), which the run's protocol card lists as a deviation.
* ``quick``: a few minutes on 2 idle CPU cores: every 4th training slice, every
  5th test slice, 200 steps of 8 random 128 x 128 crops, AdamW, Dice + CE; 3D
  every 2nd training block, every test block, 6 passes in batches of 4 random
  64-px crops of the 8-slice blocks (HighResNet, which never downsamples, takes
  10-15 minutes). Numbers from it are a pipeline check, not comparable with the paper.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from mtneuro.config import (
    CheckedConfig,
    check,
    from_mapping,
    in_unit_interval,
    one_of,
    positive,
    some_seeds,
)
from mtneuro.errors import ConfigError
from mtneuro.input_sides import check_crop_and_window, check_input_depth
from mtneuro.registry import check_choice
from mtneuro.vocab import AMP_MODES, MTNEURO_UNETS, SEGMENTATION_MODEL_DIMS, SEGMENTATION_MODELS


def _class_weights_ok(value: Any) -> bool:
    if isinstance(value, str):
        return value in ("none", "balanced")
    return all(v >= 0 for v in value) and any(v > 0 for v in value)


@dataclass(frozen=True)
class TrainSettings(CheckedConfig):
    """How to train (the ``train`` section of :class:`Task2Config`).

    Attributes:
        epochs: passes (of ``steps_per_epoch`` batches, or over all tiles).
        batch_size: tiles (crops) per step; MTNeuro uses 8.
        crop: side of the random training crops in pixels (256 = whole tiles).
        steps_per_epoch: batches per epoch; ``None`` = one pass over the training tiles.
        optimizer: ``"adamw"`` or ``"sgd"`` (MTNeuro: SGD lr 0.01 without momentum).
        momentum: SGD momentum (ignored by AdamW).
        lr: peak learning rate.
        schedule: ``"cosine"`` (per-step decay to 0) or ``"constant"`` (MTNeuro).
        weight_decay: decoupled (AdamW) or L2 (SGD) weight decay.
        loss: ``"ce"`` cross-entropy or ``"dice_ce"`` cross-entropy + soft Dice.
        class_weights: ``"none"``, ``"balanced"`` (inverse class frequency in the
            training masks, normalised to mean 1) or one weight per class.
        augment: random flips and 90-degree rotations of the crops.
        drop_last: drop the last partial batch of each pass over the tiles (MTNeuro keeps it).
        amp: autocast type, as pre-training's: ``"auto"`` (bf16 on CUDA, fp16 on GPUs
            without bf16, full precision on CPU), ``"none"``, ``"bf16"`` or ``"fp16"`` (CUDA;
            :func:`mtneuro.acceleration.autocast_dtype`).
        retain_cpu_memory: on CPU, keep freed memory for reuse while training
            (:func:`mtneuro.cpu_memory.retained_cpu_memory`): faster, higher peak memory.
        channels_last: train 2D models in NHWC memory format where it pays
            (:func:`mtneuro.acceleration.channels_last_pays`): for GPUs, whose mixed-precision
            convolutions prefer it; on 2 CPU cores a step is about even (0.96-1.16x,
            ``benchmarks/channels_last.py``).
            Results agree with NCHW to float rounding, not bit for bit, so the checkpoint
            records it and ``--resume`` with the other value is refused.
        checkpoint_every: epochs between training checkpoints (one is always written after
            the last epoch); what an interrupted run can lose, against the time and disk
            each write of the model and optimiser state costs. Not part of the run: a
            resume may change it.
    """

    epochs: int = field(default=5, metadata=positive())
    batch_size: int = field(default=8, metadata=positive())
    crop: int = field(default=256, metadata=positive())
    steps_per_epoch: int | None = field(default=None, metadata=positive())
    optimizer: Literal["adamw", "sgd"] = "adamw"
    momentum: float = field(default=0.9, metadata=check(lambda v: 0 <= v < 1, "float in [0, 1)"))
    lr: float = field(default=1e-3, metadata=positive("float"))
    schedule: Literal["constant", "cosine"] = "cosine"
    weight_decay: float = field(default=1e-4, metadata=check(lambda v: v >= 0, "float >= 0"))
    loss: Literal["ce", "dice_ce"] = "ce"
    class_weights: str | tuple[float, ...] = field(
        default="none",
        metadata=check(_class_weights_ok, "'none', 'balanced' or a list of non-negative weights"),
    )
    augment: bool = True
    drop_last: bool = True
    amp: Literal[AMP_MODES] = "auto"
    retain_cpu_memory: bool = True
    channels_last: bool = True
    checkpoint_every: int = field(default=1, metadata=positive())


@dataclass(frozen=True)
class Task2Config(CheckedConfig):
    """One task-2 experiment (validated by :func:`mtneuro.config.from_mapping`).

    Attributes:
        model: a segmentation model name (``unet``, ..., ``unet3d``, ``ssl-unet``).
        classes: 3 or 4 (see :data:`mtneuro.data.spec.SEGMENTATION_SETTINGS`).
        dim: ``"2d"`` or ``"3d"``; ``None`` takes the model's.
        source: volume source name (``phantom``, ``bossdb``, ``cache``, ...).
        source_params: keyword arguments of the source.
        seeds: one training run per seed; scores are summarised as mean +- std.
        encoder: ``ssl-unet`` encoder: a ``mtneuro pretrain`` checkpoint or user spec.
        encoder_name: smp encoder of the 2D models (default ``resnet18``).
        encoder_weights: smp encoder weights: ``"imagenet"`` (fetched and cached by smp,
            as MTNeuro) or a local file; ``None``: random initialisation.
        train_z_step: keep every n-th training slice/block.
        test_z_step: keep every n-th test slice/block.
        depth: slices per 3D block (the reference's ``volume_z``); ``None``: 8, as published.
            2D samples are single slices. A z range that is not a multiple of it ends with a
            block aligned to its end (:func:`~mtneuro.data.tiles.covering_starts`).
        window: side of the sliding inference window; ``None`` = ``train.crop``.
        overlap: overlap of neighbouring inference windows, in [0, 1).
        eval_batch_size: tiles per inference call.
        device: ``"auto"`` (CUDA if present), ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...
        examples_per_region: test tiles per region kept for the overlays.
        train: optimisation settings (:class:`TrainSettings`).
        preset: the preset the values started from (set by :func:`task2_config`; named in
            the protocol card, changes nothing by itself).
        quiet: no progress bars.
    """

    model: str = field(default="unet", metadata=one_of(SEGMENTATION_MODELS))
    classes: Literal[3, 4] = 4
    dim: Literal["2d", "3d"] | None = None
    source: str = "phantom"
    source_params: dict[str, Any] = field(default_factory=dict)
    seeds: tuple[int, ...] = field(default=(0,), metadata=some_seeds())
    encoder: str | None = None
    encoder_name: str | None = None
    encoder_weights: str | None = None
    train_z_step: int = field(default=1, metadata=positive())
    test_z_step: int = field(default=1, metadata=positive())
    depth: int | None = field(default=None, metadata=positive())
    window: int | None = field(default=None, metadata=positive())
    overlap: float = field(default=0.25, metadata=in_unit_interval())
    eval_batch_size: int = field(default=4, metadata=positive())
    device: str = "auto"
    examples_per_region: int = field(default=2, metadata=check(lambda v: v >= 0, "int >= 0"))
    train: TrainSettings = field(default_factory=TrainSettings)
    preset: Literal["paper", "quick"] | None = None
    quiet: bool = False


#: preset -> dim -> overrides (``train`` is a nested mapping).
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    # MTNeuro/networkconfig/UNet_{2D,3D}_*class.json with scripts/task2_main.py (lines
    # cited in docs/protocols.md); every field the reference fixes is set here.
    "paper": {
        dim: {
            "train_z_step": 1,
            "test_z_step": 1,
            "window": None,
            "train": {
                "epochs": 5,
                "batch_size": 8 if dim == "2d" else 1,
                "crop": 256,
                "steps_per_epoch": None,
                "optimizer": "sgd",
                "momentum": 0.0,
                "lr": 0.01,
                "schedule": "constant",
                "weight_decay": 0.0,
                "loss": "ce",
                "class_weights": "none",
                "augment": False,
                "drop_last": False,
                "amp": "none",
            },
        }
        for dim in ("2d", "3d")
    },
    "quick": {
        "2d": {
            "train_z_step": 4,
            "test_z_step": 5,
            "window": 256,
            "train": {
                "epochs": 8,
                "steps_per_epoch": 25,
                "batch_size": 8,
                "crop": 128,
                "optimizer": "adamw",
                "lr": 3e-3,
                "loss": "dice_ce",
                # seconds per epoch here, and every write is the whole model and optimiser
                # state (~160 MB for the U-Net): the run's last epoch only
                "checkpoint_every": 8,
            },
        },
        "3d": {
            "train_z_step": 2,
            "test_z_step": 1,
            "window": 128,
            "train": {
                "epochs": 6,
                "batch_size": 4,
                "crop": 64,
                "optimizer": "adamw",
                "lr": 3e-3,
                "loss": "dice_ce",
            },
        },
    },
}


def preset_values(name: str) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """Preset ``name`` of the task contract: :data:`PRESETS` for the dimension of the given
    ``dim``, else of the given ``model`` (default ``unet``), and ``preset: name``."""

    def values(given: Mapping[str, Any]) -> dict[str, Any]:
        model = check_choice("segmentation model", str(given.get("model") or Task2Config.model),
                             list(SEGMENTATION_MODEL_DIMS))
        dim = given.get("dim") or SEGMENTATION_MODEL_DIMS[model]
        if dim not in PRESETS[name]:  # the config's own check names the key and the value
            return {"preset": name}
        return {**PRESETS[name][dim], "preset": name}

    return values


def block_depth(config: Task2Config) -> int:
    """Slices per sample of a run: 1 in 2D, ``config.depth`` (default 8) in 3D."""
    from mtneuro.data.tiles import depth_of  # numpy: configs stay importable without it

    dim = config.dim or SEGMENTATION_MODEL_DIMS.get(config.model, "2d")
    return depth_of(dim) if dim == "2d" or config.depth is None else config.depth


def _check_depth(config: Task2Config) -> None:
    """``depth`` is for 3D runs, fits the model (:data:`~mtneuro.input_sides.
    MODEL_INPUT_DEPTHS`) and the shorter of the train and test z ranges."""
    if config.depth is None:
        return
    if (config.dim or SEGMENTATION_MODEL_DIMS.get(config.model)) == "2d":
        if config.depth != 1:
            raise ConfigError(f"depth: 2d samples are single slices, got {config.depth}; "
                              "depth applies to 3d models")
        return
    check_input_depth(config.model, "depth", config.depth)
    from mtneuro.data.spec import Z_SPLITS  # numpy: configs stay importable without it

    split = min(("train", "test"), key=lambda name: len(Z_SPLITS[name]))
    z = Z_SPLITS[split]
    if config.depth > len(z):
        raise ConfigError(f"depth: expected at most {len(z)} slices (the {split} z range "
                          f"[{z.start}, {z.stop})), got {config.depth}")


def check_task2(config: Task2Config) -> None:
    """What single fields cannot say: explicit ``train.class_weights`` number one per class,
    the model takes the crop and window sides
    (:func:`~mtneuro.input_sides.check_crop_and_window`), the 3D block ``depth``
    (:func:`~mtneuro.input_sides.check_input_depth`) and the encoder options fit the model.

    Raises:
        ConfigError: naming the key, its value and what was expected.
    """
    if config.source == "slice":  # named before its file is opened and checksummed
        raise ConfigError("source: 'slice' is one image slice without the pixel labels task 2 "
                          "trains and scores on; expected phantom, bossdb or cache")
    weights = config.train.class_weights
    if not isinstance(weights, str) and len(weights) != config.classes:
        raise ConfigError(f"train.class_weights: expected {config.classes} weights, one per "
                          f"class, got {len(weights)}")
    check_crop_and_window(config.model, config.train.crop, config.window)
    _check_depth(config)
    _check_encoder_options(config)


def _check_encoder_options(config: Task2Config) -> None:
    """``encoder`` is ssl-unet's (an SSL encoder under its decoder); ``encoder_name`` /
    ``encoder_weights`` are the 2D smp models'. Checked with the config, so the mistake is
    named before the encoder file is looked at."""
    if config.encoder is not None and config.model != "ssl-unet":
        raise ConfigError(f"encoder: applies to model 'ssl-unet' (a pre-trained encoder under "
                          f"its decoder), not {config.model!r}")
    given = [key for key in ("encoder_name", "encoder_weights") if getattr(config, key)]
    if not given:
        return
    if config.model == "ssl-unet":
        raise ConfigError(f"{' / '.join(given)}: {_verb(given)} to the 2D smp models; ssl-unet "
                          "takes --encoder")
    if config.model in MTNEURO_UNETS:
        raise ConfigError(f"{' / '.join(given)}: {_verb(given)} to the 2D smp models, not "
                          f"{config.model!r} (MTNeuro's own U-Net: no encoder, random Xavier "
                          "weights, as the reference's)")
    dim = config.dim or SEGMENTATION_MODEL_DIMS.get(config.model, "2d")
    if dim == "3d":
        raise ConfigError(f"{' / '.join(given)}: {_verb(given)} to the 2D smp models, not "
                          f"{config.model!r} (3d)")


def _verb(keys: list[str]) -> str:
    return "applies" if len(keys) == 1 else "apply"


def checked_task2_values(config_class: type, raw: Mapping[str, Any]) -> dict[str, Any]:
    """The task contract's ``complete`` step: raw task-2 values that pass
    :func:`check_task2` (checked where the config is built, so a run fails before any tile
    is read)."""
    check_task2(from_mapping(config_class, raw))
    return dict(raw)


def task2_config(preset: str | None = None, **overrides: Any) -> Task2Config:
    """Build a validated :class:`Task2Config` from a preset plus overrides.

    ``None`` overrides are ignored (unset CLI flags); ``train`` overrides merge
    key by key into the preset's ``train`` section.

    >>> task2_config("quick", model="unet", classes=4).train.crop
    128
    """
    from mtneuro.tasks.segmentation.task import TASK2

    return TASK2.make_config(preset, overrides)
