"""Self-supervised pre-training: :func:`pretrain_encoder` (images in memory -> encoder in
memory, what the tasks call) and :func:`run_pretrain` (``mtneuro pretrain``: reads its
images and writes ``encoder.pt``); settings in :mod:`mtneuro.tasks.pretrain.config`.

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

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from mtneuro.config import to_dict
from mtneuro.data.spec import TILE_SIZE
from mtneuro.data.spec import check_crop as check_tile_crop
from mtneuro.errors import ConfigError
from mtneuro.tasks.pretrain.config import (
    CASCADED_ONLY,
    MYOW_METHOD_ARGS,
    RESUMABLE_CHANGES,
    PretrainConfig,
    pool_size_of,
)
from mtneuro.torchrun_env import torchrun_int
from mtneuro.vocab import VISION_SOURCES, XRAY_MEAN, XRAY_STD

if TYPE_CHECKING:
    from mtneuro.ssl.settings import RunConfig



# -- data and views --------------------------------------------------------------------
def load_training_images(config: PretrainConfig) -> tuple[torch.Tensor, dict[str, Any]]:
    """All training images of ``config.source`` as uint8 (N, C, H, W), plus provenance."""
    if config.source == "volume":  # a user's own volume file: every tile trains
        from mtneuro.data.volume_file import volume_tiles

        params = dict(config.source_params)
        images = volume_tiles(**params).images
        return images, {"source": "volume", "params": params, "tiles": int(images.shape[0])}
    if config.source in VISION_SOURCES:
        from mtneuro.data.vision import load_vision

        params = dict(config.source_params)
        images = load_vision(config.source, "train", download=config.download, **params).images
        return images, {"source": config.source, "params": params, "split": "train"}
    from mtneuro.data.datasets import RegionTileDataset
    from mtneuro.data.sources import open_source

    source = open_source(config.source, **config.source_params)
    tiles = RegionTileDataset(source, config.setting, "train", "2d", z_step=config.z_step,
                              progress=not config.quiet)
    provenance = {**source.describe(), "setting": config.setting, "split": "train",
                  "z_step": config.z_step, "tiles": len(tiles)}
    return torch.from_numpy(tiles.images), provenance


def view_kind(config: PretrainConfig) -> str:
    """``config.augment`` with ``auto`` resolved: ``vision`` for vision sets, else ``mtneuro``."""
    if config.augment == "auto":
        return "vision" if config.source in VISION_SOURCES else "mtneuro"
    return config.augment


def check_crop(config: PretrainConfig, side: int = TILE_SIZE) -> None:
    """A crop view (every kind but ``vision``) fits in images of ``side`` pixels.

    Raises:
        ConfigError: the crop is larger (never clamped silently; the check and message are
            the CLI's, :func:`mtneuro.data.spec.check_crop`).
    """
    if view_kind(config) != "vision":
        check_tile_crop(config.crop, "crop", side,
                        "a volume tile" if side == TILE_SIZE else "the training images")


def build_view(config: PretrainConfig, images: torch.Tensor) -> tuple[Any, dict[str, Any]]:
    """The view function and the encoder's input spec (size, normalisation).

    Raises:
        ConfigError: the crop is larger than the images (:func:`check_crop`).
    """
    from mtneuro.ssl import augment as aug

    kind = view_kind(config)
    if kind != "vision":
        check_crop(config, min(images.shape[-2:]))
        size = config.crop
        view = aug.mtneuro_view(size=size, strong=kind == "mtneuro-strong",
                                same_on_batch=config.same_crop_on_batch)
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
    name = config.backbone
    if name == "auto":
        name = "resnet18-small" if config.source in VISION_SOURCES else "resnet18"
    return name, {"in_channels": channels, **config.backbone_params}


def build_method(config: PretrainConfig, encoder: torch.nn.Module) -> torch.nn.Module:
    """BYOL / MYOW / MYOW-merged around ``encoder`` with the configured heads."""
    from mtneuro.ssl.myow import create_method

    kwargs = {k: getattr(config, k) for k in ("projector_hidden", "projector_out",
                                              "predictor_hidden")}
    if config.method != "byol":
        # the merged layout has no second projector / predictor to size (and refuses sizes)
        unused = CASCADED_ONLY if config.method == "myow-merged" else ()
        kwargs.update({k: getattr(config, k) for k in MYOW_METHOD_ARGS if k not in unused})
    return create_method(config.method, encoder, **kwargs)


def train_settings(config: PretrainConfig):
    """The trainer's settings: LR by the scaling rule, pool size resolved."""
    from mtneuro.ssl.schedules import lars_lr
    from mtneuro.ssl.trainer import TrainSettings

    pool = pool_size_of(config)
    lr = lars_lr(config.base_lr, config.batch_size) if config.lr_rule == "lars" else config.base_lr
    return TrainSettings(
        epochs=config.epochs, batch_size=config.batch_size, lr=lr,
        warmup_epochs=config.warmup_epochs, base_momentum=config.base_momentum,
        mined_weight=config.mined_weight if config.method != "byol" else 0.0,
        mined_rampup_epochs=config.mined_rampup_epochs, pool_size=pool, seed=config.seed,
        mining_view=config.mining_view if config.method != "byol" else "a",
        log_every=config.log_every, checkpoint_every=config.checkpoint_every,
        checkpoint_minutes=config.checkpoint_minutes, amp=config.amp,
        channels_last=config.channels_last, compile=config.compile,
        retain_cpu_memory=config.retain_cpu_memory, quiet=config.quiet, step=config.step,
        compile_mode=config.compile_mode, fuse_target_views=config.fuse_target_views,
        prefetch_indices=config.prefetch_indices,
    )


# -- the run ----------------------------------------------------------------------------
@dataclass
class PretrainedEncoder:
    """A pre-trained encoder in memory.

    Attributes:
        encoder: a plain registry encoder (no SyncBatchNorm, no DDP) with the online
            encoder's weights, attribute ``input_spec`` set.
        name, kwargs: the registry name and arguments that rebuild it.
        input_spec: the view's size, channels and normalisation, plus the encoder's facts.
        summary: the trainer's result (``steps``, ``epochs``, ``final_loss``, ...) with
            ``lr``, ``pool_size``, ``n_images``, ``world_size``, ``is_main``, and what ran
            with ``auto`` resolved: ``backbone`` (registry name) and ``view`` (``kind``,
            ``size``: the crop, or the whole image for ``vision`` views).
    """

    encoder: torch.nn.Module
    name: str
    kwargs: dict[str, Any]
    input_spec: dict[str, Any]
    summary: dict[str, Any]


def pretrain_encoder(config: PretrainConfig, images: torch.Tensor, *,
                     out_dir: str | Path | None = None, resume: bool = False,
                     resume_hint: str = "") -> PretrainedEncoder:
    """Pre-train an encoder on ``images``; under ``torchrun`` every process calls this.

    Args:
        config: the settings (its ``source`` only chooses the view and default encoder).
        images: the training images, uint8 ``(N, C, H, W)``, already loaded (a task passes
            its own training tiles).
        out_dir: where the trainer writes ``train_log.jsonl`` and ``checkpoint.pt``;
            ``None``: nothing is written.
        resume: continue from ``out_dir/checkpoint.pt``; a refusal ends with ``resume_hint``.

    Raises:
        ConfigError: bad settings, or a checkpoint whose stored config differs from
        ``config`` (:func:`check_resumable`); TrainingError: NaN/inf loss, or an older
        checkpoint (no stored config) whose settings differ.
    """
    from mtneuro.models.checkpoint import with_encoder_facts
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
        view, input_spec = build_view(config, images)
        name, kwargs = encoder_spec(config, int(images.shape[1]))
        torch.manual_seed(config.seed)  # identical initial weights on every rank
        # Checkpoints store the global Python and NumPy states too: seeded, two runs of one
        # config write identical checkpoints (and anything drawing from them repeats).
        random.seed(config.seed)
        np.random.seed(config.seed)
        method = build_method(config, create_encoder(name, **kwargs)).to(info.device)
        if info.enabled and config.sync_bn:
            method = convert_sync_batchnorm(method, info.device)
        optimizer = build_optimizer(config.optimizer, method, settings.lr, config.weight_decay,
                                    config.momentum,
                                    exclude_bias_and_norm=config.exclude_bias_and_norm)
        trainer = Trainer(method, optimizer, images, view, settings, out_dir, dist=info,
                          wrap=lambda m: wrap_ddp(m, info),
                          run_config=run_config(config, images))
        result = trainer.fit(resume=resume, resume_hint=resume_hint)
        # SyncBatchNorm layers do not fit the registry encoder: keep a plain copy.
        encoder = _plain_encoder(method.online_encoder, name, kwargs)
    finally:
        if owns_group:
            shutdown_distributed()
    encoder.input_spec = with_encoder_facts(encoder, input_spec)
    # what ran, with "auto" resolved (the config keeps what the user asked for)
    summary = {**result, "method": config.method, "n_images": int(images.shape[0]),
               "backbone": name, "view": {"kind": view_kind(config), "size": input_spec["size"]},
               "lr": settings.lr, "pool_size": settings.pool_size,
               "world_size": info.world_size, "is_main": info.is_main}
    return PretrainedEncoder(encoder, name, kwargs, dict(encoder.input_spec), summary)


def _check_enough_images(config: PretrainConfig, n_images: int) -> None:
    """A batch fits in the images the source gave; the trainer's own check cannot say which
    source and settings gave so few."""
    if n_images >= config.batch_size:
        return
    params = ", ".join(f"{k}={v}" for k, v in config.source_params.items())
    smaller = (" or a smaller tile (--source-param tile=N: more tiles per slice)"
               if config.source == "volume" else "")
    fix = (f"pass --batch-size {n_images} or less (batch_size in a config){smaller}"
           if n_images >= 2 else  # no batch of 2 fits: only more images help
           f"give the source more images (a batch holds at least 2){smaller}")
    raise ConfigError(f"batch_size: source {config.source}{f' ({params})' if params else ''} "
                      f"gave {n_images} training images, fewer than one batch of "
                      f"{config.batch_size}; {fix}")


def run_pretrain(config: PretrainConfig) -> dict[str, Any]:
    """``mtneuro pretrain``: read ``config.source``'s training images, pre-train, and write
    ``encoder.pt`` (main rank) beside the trainer's files in ``config.out_dir``.

    Returns:
        Run summary: ``steps``, ``epochs``, ``final_loss``, ``samples_per_s``, ``wall_s``,
        paths (``encoder``, ``log``, ``checkpoint``), ``source`` provenance,
        ``world_size`` and ``is_main`` (only the main process wrote files).
    """
    from mtneuro.ssl.distributed import init_distributed, shutdown_distributed
    from mtneuro.tasks.pretrain.records import ENCODER_NAME, save_pretrained

    # The process group first, so that torchrun tags every process's errors (data too).
    if config.source not in VISION_SOURCES:
        check_crop(config)  # before the tiles are read, as the CLI does
    if config.resume:
        check_resumable(config)  # before the images are read (tens of seconds)
    owns_group = not (torch.distributed.is_available() and torch.distributed.is_initialized())
    init_distributed(config.device)
    try:
        images, provenance = load_training_images(config)
        _check_enough_images(config, int(images.shape[0]))
        # the trainer checks again, the images' digest judging other source parameters
        trained = pretrain_encoder(config, images, out_dir=config.out_dir, resume=config.resume,
                                   resume_hint=_RESUME_HINT)
    finally:
        if owns_group:
            shutdown_distributed()
    result = trained.summary
    encoder_path = Path(config.out_dir) / ENCODER_NAME
    if result["is_main"]:
        save_pretrained(config, trained, encoder_path, int(images.shape[0]))
    return {**result, "encoder": str(encoder_path), "source": provenance}


def run_config(config: PretrainConfig, images: torch.Tensor | None = None) -> RunConfig:
    """``config`` as checkpoints store it and a resume compares it: plain JSON values, every
    field but :data:`~mtneuro.tasks.pretrain.config.RESUMABLE_CHANGES` compared; with
    ``images``, also their count and content digest (``training_images``), so a resume on
    images that changed under the same source settings (an edited image folder, a refilled
    cache) is refused instead of mixing two datasets in one run. ``source_params`` are
    judged by that digest (:attr:`RunConfig.judged_by`): ``seed=0`` given for the phantom's
    default, or a cache's root spelt relative or moved, read the same images and resume."""
    from mtneuro.checkpoint_io import content_digest
    from mtneuro.ssl.settings import RunConfig

    values = _plain(config)
    if images is not None:
        values[TRAINING_IMAGES_KEY] = (f"{int(images.shape[0])} images, SHA-256 "
                                       f"{content_digest(images)[:16]}")
    return RunConfig(values, frozenset(RESUMABLE_CHANGES), _plain(PretrainConfig()),
                     judged_by={"source_params": TRAINING_IMAGES_KEY})


#: Run-config key of the training images' count and digest (checkpoints written before it
#: have none, and resume unchecked)
TRAINING_IMAGES_KEY = "training_images"


def _plain(config: PretrainConfig) -> dict[str, Any]:
    # What torch.load(weights_only=True) reads back and JSON can hold (tuples become lists,
    # paths strings), so a stored config and a new one compare like for like.
    return json.loads(json.dumps(to_dict(config), default=str))


#: How every refusal of ``mtneuro pretrain --resume`` ends (:func:`check_resumable`).
_RESUME_HINT = "; resume with the settings it was started with, or start it afresh with --overwrite"


def check_resumable(config: PretrainConfig) -> None:
    """Refuse to resume ``config.out_dir``'s checkpoint with another config (or, for a
    checkpoint that stores none, other settings or another method), naming the first
    difference and what to do (nothing to check where there is no checkpoint yet).

    Before the images are read, other ``source_params`` pass, as they may read the same
    images; the trainer's own check judges them by the images' digest (:func:`run_config`),
    its refusal ending as this one (``run_pretrain`` passes :data:`_RESUME_HINT`).

    Raises:
        ConfigError: a field of the stored config differs; TrainingError: a checkpoint
        without a stored config whose method or settings differ.
    """
    from mtneuro.ssl.checkpoint import load_checkpoint
    from mtneuro.ssl.settings import check_resume
    from mtneuro.ssl.trainer import CHECKPOINT_NAME

    path = Path(config.out_dir) / CHECKPOINT_NAME
    if not path.is_file():
        return
    check_resume(load_checkpoint(path), config.method, train_settings(config),
                 run_config(config), str(path), _RESUME_HINT,
                 world_size=torchrun_int("WORLD_SIZE", 1))


def _plain_encoder(encoder: torch.nn.Module, name: str, kwargs: dict[str, Any]) -> torch.nn.Module:
    """A fresh registry-built encoder carrying ``encoder``'s weights (drops BN conversion)."""
    from mtneuro.models.registry import create_encoder

    plain = create_encoder(name, **kwargs)
    plain.load_state_dict(encoder.state_dict())
    return plain


__all__ = ["PretrainedEncoder", "pretrain_encoder", "run_pretrain"]
