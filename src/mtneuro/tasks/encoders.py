"""The frozen encoders that tasks 1 and 3 probe.

* ``encoder``: a user encoder, in memory (``run(config, encoder=module)``, e.g. from
  ``mtneuro.evaluate``) or ``--encoder`` = checkpoint path, ``module:callable``,
  registered name or entry point (:func:`mtneuro.models.resolve_encoder`).
* ``byol`` / ``myow`` / ``myow-merged``: an ``mtneuro pretrain`` checkpoint given with
  ``--encoder``, or, without one, an encoder pre-trained on the fly for each seed with
  the config's nested ``pretrain`` settings (:func:`mtneuro.tasks.pretrain.run.pretrain_encoder`)
  on the training tiles of the task's setting (:func:`frozen_encoders` takes them from
  the tiles the task read, or reads them once); the encoder stays in memory, and inside
  :func:`mtneuro.tasks.pretrain.shared.shared_pretraining` (a bench suite) one trained
  before with the same settings, seed and tiles is loaded instead.
"""

from __future__ import annotations

import copy
import dataclasses
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from mtneuro.checkpoint_io import content_digest
from mtneuro.errors import ConfigError, MtneuroError
from mtneuro.models import resolve_encoder
from mtneuro.models.checkpoint import (
    check_image_encoder_spec,
    input_normalisation,
    read_checkpoint,
)
from mtneuro.tasks.encoder_inputs import check_input_shapes
from mtneuro.tasks.volume import SplitData, pretrains_on_the_fly, ssl_training_tiles
from mtneuro.vocab import SSL_METHODS

#: How an encoder is named, in a config or call (``encoder=``) and on the command line.
_ENCODER_SPEC = "encoder=SPEC (--encoder SPEC; a checkpoint, module:callable or name)"


def _check_dims(encoder_spec: dict[str, Any], spatial_dims: int, spec: str, config: Any) -> None:
    check_image_encoder_spec(encoder_spec, f"encoder {spec!r}")
    dims = int(encoder_spec["spatial_dims"])  # present: checked just above
    if dims != spatial_dims:
        # Task 3 has no --dim: it always reads 2D crops.
        fix = (f"pass dim='{dims}d' (--dim {dims}d; in a bench suite, params: {{dim: {dims}d}} "
               f"in the grid entry) or a {spatial_dims}D encoder" if hasattr(config, "dim")
               else f"this task takes {spatial_dims}D encoders only")
        raise ConfigError(
            f"encoder {spec!r} takes {dims}D inputs but the task runs in {spatial_dims}D; {fix}"
        )


def check_encoder_given(config: Any, encoder: nn.Module | None = None) -> None:
    """Fail before any work when a task-1 / task-3 ``config`` has method ``encoder`` but no
    encoder, an encoder its method would not read (PCA's numbers must not pass for the
    encoder's), or pre-trains on the fly in 3D; warn when an SSL method is given a
    checkpoint that another SSL method pre-trained (its numbers would be recorded as this
    method's)."""
    if ((config.encoder is not None or encoder is not None)
            and config.method not in ("encoder", *SSL_METHODS)):
        raise ConfigError(
            f"method {config.method!r} reads no encoder; an encoder (encoder=..., --encoder) is "
            f"for the methods encoder, {', '.join(SSL_METHODS)}; pass method='encoder' "
            "(--method encoder) to evaluate it"
        )
    if config.method == "encoder" and config.encoder is None and encoder is None:
        raise ConfigError(
            f"method encoder: expected {_ENCODER_SPEC} or, in Python, an encoder module"
        )
    if (config.method in SSL_METHODS and config.encoder is None and encoder is None
            and getattr(config, "dim", "2d") != "2d"):
        raise ConfigError(f"method {config.method}: on-the-fly pre-training is 2D only; pass a "
                          "3D encoder as encoder=SPEC (--encoder SPEC): a module:callable "
                          "building one, or a file from mtneuro.models.save_encoder(..., "
                          "kwargs={'spatial_dims': 3}) (docs/bring_your_own_encoder.md)")
    if encoder is not None:  # in memory: its spec is cheap to read before the data
        check_image_encoder_spec(resolve_encoder(encoder)[1],
                                 f"encoder 'in-memory {type(encoder).__name__}'")
    if config.method in SSL_METHODS and encoder is None and config.encoder is not None:
        _warn_other_method(config.method, config.encoder)


def _warn_other_method(method: str, spec: str) -> None:
    """Warn when a checkpoint pre-trained with one SSL method is evaluated as another: its
    numbers are recorded under ``method`` (the card says only that its pre-training is not
    checked), so a MYOW encoder's accuracy would pass for BYOL's without a word."""
    if not isinstance(spec, str) or not Path(spec).is_file():
        return  # module:callable or a name: no recorded method to compare
    try:
        trained = read_checkpoint(spec)["meta"].get("method")
    except MtneuroError:
        return  # not a readable checkpoint: resolving it later says why, in one line
    if trained in SSL_METHODS and trained != method:
        warnings.warn(f"encoder {spec} was pre-trained with {trained} (its meta.method), but "
                      f"this run records its numbers as method {method}; pass method={trained!r} "
                      f"(--method {trained}) or method='encoder' (--method encoder) to record "
                      "them under the method that trained it",
                      UserWarning, stacklevel=3)


