"""A check that a frozen encoder takes every input shape its task feeds it.

Task 1's paper probe trains its head on whole 256 x 256 tiles and tests on 128 x 128 corner
crops; an encoder whose feature size follows its input size (no global pooling), or whose
forward fails at one of those sizes, would fail only when the run reaches that input, after
the head has trained. :func:`check_input_shapes` runs one batch of random pixels of every
shape first: ``mtneuro bench`` (``--dry-run`` too) before any cell, a task run before its probe.
The shapes are each task's (``Task.encoder_inputs``: task 1's
:func:`~mtneuro.tasks.region_inputs.task1_input_shapes`, task 3's
:func:`~mtneuro.tasks.semantic_probe.task3_input_shapes`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from mtneuro.errors import ConfigError, MtneuroError
from mtneuro.models.checkpoint import input_normalisation
from mtneuro.registry import raised
from mtneuro.tasks.features import GLOBAL_POOLING, extract_features, forward_hint
from mtneuro.vocab import ENCODER_METHOD, SSL_METHODS

#: One input shape without the batch: ``(channels, [slices,] height, width)``.
Shape = tuple[int, ...]
#: The methods whose runs feed a frozen encoder.
READS_ENCODER = (ENCODER_METHOD, *SSL_METHODS)
_FED = "an input size this task feeds"
_PROBE = "a probe batch of random pixels"


def check_input_shapes(encoder: nn.Module, spec: dict[str, Any], shapes: tuple[Shape, ...],
                       who: str) -> None:
    """One batch of two random-pixel images of each of ``shapes`` through the probes' feature
    extractor (:func:`~mtneuro.tasks.features.extract_features`), normalised as ``spec``
    says; the encoder's training flag is kept.

    Raises:
        ConfigError: one line starting with ``who``: the forward failed at a shape, or the
            feature size differs between shapes (the task feeds them all to one readout).
    """
    dims: dict[Shape, int] = {}
    for shape in shapes:
        batch = (2, *shape)
        try:
            features = _probe(encoder, batch, spec, who)
        except MtneuroError as err:
            if err.__cause__ is None or isinstance(err.__cause__, MtneuroError):
                raise ConfigError(f"{who}: on {_PROBE} {batch}, {_FED}: {err}") from None
            raise _forward_error(who, encoder, batch, spec, err.__cause__) from None
        except Exception as exc:  # noqa: BLE001 - the user's forward: any error, in one line
            raise _forward_error(who, encoder, batch, spec, exc) from None
        dims[shape] = features.shape[1]
    if len(set(dims.values())) > 1:
        found = ", ".join(f"{d} for {' x '.join(map(str, s[1:]))}" for s, d in dims.items())
        raise ConfigError(f"{who}: its feature size depends on its input size ({found}), but "
                          f"this task reads all of these sizes with one readout; {GLOBAL_POOLING}")


def _forward_error(who: str, encoder: nn.Module, batch: tuple[int, ...],
                   spec: dict[str, Any], exc: BaseException) -> ConfigError:
    """The user's forward failed on ``batch``: weights that are not float32; at a size other
    than the one it was resolved at, the size is the likely cause; at its own size, the
    channels or the value range."""
    declared = "size" in (getattr(encoder, "input_spec", None) or {})
    size = spec.get("size")
    if isinstance(size, int) and _fails(encoder, (*batch[:-2], size, size), spec):
        size = None  # it fails at its own size too: the size is not the cause
    return ConfigError(f"{who}: forward on {_PROBE} {batch}, {_FED}, raised {raised(exc)}; "
                       f"{forward_hint(encoder, size, batch, declared=declared)}")


def _fails(encoder: nn.Module, batch: tuple[int, ...], spec: dict[str, Any]) -> bool:
    """Whether the encoder's forward raises on a probe batch of shape ``batch``."""
    try:
        _probe(encoder, batch, spec, "")
    except Exception:  # noqa: BLE001 - the user's forward: any error means it fails
        return True
    return False


def _probe(encoder: nn.Module, batch: tuple[int, ...], spec: dict[str, Any],
           who: str) -> np.ndarray:
    """Features of a batch of random pixels of shape ``batch``, on the encoder's device."""
    param = next(encoder.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    # random pixels, not zeros: an encoder that standardises each image (x - mean) / std
    # returns NaN on a blank one, which no task feeds it
    pixels = np.random.default_rng(0).integers(0, 256, batch, dtype=np.uint8)
    return extract_features(encoder, pixels, batch_size=len(pixels), device=device,
                            **input_normalisation(spec, who))
