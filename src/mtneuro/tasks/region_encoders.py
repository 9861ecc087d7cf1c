"""Frozen encoders for the task-1 / task-3 linear probes.

* ``encoder``: any user encoder, ``--encoder`` = checkpoint path, ``module:callable``,
  registered name or entry point (:func:`mtneuro.models.resolve_encoder`).
* ``byol`` / ``myow`` / ``myow-merged``: an ``mtneuro pretrain`` checkpoint given with
  ``--encoder``, or, without one, an encoder pre-trained on the fly with
  :func:`mtneuro.ssl.pretrain.run_pretrain` on the same source (the training
  tiles of the task-1 setting), one per seed, with the ``quick`` preset for quick runs.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from torch import nn

from mtneuro.errors import ConfigError
from mtneuro.models import load_encoder, resolve_encoder

SSL_METHODS = ("byol", "myow", "myow-merged")


def _check_dims(encoder_spec: dict[str, Any], spatial_dims: int, spec: str) -> None:
    dims = int(encoder_spec.get("spatial_dims", 2))
    if dims != spatial_dims:
        raise ConfigError(
            f"encoder {spec!r} takes {dims}D inputs but the task runs in {spatial_dims}D; "
            f"pass --dim {dims}d or a {spatial_dims}D encoder"
        )


def on_the_fly_config(
    method: str,
    *,
    source: str,
    source_params: dict[str, Any],
    seed: int,
    quick: bool,
    epochs: int | None,
    device: str,
    setting: str = "roi-c1",
    out_dir: str | Path | None = None,
) -> Any:
    """The :class:`~mtneuro.ssl.pretrain.PretrainConfig` of an on-the-fly ``method`` encoder.

    One definition for :func:`pretrain_on_the_fly` and for launchers that run the same
    pre-training elsewhere (``mtneuro bench`` under torchrun).
    """
    from mtneuro.ssl.pretrain import make_config

    overrides = {
        "method": method,
        "setting": setting,
        "source": source,
        "source_params": dict(source_params),
        "seed": seed,
        "device": device,
        "quiet": True,
        "epochs": epochs,
    }
    if out_dir is not None:
        overrides["out_dir"] = str(out_dir)
    return make_config("quick" if quick else "default", overrides=overrides)


def pretrain_on_the_fly(
    method: str,
    *,
    source: str,
    source_params: dict[str, Any],
    seed: int,
    quick: bool,
    epochs: int | None,
    spatial_dims: int,
    device: str,
    setting: str = "roi-c1",
    work_dir: str | Path | None = None,
) -> tuple[nn.Module, dict[str, Any]]:
    """Pre-train a ``method`` encoder with ``mtneuro pretrain``'s python API.

    Returns:
        ``(encoder in eval mode, input_spec)`` read back from the written ``encoder.pt``.
    """
    from mtneuro.ssl.pretrain import run_pretrain

    if spatial_dims != 2:
        raise ConfigError(
            f"method {method}: on-the-fly pre-training is 2D only; pass --encoder with a 3D "
            "checkpoint"
        )
    with tempfile.TemporaryDirectory(prefix=f"mtneuro-{method}-") as tmp:
        out = Path(work_dir) / f"{method}-seed{seed}" if work_dir is not None else Path(tmp)
        config = on_the_fly_config(
            method, source=source, source_params=source_params, seed=seed, quick=quick,
            epochs=epochs, device=device, setting=setting, out_dir=out,
        )
        result = run_pretrain(config)
        encoder = load_encoder(result["encoder"])
        return encoder, dict(getattr(encoder, "input_spec", {}) or {})


def frozen_encoder(
    method: str,
    *,
    encoder: str | None,
    spatial_dims: int,
    seed: int,
    source: str,
    source_params: dict[str, Any],
    quick: bool,
    pretrain_epochs: int | None,
    device: str,
    setting: str = "roi-c1",
    work_dir: str | Path | None = None,
) -> tuple[nn.Module, dict[str, Any]]:
    """The frozen encoder of ``method`` (see the module docstring) and its input spec."""
    if encoder is not None:
        module, spec = resolve_encoder(encoder)
        _check_dims(spec, spatial_dims, encoder)
        return module.to(device).eval(), spec
    if method not in SSL_METHODS:
        raise ConfigError(
            f"method {method!r} needs --encoder SPEC (checkpoint, module:callable or name)"
        )
    module, spec = pretrain_on_the_fly(
        method,
        source=source,
        source_params=source_params,
        seed=seed,
        quick=quick,
        epochs=pretrain_epochs,
        spatial_dims=spatial_dims,
        device=device,
        setting=setting,
        work_dir=work_dir,
    )
    _check_dims(spec, spatial_dims, f"on-the-fly {method}")
    return module.to(device).eval(), spec