def _copy(encoder: nn.Module) -> nn.Module:
    try:
        return copy.deepcopy(encoder)
    except Exception as exc:  # any module attribute may refuse to be copied
        raise ConfigError(
            f"in-memory encoder {type(encoder).__name__}: copy.deepcopy failed ({exc}); each "
            "seed probes its own copy, so the encoder must be copyable (or pass a checkpoint "
            "or module:callable)"
        ) from exc


@dataclasses.dataclass
class FrozenEncoders:
    """``frozen(seed) -> (encoder, input spec)``: the frozen encoder of a task-1 / task-3
    ``config`` for each seed of one run, in eval mode on ``config.device``.

    Attributes:
        spatial_dims: 2 or 3, the task's inputs (an encoder taking others is refused).
        encoder: an encoder in memory (wins over ``config.encoder``); each seed gets a copy.
        tiles: uint8 training tiles ``(N, 1, H, W)`` for on-the-fly pre-training.
        input_shapes: the shapes the task feeds a given encoder, each tried on a batch of
            zeros when it is first resolved (the seeds' copies take the same shapes;
            :func:`~mtneuro.tasks.encoder_inputs.check_input_shapes`).
    """

    config: Any
    spatial_dims: int
    encoder: nn.Module | None = None
    tiles: np.ndarray | None = None
    input_shapes: tuple[tuple[int, ...], ...] = ()
    _shapes_checked: bool = dataclasses.field(default=False, init=False, repr=False)
    _features: dict[tuple[str, str], np.ndarray] = dataclasses.field(
        default_factory=dict, init=False, repr=False)

    def features(self, encoder: nn.Module, inputs: str,
                 extract: Callable[[], np.ndarray]) -> np.ndarray:
        """``extract()``: the eval-mode features of the input set named ``inputs`` (e.g.
        ``"test"``), computed once per run for each set of weights. A checkpoint or an
        in-memory encoder gives every seed the same weights, so its seeds reuse the first
        one's features instead of extracting them again; an encoder whose weights the seed
        draws (random initialisation) gets its own. Weights are told apart by a digest of
        every parameter and buffer, so a ``forward`` that is random in eval mode is assumed
        not to exist, as a frozen probe assumes anyway."""
        key = (_weights_digest(encoder), inputs)
        if key not in self._features:
            self._features[key] = extract()
        return self._features[key]

    def __call__(self, seed: int) -> tuple[nn.Module, dict[str, Any]]:
        config = self.config
        if self.encoder is not None or config.encoder is not None:
            # A copy per seed: the as-released task-1 probe runs the encoder in training mode
            # (BatchNorm statistics move), which must reach neither the next seed nor the caller.
            given = _copy(self.encoder) if self.encoder is not None else config.encoder
            module, spec = resolve_encoder(given)
            name = config.encoder or f"in-memory {type(module).__name__}"
            _check_dims(spec, self.spatial_dims, name, config)
            input_normalisation(spec, f"encoder {name!r}")  # one channel, numbers: fail now
            module = module.to(config.device).eval()
            if not self._shapes_checked:
                check_input_shapes(module, spec, self.input_shapes, f"encoder {name!r}")
                self._shapes_checked = True
            return module, spec
        method = config.method
        if method not in SSL_METHODS:
            raise ConfigError(
                f"method {method!r} needs {_ENCODER_SPEC}"
            )
        if config.pretrain is None or self.tiles is None:
            raise ConfigError(f"method {method}: no pre-training settings; build the config with "
                              "the task's make_config, which resolves them")
        from mtneuro.tasks.pretrain.shared import pretrained

        trained = pretrained(dataclasses.replace(config.pretrain, seed=seed),
                             torch.from_numpy(self.tiles))
        spec = dict(trained.input_spec)
        _check_dims(spec, self.spatial_dims, f"on-the-fly {method}", config)
        return trained.encoder.to(config.device).eval(), spec


def _weights_digest(encoder: nn.Module) -> str:
    """A digest of the module's class, parameters and buffers (non-persistent ones too,
    which ``state_dict`` leaves out)."""
    return content_digest({"class": type(encoder).__qualname__,
                           **dict(encoder.named_parameters()),
                           **{f"buffer:{k}": v for k, v in encoder.named_buffers()}})


def frozen_encoders(config: Any, spatial_dims: int, *, encoder: nn.Module | None = None,
                    train: SplitData | None = None,
                    input_shapes: tuple[tuple[int, ...], ...] = ()) -> FrozenEncoders:
    """The :class:`FrozenEncoders` of one task-1 / task-3 run; a config that pre-trains on the
    fly gets its training tiles now, from ``train`` (the region setting's training split
    as the task read it) when it holds them, else read once (:func:`ssl_training_tiles`)."""
    tiles = None
    if encoder is None and pretrains_on_the_fly(config) and config.pretrain is not None:
        tiles = ssl_training_tiles(config, train)
    return FrozenEncoders(config, spatial_dims, encoder=encoder, tiles=tiles,
                          input_shapes=input_shapes)
