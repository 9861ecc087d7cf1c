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


def check_encoder_given(config: Any) -> None:
    """Fail before any work when a task-1 / task-3 ``config`` has method ``encoder`` but no
    ``--encoder``."""
    if config.method == "encoder" and config.encoder is None:
        raise ConfigError(
            "method encoder: expected --encoder SPEC (checkpoint, module:callable or name)"
        )


def on_the_fly_config(config: Any, seed: int, out_dir: str | Path | None = None) -> Any:
    """The :class:`~mtneuro.ssl.pretrain.PretrainConfig` of the encoder that a task-1 / task-3
    ``config`` pre-trains on the fly for ``seed``: its method, setting, source and device,
    ``pretrain_epochs``, and the ``quick`` preset for quick runs.

    One definition for :func:`frozen_encoder` and for launchers that run the same
    pre-training elsewhere (``mtneuro bench`` under torchrun).
    """
    from mtneuro.ssl.pretrain import make_config

    overrides = {
        "method": config.method,
        "setting": config.setting,
        "source": config.source,
        "source_params": dict(config.source_params),
        "seed": seed,
        "device": config.device,
        "quiet": True,
        "epochs": config.pretrain_epochs,
    }
    if out_dir is not None:
        overrides["out_dir"] = str(out_dir)
    return make_config("quick" if config.quick else "default", overrides=overrides)


def frozen_encoder(config: Any, *, seed: int, spatial_dims: int) -> tuple[nn.Module, dict[str, Any]]:
    """The frozen encoder of a task-1 / task-3 ``config`` (see the module docstring) and its
    input spec: ``config.encoder`` if given, else one pre-trained on the fly for ``seed``."""
    if config.encoder is not None:
        module, spec = resolve_encoder(config.encoder)
        _check_dims(spec, spatial_dims, config.encoder)
        return module.to(config.device).eval(), spec
    method = config.method
    if method not in SSL_METHODS:
        raise ConfigError(
            f"method {method!r} needs --encoder SPEC (checkpoint, module:callable or name)"
        )
    if spatial_dims != 2:
        raise ConfigError(
            f"method {method}: on-the-fly pre-training is 2D only; pass --encoder with a 3D "
            "checkpoint"
        )
    from mtneuro.ssl.pretrain import run_pretrain

    with tempfile.TemporaryDirectory(prefix=f"mtneuro-{method}-") as tmp:
        result = run_pretrain(on_the_fly_config(config, seed, out_dir=tmp))
        module = load_encoder(result["encoder"])
    spec = dict(getattr(module, "input_spec", {}) or {})
    _check_dims(spec, spatial_dims, f"on-the-fly {method}")
    return module.to(config.device).eval(), spec
