"""The Python entry point of self-supervised pre-training: :func:`pretrain` trains a BYOL /
MYOW encoder on images or a volume held in memory, or on a source as ``mtneuro pretrain``
reads it, and hands it back ready for :func:`mtneuro.evaluate`.

>>> import numpy as np
>>> import mtneuro
>>> volume = np.random.default_rng(0).integers(0, 256, (8, 64, 64), dtype=np.uint8)
>>> trained = mtneuro.pretrain(volume=volume, source_params={"tile": 32, "z_step": 1},
...                            epochs=1, batch_size=8)       # 32 tiles: 4 steps, seconds
>>> trained.steps, trained.encoder.training, trained.path
(4, False, None)

``images=`` and ``volume=`` train as ``mtneuro pretrain --source volume`` trains on a volume
file: the same 8-bit mapping (:mod:`mtneuro.data.image_arrays`), views, encoder and
normalisation, so a volume saved with ``np.save`` and passed as ``volume=`` gives the weights
the command gives with the same settings. A top-level module beside :mod:`mtneuro.api`.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mtneuro.api_arguments import mapping_argument, out_folder
from mtneuro.errors import ConfigError
from mtneuro.folder_lock import held_run_folder

if TYPE_CHECKING:
    import torch
    from torch import nn

    from mtneuro.tasks.pretrain.config import PretrainConfig

__all__ = ["PretrainResult", "pretrain"]


@dataclass
class PretrainResult:
    """What :func:`pretrain` trained.

    Attributes:
        encoder: the online encoder, in eval mode, its ``input_spec`` set (pass it to
            :func:`mtneuro.evaluate`).
        input_spec: the input size, channels and normalisation it was trained with.
        path: ``out/encoder.pt`` (``None`` without ``out``).
        final_loss: the mean loss of the last epoch.
        steps: optimiser steps of the whole run (a resumed one: before and after).
        summary: the trainer's summary (``epochs``, ``lr``, ``backbone``, ``view``, ...).
    """

    encoder: nn.Module
    input_spec: dict[str, Any]
    path: Path | None
    final_loss: float
    steps: int
    summary: dict[str, Any]


#: Settings the arguments set: given as a keyword setting, each is refused naming its argument.
_OWNED = {"method": "method=", "seed": "seed=", "device": "device=", "out_dir": "out=",
          "source": "images=, volume= or source=", "source_params": "source_params=",
          "resume": "resume="}
#: The ``source_params`` each in-memory argument takes (those of ``--source volume`` but
#: ``path``; a stack of images is not tiled).
_ARRAY_PARAMS = {"images": ("window",), "volume": ("tile", "z_step", "window")}
#: The run's record (``mtneuro.report.results.write_metrics`` writes it).
METRICS_FILE = "metrics.json"
#: How a resume refused for its settings ends.
_RESUME_HINT = "; resume with the settings it was started with, or pass overwrite=True"


def pretrain(images: Any = None, *, volume: Any = None, source: str | None = None,
             source_params: Mapping[str, Any] | None = None, method: str = "myow",
             preset: str | None = "quick", seed: int = 0, device: str = "cpu",
             out: str | Path | None = None, resume: bool = False, overwrite: bool = False,
             **settings: Any) -> PretrainResult:
    """Pre-train an encoder with BYOL or MYOW (``mtneuro pretrain`` from Python).

    Give the training data one way:

    - ``images``: a NumPy array or torch tensor ``(N, H, W)`` or ``(N, 1, H, W)``, each
      image a training sample (random resized views of the whole image);
    - ``volume``: ``(Z, Y, X)`` (a 2D array is one slice), cut into non-overlapping
      square tiles of every ``z_step``-th slice, as ``--source volume`` cuts a file;
    - ``source``: a source of ``mtneuro pretrain --source`` (``phantom``, ``bossdb``,
      ``cache``, ``slice``: the ROI-C1 training tiles; ``volume`` with
      ``source_params={"path": FILE}``; ``digits``, ``cifar10``, ``cifar100``, ``folder``).

    Values are mapped to 8 bits as a volume file's are: uint8 as it is, bool as 0 / 255,
    floats in [0, 1] as ``rint(x * 255)`` (so ``images / 255`` trains as ``images``), and any
    other type (uint16, int16, floats outside [0, 1]) through ``source_params={"window":
    "LOW:HIGH"}`` mapped to 0-255: no one scaling fits every 16-bit image, so none is
    guessed.

    Args:
        source_params: ``images``: ``window``; ``volume``: ``tile`` (64 px), ``z_step`` (1;
            the ``quick`` preset: 16, as ``--quick`` thins a volume file) and ``window``;
            ``source``: its ``--source-param`` values.
        method: ``myow`` (default, as the CLI), ``byol`` or ``myow-merged``.
        preset: ``quick`` (default: a small ResNet, 25 epochs), ``default`` (MTNeuro's
            800 epochs of a ResNet-18), ``paper`` (``default`` in fp32) or ``None``.
        seed, device: the run's seed (weights, data order, views) and device (``cpu``,
            ``cuda``, ``cuda:N`` or ``auto``).
        out: a folder for ``encoder.pt``, ``metrics.json``, ``checkpoint.pt`` and
            ``train_log.jsonl``, as ``mtneuro pretrain --out`` writes them; ``None``:
            nothing is written. A folder holding a run is refused unless ``resume``
            (continue it from its checkpoint; the settings and images must be the same) or
            ``overwrite`` (its run's files are deleted first).
        **settings: any other key of ``PretrainConfig`` (``epochs``, ``batch_size``,
            ``crop``, ``backbone``, ``quiet``: ``True`` unless given, ...), on top of the
            preset and validated as a config file's keys.

    Returns:
        :class:`PretrainResult`. The caller's random states (Python, NumPy, torch) and
        torch thread count are as they were before the call.

    Raises:
        ConfigError: no data or two kinds of data; ``images`` / ``volume`` not an array or
            tensor of real numbers, of another shape, empty, with NaN or infinite values,
            of one value, needing a window, smaller than a tile, too few for one batch, or
            smaller than the crop of a crop view (each naming ``images`` or ``volume``); an
            unknown or bad setting or source parameter; ``out`` a file or holding a run.
        TrainingError: the loss diverged (NaN / inf).
    """
    from mtneuro.ssl.random_state import kept_random_state

    kind, data = _data_argument(images, volume, source)
    out = out_folder(out)
    arguments = {"method": method, "seed": seed, "device": device, "resume": resume,
                 "out_dir": None if out is None else str(out)}
    params = mapping_argument("source_params", source_params, "{'window': '0:4095'}")
    config = _config(kind, source, params, arguments, preset, settings)
    if out is None and (resume or overwrite):  # said, not ignored: a run folder is expected
        name, does = ("resume", "continues") if resume else ("overwrite", "replaces")
        raise ConfigError(f"{name}: {does} the run in out=, but out is None")
    # out locked as a command's --out: two runs started into it at once would both pass
    # its checks and write there together
    with contextlib.nullcontext() if out is None else held_run_folder(out, "out"):
        if out is not None:
            _prepare_out(out, resume, overwrite)
        _warn_unused(config, settings)
        import torch

        # the caller's random states, whatever training draws or seeds, and thread count
        with kept_random_state(start_cuda=config.device.startswith("cuda")):
            threads = torch.get_num_threads()  # a resumed run takes its checkpoint's count
            try:
                return _train(config, kind, data, out)
            finally:
                torch.set_num_threads(threads)


def _data_argument(images: Any, volume: Any, source: str | None) -> tuple[str, Any]:
    given = [(name, value) for name, value in
             (("images", images), ("volume", volume), ("source", source)) if value is not None]
    if len(given) != 1:
        found = " and ".join(f"{name}=" for name, _ in given) or "none"
        raise ConfigError("pretrain: give the training data one way, images=, volume= or "
                          f"source=; got {found}")
    return given[0]


def _config(kind: str, source: str | None, params: dict[str, Any], arguments: dict[str, Any],
            preset: str | None, settings: dict[str, Any]) -> PretrainConfig:
    """The validated config: the preset, then ``settings``, then the arguments' values."""
    from mtneuro.devices import with_run_device
    from mtneuro.tasks.pretrain.config import make_config

    for key in settings:
        if key in _OWNED:
            raise ConfigError(f"{key}: set by the argument {_OWNED[key]}, not a setting")
    if kind in _ARRAY_PARAMS:
        for key in params:
            if key not in _ARRAY_PARAMS[kind]:
                raise ConfigError(f"source_params: {key!r} is no parameter of {kind}=; it "
                                  f"takes: {', '.join(_ARRAY_PARAMS[kind])}")
    values = {"quiet": True, **settings, **arguments,
              # arrays train as a volume file does (its views, encoder and normalisation)
              "source": source if kind == "source" else "volume", "source_params": params}
    config = make_config(preset, values)
    if kind == "images":  # a stack is not tiled: the quick preset's z_step would mean nothing
        config = replace(config, source_params=params)
    if kind == "source":
        _check_source_params(config)
    return with_run_device(config)  # metrics.json names the device that ran ("auto" resolved)


def _check_source_params(config: PretrainConfig) -> None:
    """The keys of ``source_params`` before any data is read: a volume file's and an image
    set's (a volume source checks its own on opening)."""
    from mtneuro.data.sources import check_param_names
    from mtneuro.vocab import VISION_SOURCES

    params = config.source_params
    if config.source == "volume":
        from mtneuro.data.volume_file import volume_tiles

        check_param_names("volume", volume_tiles, params)
        if "path" not in params:
            raise ConfigError("source_params: source 'volume' reads a file: give "
                              "{'path': FILE}, or pass the array as volume=")
    elif config.source in VISION_SOURCES:
        from mtneuro.data.vision import load_vision

        check_param_names(config.source, load_vision, params, ("name", "split", "download"))


def _prepare_out(out: Path, resume: bool, overwrite: bool) -> None:
    """Refuse an ``out`` holding a run unless ``resume`` (with a checkpoint) or ``overwrite``
    (which deletes that run's files here)."""
    from mtneuro.ssl.trainer import CHECKPOINT_NAME

    for name, value in (("resume", resume), ("overwrite", overwrite)):
        if not isinstance(value, bool):
            raise ConfigError(f"{name}: expected True or False, got {value!r}")
    if resume and overwrite:
        raise ConfigError("resume, overwrite: continue the run in out or replace it, not both")
    held = [path for path in map(out.joinpath, _run_files()) if path.exists()]
    if resume and not (out / CHECKPOINT_NAME).is_file():
        raise ConfigError(f"out {out}: holds no {CHECKPOINT_NAME} to resume; pass "
                          "resume=False to start a run there")
    if held and not (resume or overwrite):
        names = ", ".join(path.name for path in held)
        raise ConfigError(f"out {out}: holds a pre-training run ({names}); pass resume=True to "
                          "continue it, overwrite=True to replace it, or another out")
    if overwrite:
        for path in held:
            path.unlink()


def _run_files() -> tuple[str, ...]:
    """The files of a run folder (those ``mtneuro pretrain`` refuses to replace unasked)."""
    from mtneuro.ssl.trainer import CHECKPOINT_NAME, LOG_NAME
    from mtneuro.tasks.pretrain.records import ENCODER_NAME

    return CHECKPOINT_NAME, LOG_NAME, ENCODER_NAME, METRICS_FILE


def _warn_unused(config: PretrainConfig, settings: dict[str, Any]) -> None:
    """Settings given that this run has no use for, named as ``mtneuro pretrain`` names them."""
    from mtneuro.tasks.pretrain.config import method_settings_not_used, source_settings_not_used

    by_source = "the images train at their own size (augment='mtneuro' trains on crops)"
    by_method = f"method {config.method} has no use for them"
    for keys, why in ((source_settings_not_used(config), by_source),
                      (method_settings_not_used(config), by_method)):
        given = [key for key in keys if key in settings]
        if given:
            warnings.warn(f"{', '.join(given)} not used: {why}", UserWarning, stacklevel=3)


def _training_images(config: PretrainConfig, kind: str,
                     data: Any) -> tuple[torch.Tensor, dict[str, Any], str]:
    """uint8 ``(N, 1, H, W)`` images, their provenance and what a refusal names them."""
    from mtneuro.data.image_arrays import image_stack, volume_tiles_of
    from mtneuro.tasks.pretrain.run import check_crop, load_training_images
    from mtneuro.vocab import VISION_SOURCES

    params = dict(config.source_params)
    if kind == "source":
        if config.source not in VISION_SOURCES:
            check_crop(config)  # before the tiles are read, as the CLI does
        images, provenance = load_training_images(config)
        return images, provenance, f"source {config.source}"
    shape, dtype = tuple(getattr(data, "shape", ())), str(getattr(data, "dtype", ""))
    if kind == "images":
        images = image_stack(data, window=params.get("window"))
    else:
        images = volume_tiles_of(data, tile=params.get("tile", 64),
                                 z_step=params.get("z_step", 1), window=params.get("window"))
    return images, {"source": kind, "shape": list(shape), "dtype": dtype, **params,
                    "images": int(images.shape[0])}, kind


def _check_fits(config: PretrainConfig, images: torch.Tensor, what: str) -> None:
    """One batch fits in the images, and a crop view's crop in each image."""
    from mtneuro.tasks.pretrain.run import view_kind

    count, side = int(images.shape[0]), min(images.shape[-2:])
    unit = ("tile" if what == "volume" else "image") + ("" if count == 1 else "s")
    if count < config.batch_size:
        fix = (f"pass batch_size={count} or less" if count >= 2 else "a batch holds at least 2")
        more = " (or a smaller tile or z_step)" if what == "volume" else ""
        raise ConfigError(f"{what}: {count} training {unit}, fewer than one batch of "
                          f"{config.batch_size}; {fix}, or give more{more}")
    if view_kind(config) != "vision" and config.crop > side:
        raise ConfigError(f"{what}: {unit} of {images.shape[-2]} x {images.shape[-1]} px are "
                          f"smaller than the crop of {config.crop} px; pass crop={side} or "
                          "less")


def _train(config: PretrainConfig, kind: str, data: Any, out: Path | None) -> PretrainResult:
    from mtneuro.tasks.pretrain.records import ENCODER_NAME, save_pretrained
    from mtneuro.tasks.pretrain.run import pretrain_encoder

    start = time.perf_counter()
    images, provenance, what = _training_images(config, kind, data)
    _check_fits(config, images, what)
    trained = pretrain_encoder(config, images, out_dir=out, resume=config.resume,
                               resume_hint=_RESUME_HINT)
    path = None
    if out is not None:
        path = save_pretrained(config, trained, out / ENCODER_NAME, int(images.shape[0]))
        _write_metrics(config, trained.summary, provenance, out, time.perf_counter() - start)
    summary = dict(trained.summary)
    return PretrainResult(trained.encoder.eval(), dict(trained.input_spec), path,
                          float(summary["final_loss"]), int(summary["steps"]), summary)


def _write_metrics(config: PretrainConfig, summary: dict[str, Any], provenance: dict[str, Any],
                   out: Path, wall_s: float) -> None:
    """``out/metrics.json`` as ``mtneuro pretrain`` writes it; a finished run resumed keeps
    its own (its throughput and wall time)."""
    from mtneuro.config import to_dict
    from mtneuro.report.results import read_json_object, write_metrics
    from mtneuro.tasks.pretrain.config import settings_not_used
    from mtneuro.tasks.pretrain.records import run_metrics

    if summary["steps_run"] == 0 and read_json_object(out / METRICS_FILE) is not None:
        return
    write_metrics(out, task="pretrain", metrics=run_metrics(summary), config=to_dict(config),
                  source=provenance, wall_s=wall_s,
                  extra={"settings_not_used": list(settings_not_used(config))})
