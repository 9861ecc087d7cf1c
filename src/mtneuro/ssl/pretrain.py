"""Self-supervised pre-training as one call: ``run_pretrain(PretrainConfig(...)) -> dict``.

The defaults reproduce the MTNeuro configs (``MTNeuro/networkconfig/SSL_*_ResNet-18_2D.json``,
protocol notes section C): 1-channel X-ray ResNet-18 on random 128 x 128 crops of
the ROI-C1 training tiles, projector 512 -> 4096 -> 256, MYOW's second projector
256 -> 4096 -> 256, SGD with momentum 0.9 at ``0.03 * B / 256`` (the LARS scaling
rule), weight decay 5e-4, 10 warm-up epochs then cosine, target EMA 0.996 -> 1
(cosine), mined weight ramped to 0.1 over 10 epochs, k = 1, cosine mining in the
target network's space, batch 8, 800 epochs, candidate pool a separate batch.

Presets: ``default`` (the above) and ``quick`` (a small ResNet on 32 x 32 crops of
a thinned tile set, 25 epochs: well under a minute on 2 CPU cores; see ``PRESETS``).
Vision sources (``digits``, ``cifar10``, ``cifar100``, ``folder``) train a small-image
ResNet-18 on random-resized-crop views of the whole image.

Outputs in ``out_dir``: ``checkpoint.pt`` and ``train_log.jsonl`` (trainer) and
``encoder.pt`` (``mtneuro.models.checkpoint`` format, loadable with ``load_encoder``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch

from mtneuro.config import check, from_mapping, in_unit_interval, positive, to_dict
from mtneuro.data.sources import SOURCE_NAMES
from mtneuro.data.vision import VISION_SOURCES
from mtneuro.errors import ConfigError
from mtneuro.registry import check_choice
from mtneuro.vocab import XRAY_MEAN, XRAY_STD

SOURCES = (*SOURCE_NAMES, *VISION_SOURCES)
METHODS = ("byol", "myow", "myow-merged")
_MYOW_ONLY = ("mined_projector_hidden", "mined_out", "k", "mine_space", "loss_mix")


@dataclass(frozen=True)
class PretrainConfig:
    """Every setting of a pre-training run; build it with :func:`make_config`.

    ``None`` means "derived": ``pool_size`` None is the batch size for MYOW (a separate
    pool batch, as in MTNeuro) and 0 for BYOL; ``encoder`` ``"auto"`` is ``resnet18``
    for volumes and ``resnet18-small`` for vision sets.
    """

    method: Literal["byol", "myow", "myow-merged"] = "myow"
    source: str = field(default="phantom", metadata=check(lambda v: v in SOURCES,
                                                          "one of " + ", ".join(SOURCES)))
    source_params: dict[str, Any] = field(default_factory=dict)
    download: bool = False
    setting: Literal["roi-c1", "roi-c2", "roi-c3"] = "roi-c1"
    z_step: int = field(default=1, metadata=positive())
    crop: int = field(default=128, metadata=positive())
    augment: Literal["auto", "mtneuro", "mtneuro-strong", "vision"] = "auto"
    encoder: str = "auto"
    encoder_params: dict[str, Any] = field(default_factory=dict)
    projector_hidden: int = 4096
    projector_out: int = 256
    predictor_hidden: int = 4096
    mined_projector_hidden: int = 4096
    mined_out: int = 256
    k: int = field(default=1, metadata=positive())
    mine_space: Literal["target", "online"] = "target"
    loss_mix: Literal["add", "convex"] = "add"
    epochs: int = field(default=800, metadata=positive())
    batch_size: int = field(default=8, metadata=check(lambda v: v >= 2, "int >= 2"))
    pool_size: int | None = field(default=None, metadata=check(lambda v: v >= 0, "int >= 0"))
    optimizer: Literal["sgd", "lars", "adamw"] = "sgd"
    base_lr: float = field(default=0.03, metadata=positive("float"))
    lr_rule: Literal["lars", "fixed"] = "lars"
    momentum: float = field(default=0.9, metadata=in_unit_interval())
    weight_decay: float = field(default=5e-4, metadata=check(lambda v: v >= 0, "float >= 0"))
    warmup_epochs: float = field(default=10.0, metadata=check(lambda v: v >= 0, "float >= 0"))
    base_momentum: float = field(default=0.996, metadata=in_unit_interval(closed_right=True))
    mined_weight: float = field(default=0.1, metadata=check(lambda v: v >= 0, "float >= 0"))
    mined_rampup_epochs: float = field(default=10.0, metadata=check(lambda v: v >= 0, "float >= 0"))
    seed: int = 0
    device: Literal["cpu", "cuda"] = "cpu"
    amp: Literal["auto", "none", "bf16", "fp16"] = "auto"
    channels_last: bool = True
    compile: bool = False
    retain_cpu_memory: bool = True
    # how the step is driven: see mtneuro.ssl.trainer.TrainSettings / ssl.acceleration
    step: Literal["auto", "eager", "static", "cuda_graph"] = "auto"
    compile_mode: Literal["auto", "off", "default", "reduce-overhead", "max-autotune",
                          "max-autotune-no-cudagraphs"] = "auto"
    fuse_target_views: bool = False
    prefetch_indices: bool = True
    sync_bn: bool = True
    log_every: int = field(default=10, metadata=positive())
    checkpoint_every: int = field(default=10, metadata=positive())
    out_dir: Path = Path("runs/pretrain")
    resume: bool = False
    quiet: bool = False


PRESETS: dict[str, dict[str, Any]] = {
    "default": {},
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
        "z_step": 16, "crop": 32, "encoder": "resnet-tiny",
        "encoder_params": {"widths": [16, 32, 64, 128]},
        "projector_hidden": 128, "projector_out": 64, "predictor_hidden": 128,
        "mined_projector_hidden": 128, "mined_out": 64,
        "epochs": 25, "batch_size": 16, "base_lr": 1.0, "base_momentum": 0.97,
        "warmup_epochs": 1.0, "mined_rampup_epochs": 1.0, "log_every": 1,
        "checkpoint_every": 1,
    },
}


def make_config(
    preset: str = "default",
    overrides: Mapping[str, Any] | None = None,
    config_file: str | Path | None = None,
) -> PretrainConfig:
    """Preset, then the YAML file, then ``overrides`` (``None`` values ignored), validated once.

    Raises:
        ConfigError: unknown preset or key, or a bad value (one line naming it).
    """
    data = dict(PRESETS[check_choice("preset", preset, list(PRESETS))])
    if config_file is not None:
        import yaml

        path = Path(config_file)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        loaded = yaml.safe_load(path.read_text()) or {}
        if not isinstance(loaded, Mapping):
            raise ConfigError(f"{path}: expected a mapping at the top level")
        data.update(loaded)
    data.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return from_mapping(PretrainConfig, data)


# -- data and views --------------------------------------------------------------------
def load_training_images(config: PretrainConfig) -> tuple[torch.Tensor, dict[str, Any]]:
    """All training images of ``config.source`` as uint8 (N, C, H, W), plus provenance."""
    if config.source in VISION_SOURCES:
        from mtneuro.data.vision import load_vision

        params = dict(config.source_params)
        images = load_vision(config.source, "train", download=config.download, **params).images
        return images, {"source": config.source, "params": params, "split": "train"}
    from mtneuro.data.datasets import RegionTileDataset
    from mtneuro.data.sources import open_source

    source = open_source(config.source, **config.source_params)
    tiles = RegionTileDataset(source, config.setting, "train", "2d", z_step=config.z_step)
    provenance = {**source.describe(), "setting": config.setting, "split": "train",
                  "z_step": config.z_step, "tiles": len(tiles)}
    return torch.from_numpy(tiles.images), provenance


def build_view(config: PretrainConfig, images: torch.Tensor) -> tuple[Any, dict[str, Any]]:
    """The view function and the encoder's input spec (size, normalisation)."""
    from mtneuro.ssl import augment as aug

    kind = config.augment
    if kind == "auto":
        kind = "vision" if config.source in VISION_SOURCES else "mtneuro"
    if kind != "vision":
        size = min(config.crop, *images.shape[-2:])
        view = aug.mtneuro_view(size=size, strong=kind == "mtneuro-strong")
        return view, {"spatial_dims": 2, "size": size, "channels": int(images.shape[1]),
                      "mean": XRAY_MEAN, "std": XRAY_STD}
    # Per-channel statistics of the training images; a 4096-image subset is plenty.
    sample = images[:4096].float().div(255.0)
    mean = sample.mean(dim=(0, 2, 3)).tolist()
    std = sample.std(dim=(0, 2, 3)).clamp_min(1e-3).tolist()
    size = int(images.shape[-1])
    tiny = size <= 16  # 8x8 digits: milder crops, no flips (mirrored digits change meaning)
    steps: list[Any] = [aug.RandomResizedCrop(size, scale=(0.5, 1.0) if tiny else (0.2, 1.0))]
    if not tiny:
        steps.append(aug.RandomHorizontalFlip())
    steps += [aug.RandomBrightnessContrast(), aug.RandomGaussianNoise(std=0.05),
              aug.Normalize(mean=mean, std=std)]
    return aug.Compose(steps), {"spatial_dims": 2, "size": size, "channels": int(images.shape[1]),
                                "mean": mean, "std": std}


