"""Settings of a BYOL / MYOW / MYOW-merged pre-training: :class:`PretrainConfig` and presets.

Light (no torch): a task config nests a :class:`PretrainConfig` for its on-the-fly
pre-training (``Task1Config.pretrain``), resolved once when the task config is built
(:func:`task_pretrain_values`); ``mtneuro pretrain`` builds one with :func:`make_config`.
The run itself is :mod:`mtneuro.tasks.pretrain.run`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from mtneuro.config import (
    CheckedConfig,
    a_seed,
    check,
    in_unit_interval,
    one_of,
    positive,
    unknown_key_message,
)
from mtneuro.data.sources import SOURCE_NAMES
from mtneuro.errors import ConfigError
from mtneuro.tasks.api import configure
from mtneuro.vocab import AMP_MODES, COMPILE_MODES, SSL_METHODS, STEP_MODES, VISION_SOURCES

SOURCES = (*SOURCE_NAMES, *VISION_SOURCES)
METHODS = SSL_METHODS


#: the devices a pre-training runs on (MPS is not one)
PRETRAIN_DEVICES = "'cpu', 'cuda', 'cuda:N' or 'auto'"


def pretrains_on(device: str) -> bool:
    """Whether pre-training runs on ``device``: one of :data:`PRETRAIN_DEVICES`."""
    return device in ("auto", "cpu", "cuda") or re.fullmatch(r"cuda:\d+", device) is not None


@dataclass(frozen=True)
class PretrainConfig(CheckedConfig):
    """Every setting of a pre-training run; build it with :func:`make_config`.

    ``None`` means "derived": ``pool_size`` None is the batch size for MYOW (a separate
    pool batch, as in MTNeuro) and 0 for BYOL; ``backbone`` (the registry encoder trained,
    as ``Task1Config.backbone``; a task's ``encoder`` is a given one) ``"auto"`` is ``resnet18``
    for volumes and ``resnet18-small`` for vision sets.
    """

    method: Literal[SSL_METHODS] = "myow"
    source: str = field(default="phantom", metadata=one_of(SOURCES))
    source_params: dict[str, Any] = field(default_factory=dict)
    download: bool = False
    setting: Literal["roi-c1", "roi-c2", "roi-c3"] = "roi-c1"
    z_step: int = field(default=1, metadata=positive())
    crop: int = field(default=128, metadata=positive())
    # one crop offset for the whole batch (each view its own), as torchvision's RandomCrop
    # on a batch tensor in the MTNeuro view (xray.py); off: an offset per sample
    same_crop_on_batch: bool = False
    augment: Literal["auto", "mtneuro", "mtneuro-strong", "vision"] = "auto"
    backbone: str = "auto"
    backbone_params: dict[str, Any] = field(default_factory=dict)
    projector_hidden: int = field(default=4096, metadata=positive())
    projector_out: int = field(default=256, metadata=positive())
    predictor_hidden: int = field(default=4096, metadata=positive())
    mined_projector_hidden: int = field(default=4096, metadata=positive())
    mined_out: int = field(default=256, metadata=positive())
    k: int = field(default=1, metadata=positive())
    mine_space: Literal["target", "online"] = "target"
    # MYOW's query: view a, or a third view on its own forward (MTNeuro's image trainers)
    mining_view: Literal["a", "third"] = "a"
    # (byol + w * mined) / (1 + w), the MTNeuro image trainers (see mtneuro.ssl.myow)
    loss_mix: Literal["normalised", "convex", "add"] = "normalised"
    epochs: int = field(default=800, metadata=positive())
    batch_size: int = field(default=8, metadata=check(lambda v: v >= 2, "int >= 2"))
    # A 1-sample pool leaves no candidate for the sample drawn into it (it is excluded).
    pool_size: int | None = field(default=None, metadata=check(
        lambda v: v == 0 or v >= 2, "0 (mine within the batch) or an int >= 2"))
    optimizer: Literal["sgd", "lars", "adamw"] = "sgd"
    base_lr: float = field(default=0.03, metadata=positive("float"))
    lr_rule: Literal["lars", "fixed"] = "lars"
    momentum: float = field(default=0.9, metadata=in_unit_interval())
    weight_decay: float = field(default=5e-4, metadata=check(lambda v: v >= 0, "float >= 0"))
    # biases and normalisation weights get no weight decay (nor LARS adaptation), as in
    # BYOL; MTNeuro's task-1 scripts turn this off (exclude_bias_and_bn=False)
    exclude_bias_and_norm: bool = True
    warmup_epochs: float = field(default=10.0, metadata=check(lambda v: v >= 0, "float >= 0"))
    base_momentum: float = field(default=0.996, metadata=in_unit_interval(closed_right=True))
    mined_weight: float = field(default=0.1, metadata=check(lambda v: v >= 0, "float >= 0"))
    mined_rampup_epochs: float = field(default=10.0, metadata=check(lambda v: v >= 0, "float >= 0"))
    seed: int = field(default=0, metadata=a_seed())
    device: str = field(default="cpu", metadata=check(pretrains_on, PRETRAIN_DEVICES))
    amp: Literal[AMP_MODES] = "auto"
    channels_last: bool = True
    compile: bool = False
    retain_cpu_memory: bool = True
    # how the step is driven: see mtneuro.ssl.trainer.TrainSettings / ssl.acceleration
    step: Literal[STEP_MODES] = "auto"
    compile_mode: Literal[COMPILE_MODES] = "auto"
    fuse_target_views: bool = False
    prefetch_indices: bool = True
    sync_bn: bool = True
    log_every: int = field(default=10, metadata=positive())
    checkpoint_every: int = field(default=10, metadata=positive())
    # also inside an epoch, every this many minutes (an epoch of a large volume takes hours);
    # None: epoch boundaries only (mtneuro.ssl.epoch_position)
    checkpoint_minutes: float | None = field(default=10.0, metadata=check(
        lambda v: v >= 0, "float >= 0 (0: at every loss read-back) or null"))
    out_dir: Path = Path("runs/pretrain")
    resume: bool = False
    quiet: bool = False


#: Fields a resumed pre-training may change: how it logs, checkpoints and drives its steps
#: (the trainer's ``mtneuro.ssl.settings.RESUMABLE_CHANGES``), its output folder, ``resume``
#: itself, the device (``auto`` is recorded as the one that ran) and whether missing data
#: may be downloaded. Every other field is stored in the checkpoint and must match.
RESUMABLE_CHANGES = ("log_every", "checkpoint_every", "checkpoint_minutes", "quiet",
                     "retain_cpu_memory", "step", "compile_mode", "prefetch_indices", "out_dir",
                     "resume", "device", "download")

PRESETS: dict[str, dict[str, Any]] = {
    # MTNeuro's task-1 pre-training (docs/protocols.md), in mixed precision on a GPU
    "default": {"same_crop_on_batch": True, "exclude_bias_and_norm": False,
                "mining_view": "third"},
    # Seconds on 2 CPU cores: thinned tiles (every 16th slice: 68 for ROI-C1, 160 for
    # ROI-C3), 32 px crops, a 4-stage 16..128-wide ResNet, 128-wide heads, 25 epochs
    # (100 steps on ROI-C1, 250 on ROI-C3). Why these values, from a run that had 8
    # steps and left the encoder at its random initialisation:
    # * enough steps to learn: a 2x wider net on 32 px crops costs about what the
    #   8..64-wide net on 64 px crops did per step, and 100 steps take ~10 s on a core;
    # * EMA 0.97 (time constant ~33 steps) instead of 0.996 (~250 steps, longer than the
    #   whole run): with 0.996 the target never leaves its initialisation, so the online
    #   network regresses a random teacher and the result follows the init seed;
    # * widths 16..128 (not 8..64): the 8-wide net failed on some init seeds whatever
    #   the schedule (validation accuracy 0.43-0.65 vs 0.8-0.9 for other seeds);
    # * base_lr 1.0 (lr 0.0625 at batch 16 by the LARS rule): a short run needs larger
    #   steps; better than 0.3 on validation.
    # Warm-up and MYOW ramp: 1 epoch, i.e. 4% of the run (MTNeuro: 10 of 800 epochs);
    # 2.5 epochs did no better. All choices were compared on validation data only
    # (ROI-C1 training tiles for pre-training and probe, accuracy on sub-volume B,
    # which is in no test split), never on a test split.
    "quick": {
        "z_step": 16, "crop": 32, "backbone": "resnet-tiny",
        "backbone_params": {"widths": [16, 32, 64, 128]},
        "projector_hidden": 128, "projector_out": 64, "predictor_hidden": 128,
        "mined_projector_hidden": 128, "mined_out": 64,
        "epochs": 25, "batch_size": 16, "base_lr": 1.0, "base_momentum": 0.97,
        "warmup_epochs": 1.0, "mined_rampup_epochs": 1.0, "log_every": 1,
        # writes: 25 took 0.64 s of the ~11 s run, 5 take 0.27 s; a stop loses <= 4 epochs
        "checkpoint_every": 5,
    },
}
#: A task's full (not quick) pre-training: MTNeuro's, in fp32 as its scripts train.
PRESETS["paper"] = {**PRESETS["default"], "amp": "none"}


def make_config(
    preset: str = "default",
    overrides: Mapping[str, Any] | None = None,
    config_file: str | Path | None = None,
) -> PretrainConfig:
    """Preset, then the YAML file, then ``overrides`` (``None`` values ignored), validated once.
    The ``quick`` preset thins a volume file as it thins the MTNeuro volume: its ``z_step``
    becomes the file's ``z_step`` source parameter unless that is given
    (:func:`quick_volume_z_step`).

    Raises:
        ConfigError: unknown preset or key, or a bad value (one line naming it).
    """
    config = configure(PretrainConfig, PRESETS, preset, overrides, config_file, what="pretrain")
    z_step = quick_volume_z_step(config, preset)
    if z_step is None:
        return config
    return replace(config, source_params={**config.source_params, "z_step": z_step})


def quick_volume_z_step(config: PretrainConfig, preset: str) -> int | None:
    """The ``z_step`` source parameter the ``quick`` preset gives a volume file that has
    none (``None`` otherwise): every tile of every slice would make "quick" hours of
    training on a volume of a few hundred slices."""
    if preset != "quick" or config.source != "volume" or "z_step" in config.source_params:
        return None
    return int(PRESETS["quick"]["z_step"])


def pool_size_of(config: PretrainConfig) -> int:
    """``pool_size`` resolved: 0 (none) for BYOL, which mines nothing; for MYOW the one
    given, else the batch size."""
    if config.method == "byol":
        return 0
    return config.pool_size if config.pool_size is not None else config.batch_size


def check_processes(config: PretrainConfig, processes: int) -> None:
    """The global batch and MYOW's candidate pool split evenly among ``processes``
    (torchrun's), checked before any data is read.

    Raises:
        ConfigError: naming ``batch_size`` or ``pool_size``, its value and the count.
    """
    for key, size in (("batch_size", config.batch_size), ("pool_size", pool_size_of(config))):
        if processes > 1 and size % processes:
            raise ConfigError(f"{key}: {size} does not split among {processes} processes "
                              f"(each takes an equal share); use a multiple of {processes}")


#: The settings ``run.build_method`` passes to MYOW (and MYOW-merged) alone: the mined
#: branch's heads and the mining.
MYOW_METHOD_ARGS = ("mined_projector_hidden", "mined_out", "k", "mine_space", "loss_mix")
#: Settings only MYOW and MYOW-merged read: those, the mined loss term and the candidate
#: pool (``run.train_settings`` zeroes the weight, views from ``a`` and draws no pool for
#: BYOL: each step would embed a pool batch it never mines in).
MYOW_ONLY = (*MYOW_METHOD_ARGS, "mined_weight", "mined_rampup_epochs", "mining_view",
             "pool_size")
#: The settings of ``mtneuro.ssl.myow.CASCADED_ONLY`` (the second projector's sizes), which
#: MYOW-merged has no use for; named here, as this module must not import torch.
CASCADED_ONLY = ("mined_projector_hidden", "mined_out")


def source_settings_not_used(config: PretrainConfig) -> tuple[str, ...]:
    """The settings a run on ``config.source`` has no use for: ``setting`` and ``z_step``
    pick the MTNeuro volume's training tiles (an image set brings its own images, a volume
    file its ``z_step`` source parameter), and ``crop`` sizes crop views, which the
    ``vision`` views of image sources (``augment`` ``auto``) replace by the whole image."""
    if config.source not in VISION_SOURCES:
        return ()
    return ("setting", "z_step", *(("crop",) if config.augment in ("auto", "vision") else ()))


def method_settings_not_used(config: PretrainConfig) -> tuple[str, ...]:
    """The settings ``config.method`` has no use for: BYOL mines nothing (:data:`MYOW_ONLY`),
    MYOW-merged has no second projector (:data:`CASCADED_ONLY`)."""
    return {"byol": MYOW_ONLY, "myow-merged": CASCADED_ONLY}.get(config.method, ())


def settings_not_used(config: PretrainConfig) -> tuple[str, ...]:
    """The settings the run has no use for: its source's (:func:`source_settings_not_used`),
    then its method's (:func:`method_settings_not_used`)."""
    return (*source_settings_not_used(config), *method_settings_not_used(config))


#: Fields of a task's nested pre-training set by the task itself (its method, data and
#: device): a value given for one of them must agree with the task's.
TASK_FIELDS = ("method", "setting", "source", "source_params", "device")


def check_pretrain_keys(given: Any, prefix: str = "pretrain") -> None:
    """``given`` is ``None``, a :class:`PretrainConfig` or a mapping of its field names.

    Raises:
        ConfigError: anything else, or an unknown key (one line naming ``pretrain.<key>``).
    """
    if given is None or isinstance(given, PretrainConfig):
        return
    if not isinstance(given, Mapping):
        raise ConfigError(f"{prefix}: expected a mapping of pre-training settings, got {given!r}")
    fields = PretrainConfig.__dataclass_fields__
    for key in given:
        if key not in fields:
            raise ConfigError(unknown_key_message(prefix, key, list(fields)))


def task_pretrain_values(task: Mapping[str, Any], given: Any, *, quick: bool,
                         prefix: str = "pretrain") -> dict[str, Any]:
    """The complete pre-training values of a task-1 / task-3 run, resolved once.

    The ``quick`` or ``paper`` preset, then the task's method, setting, source and device
    (:data:`TASK_FIELDS`), the task's first seed, and ``quiet``; then ``given`` (the task
    config's ``pretrain`` values: a mapping or a :class:`PretrainConfig`) on top. The run
    pre-trains one encoder per task seed, with that seed; ``seed`` records the first.

    Args:
        task: the task's values (``method``, ``setting``, ``source``, ``source_params``,
            ``device``, ``seeds``).
        given: the user's ``pretrain`` values, or ``None``.
        quick: the task runs its quick preset.

    Raises:
        ConfigError: ``given`` sets a field of :data:`TASK_FIELDS`, or ``seed``, to another
            value than the task's (one line naming ``pretrain.<key>``).
    """
    if isinstance(given, PretrainConfig):
        given = {f: getattr(given, f) for f in given.__dataclass_fields__}
    check_pretrain_keys(given, prefix)
    given = dict(given or {})
    # Each task seed s pre-trains its own encoder with seed s; the record keeps the first.
    derived = {**{key: task[key] for key in TASK_FIELDS}, "seed": int(task["seeds"][0])}
    for key, value in derived.items():
        if key in given and given[key] != value and not (key == "source_params"
                                                          and dict(given[key]) == dict(value)):
            hint = (" (the first of the task's seeds: each seed pre-trains its own encoder "
                    f"with that seed; leave {prefix}.seed out, e.g. of a config saved by an "
                    "earlier run, or set the task's seeds)" if key == "seed" else "")
            raise ConfigError(f"{prefix}.{key}: set by the task ({value!r}), got "
                              f"{given[key]!r}{hint}")
    values = {**PRESETS["quick" if quick else "paper"], **derived,
              "quiet": bool(task.get("quiet", True))}
    values.update({k: v for k, v in given.items() if v is not None})
    return values