# -- model ------------------------------------------------------------------------------
def encoder_spec(config: PretrainConfig, channels: int) -> tuple[str, dict[str, Any]]:
    """Registry name and keyword arguments of the encoder."""
    name = config.encoder
    if name == "auto":
        name = "resnet18-small" if config.source in VISION_SOURCES else "resnet18"
    return name, {"in_channels": channels, **config.encoder_params}


def build_method(config: PretrainConfig, encoder: torch.nn.Module) -> torch.nn.Module:
    """BYOL / MYOW / MYOW-merged around ``encoder`` with the configured heads."""
    from mtneuro.ssl.myow import create_method

    kwargs = {k: getattr(config, k) for k in ("projector_hidden", "projector_out",
                                              "predictor_hidden")}
    if config.method != "byol":
        kwargs.update({k: getattr(config, k) for k in _MYOW_ONLY})
    return create_method(config.method, encoder, **kwargs)


def train_settings(config: PretrainConfig):
    """The trainer's settings: LR by the scaling rule, pool size resolved."""
    from mtneuro.ssl.schedules import lars_lr
    from mtneuro.ssl.trainer import TrainSettings

    pool = config.pool_size
    if pool is None:
        pool = 0 if config.method == "byol" else config.batch_size
    lr = lars_lr(config.base_lr, config.batch_size) if config.lr_rule == "lars" else config.base_lr
    return TrainSettings(
        epochs=config.epochs, batch_size=config.batch_size, lr=lr,
        warmup_epochs=config.warmup_epochs, base_momentum=config.base_momentum,
        mined_weight=config.mined_weight if config.method != "byol" else 0.0,
        mined_rampup_epochs=config.mined_rampup_epochs, pool_size=pool, seed=config.seed,
        log_every=config.log_every, checkpoint_every=config.checkpoint_every, amp=config.amp,
        channels_last=config.channels_last, compile=config.compile,
        retain_cpu_memory=config.retain_cpu_memory, quiet=config.quiet, step=config.step,
        compile_mode=config.compile_mode, fuse_target_views=config.fuse_target_views,
        prefetch_indices=config.prefetch_indices,
    )


# -- the run ----------------------------------------------------------------------------
def run_pretrain(config: PretrainConfig) -> dict[str, Any]:
    """Pre-train an encoder; under ``torchrun`` every process calls this.

    Returns:
        Run summary: ``steps``, ``epochs``, ``final_loss``, ``samples_per_s``, ``wall_s``,
        paths (``encoder``, ``log``, ``checkpoint``), ``source`` provenance,
        ``world_size`` and ``is_main`` (only the main process wrote files).

    Raises:
        ConfigError: bad settings; DataError: missing data;
        TrainingError: NaN/inf loss or a checkpoint that does not match.
    """
    from mtneuro.models.checkpoint import save_encoder
    from mtneuro.models.registry import create_encoder
    from mtneuro.ssl.distributed import (
        convert_sync_batchnorm,
        init_distributed,
        shutdown_distributed,
        wrap_ddp,
    )
    from mtneuro.ssl.optim import build_optimizer
    from mtneuro.ssl.trainer import Trainer

    settings = train_settings(config)
    # A process group the caller opened stays open; one opened here is closed here.
    owns_group = not (torch.distributed.is_available() and torch.distributed.is_initialized())
    info = init_distributed(config.device)
    try:
        images, provenance = load_training_images(config)
        view, input_spec = build_view(config, images)
        name, kwargs = encoder_spec(config, int(images.shape[1]))
        torch.manual_seed(config.seed)  # identical initial weights on every rank
        method = build_method(config, create_encoder(name, **kwargs)).to(info.device)
        if info.enabled and config.sync_bn:
            method = convert_sync_batchnorm(method, info.device)
        optimizer = build_optimizer(config.optimizer, method, settings.lr, config.weight_decay,
                                    config.momentum)
        trainer = Trainer(method, optimizer, images, view, settings, config.out_dir, dist=info,
                          wrap=lambda m: wrap_ddp(m, info))
        result = trainer.fit(resume=config.resume)
        encoder_path = Path(config.out_dir) / "encoder.pt"
        if info.is_main:
            meta = {"method": config.method, "epochs": result["epochs"], "steps": result["steps"],
                    "seed": config.seed, "source": config.source, "final_loss": result["final_loss"]}
            # SyncBatchNorm layers do not fit the registry encoder: save a plain copy.
            save_encoder(encoder_path, _plain_encoder(method.online_encoder, name, kwargs),
                         name=name, kwargs=kwargs, input_spec=input_spec, meta=meta)
    finally:
        if owns_group:
            shutdown_distributed()
    return {**result, "encoder": str(encoder_path), "source": provenance, "method": config.method,
            "n_images": int(images.shape[0]), "lr": settings.lr, "pool_size": settings.pool_size,
            "world_size": info.world_size, "is_main": info.is_main}


def _plain_encoder(encoder: torch.nn.Module, name: str, kwargs: dict[str, Any]) -> torch.nn.Module:
    """A fresh registry-built encoder carrying ``encoder``'s weights (drops BN conversion)."""
    from mtneuro.models.registry import create_encoder

    plain = create_encoder(name, **kwargs)
    plain.load_state_dict(encoder.state_dict())
    return plain


def config_dict(config: PretrainConfig) -> dict[str, Any]:
    """Plain-data view for ``metrics.json``."""
    return to_dict(config)


__all__ = ["METHODS", "PRESETS", "SOURCES", "PretrainConfig", "make_config", "run_pretrain"]
