"""Frozen features of an image encoder: the one feature extractor of every probe.

:func:`extract_features` runs the encoder in eval mode under ``no_grad``, one batch at a
time (uint8 inputs are scaled batch by batch, so they stay small in memory), checks that
it returns the contract's ``(B, D)`` features and that every value is finite. 2D images go
through in NHWC memory format where that pays (:func:`mtneuro.acceleration.channels_last_pays`:
on GPUs, and on CPU, where oneDNN's NHWC kernels are faster: ``benchmarks/channels_last.py``
``--workloads features``); an encoder switched for it is switched back afterwards, as its
training flag is.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext

import numpy as np
import torch
from torch import nn

from mtneuro.acceleration import channels_last_pays
from mtneuro.errors import ConfigError, DataError, MtneuroError
from mtneuro.models.checkpoint import ONE_CHANNEL
from mtneuro.models.encoder_hints import float32_hint
from mtneuro.models.user import DEFAULT_INPUT_SPEC, OUT_DIM_PROBE
from mtneuro.progress import LoopProgress
from mtneuro.registry import raised
from mtneuro.tasks.tile_inputs import as_unit_float


@torch.no_grad()
def extract_features(
    encoder: nn.Module,
    images: np.ndarray | torch.Tensor,
    *,
    batch_size: int = 256,
    device: str | torch.device = "cpu",
    mean: float | Sequence[float] = 0.0,
    std: float | Sequence[float] = 1.0,
    channels_last: bool = True,
    what: str | None = None,
    quiet: bool = True,
) -> np.ndarray:
    """Frozen features of ``images``: the one feature extractor of the probes.

    Args:
        encoder: ``forward(x) -> (B, D)``; run in eval mode, training flag restored.
        images: ``(N, C, H, W)`` or ``(N, C, D, H, W)``; uint8 (scaled by 1/255) or float
            in [0, 1]. Converted one batch at a time, so uint8 inputs stay small.
        batch_size: samples per forward pass.
        mean, std: normalisation the encoder expects, applied to [0, 1] intensities: one
            value, or one per channel.
        channels_last: 2D images in NHWC format where it pays (see the module doc); False
            runs the encoder in the format it is in.
        what: what the progress of the loop is called (``"encoding test images"``), for
            the bench's live table and, unless ``quiet``, a bar or log lines; None: no
            progress (a probe batch).

    Returns:
        float32 ``(N, D)`` array.
    """
    if batch_size < 1:
        raise ConfigError(f"batch_size: expected int >= 1, got {batch_size!r}")
    per_channel = not (np.isscalar(mean) and np.isscalar(std))
    was_training = encoder.training
    encoder.eval()
    out = []
    progress = (LoopProgress(what, len(images), unit="images", enabled=not quiet)
                if what is not None else nullcontext())
    try:
        with progress, _memory_format(encoder, channels_last and np.ndim(images[:1]) == 4,
                                      torch.device(device)) as nhwc:
            for start in range(0, len(images), batch_size):
                batch = torch.as_tensor(images[start : start + batch_size]).to(device)
                batch = as_unit_float(batch)
                if per_channel:
                    shape = (1, -1) + (1,) * (batch.dim() - 2)
                    batch = ((batch - torch.as_tensor(mean, dtype=torch.float32, device=device)
                              .reshape(shape)) / torch.as_tensor(std, dtype=torch.float32,
                                                                 device=device).reshape(shape))
                elif mean != 0.0 or std != 1.0:
                    batch = (batch - mean) / std
                if nhwc:
                    batch = batch.contiguous(memory_format=torch.channels_last)
                out.append(_checked_features(_forward(encoder, batch), batch, encoder).cpu())
                if isinstance(progress, LoopProgress):
                    progress.update(len(batch))
    finally:
        encoder.train(was_training)
    if not out:
        raise DataError("extract_features: no images")
    return checked_finite(torch.cat(out).numpy(), f"encoder {type(encoder).__name__}")


def _forward(encoder: nn.Module, batch: torch.Tensor) -> object:
    """``encoder(batch)``; an error of the encoder's own code is one line naming the batch it
    was given (the encoder is the user's: any exception)."""
    try:
        return encoder(batch)
    except MtneuroError:
        raise
    except Exception as exc:  # noqa: BLE001 - the user's forward: any error, one line
        raise DataError(f"encoder {type(encoder).__name__}: forward on a batch of shape "
                        f"{tuple(batch.shape)} raised {raised(exc)}; "
                        f"{forward_hint(encoder, _declared_size(encoder), tuple(batch.shape))}"
                        ) from exc


#: How an encoder's feature size stops following its input size (the tasks choose those).
GLOBAL_POOLING = ("end its forward with global pooling (e.g. nn.AdaptiveAvgPool2d(1) before any "
                  "flatten or linear layer)")
#: How an encoder that runs at one input size only comes to take the tasks' sizes.
EVERY_INPUT_SIZE = (f"it must take every input size the task feeds: {GLOBAL_POOLING}, or resize "
                    "its input inside forward (F.interpolate to the size it was built for, as a "
                    "ViT's fixed position embeddings need) (docs/bring_your_own_encoder.md lists "
                    "each task's input sizes)")


def forward_hint(encoder: nn.Module, size: object, batch_shape: tuple[int, ...], *,
                 declared: bool = True) -> str:
    """What to fix when an encoder's forward fails on ``batch_shape``: weights of a dtype
    other than float32; else, where its in-plane ``size`` (declared by the module, or
    ``declared=False``: the size it was resolved at, its spec's or the default) is not the
    batch's height and width, that size (the task decides its input size; a 3D block's depth
    is not a side); else the channels and value range."""
    dtype = float32_hint(encoder)
    if dtype is not None:
        return dtype
    if not isinstance(size, int) or all(side == size for side in batch_shape[-2:]):
        return ONE_CHANNEL
    fed = " x ".join(map(str, batch_shape[-2:]))
    said = (f"it declares input size {size}" if declared else
            f"it takes {size} x {size} inputs (the size its out_dim was found at: its "
            f"input_spec size, {DEFAULT_INPUT_SPEC['size']} where it declares none)")
    return f"{said} but this task feeds {fed} inputs; {EVERY_INPUT_SIZE}"


def _declared_size(encoder: nn.Module) -> object:
    return (getattr(encoder, "input_spec", None) or {}).get("size")


def checked_finite(features: np.ndarray, who: str) -> np.ndarray:
    """``features`` if every value is finite; else a :class:`DataError` naming ``who`` (the
    encoder, and what it encoded) and how many values are NaN or inf."""
    bad = int((~np.isfinite(features)).sum())
    if bad:
        raise DataError(f"{who}: {bad} of its {features.size} feature values are NaN or inf; "
                        "no readout can be fitted")
    return features


def checked_forward(encoder: nn.Module, batch: torch.Tensor, inputs: str) -> torch.Tensor:
    """``encoder(batch)`` held to the contract as :func:`extract_features` holds it, for a
    loop that feeds the encoder itself (task 1's linear head): an error in ``forward`` is
    one line, features are float32 ``(B, D)`` on the batch's device, and a NaN or inf is an
    error naming the ``inputs`` (``"training tiles"``), not a readout trained or scored on
    it."""
    features = _checked_features(_forward(encoder, batch), batch, encoder)
    finite = torch.isfinite(features)
    if not bool(finite.all()):
        raise DataError(f"encoder {type(encoder).__name__}: {int((~finite).sum())} of its "
                        f"{features.numel()} feature values on a batch of {inputs} "
                        f"{tuple(batch.shape)} are NaN or inf; no readout can be fitted")
    return features


def _checked_features(features: object, batch: torch.Tensor, encoder: nn.Module) -> torch.Tensor:
    """``features`` of ``batch`` as float32 (on the device they are on), if they are the
    contract's (B, D) tensor with D the encoder's ``out_dim`` where it declares one."""
    name = f"encoder {type(encoder).__name__}"
    if not isinstance(features, torch.Tensor):
        raise DataError(f"{name}: returned {type(features).__name__}; expected a (B, D) tensor")
    shape = tuple(features.shape)
    if len(shape) != 2 or shape[0] != len(batch):
        raise DataError(f"{name}: returned shape {shape} for a batch of {tuple(batch.shape)}; "
                        f"expected ({len(batch)}, D) features (flatten them in forward)")
    declared = getattr(encoder, "out_dim", None)
    if isinstance(declared, int) and declared != shape[1]:
        raise DataError(f"{name}: {_out_dim_mismatch(encoder, declared, shape[1], batch)}")
    return features.float()


def _out_dim_mismatch(encoder: nn.Module, out_dim: int, got: int, batch: torch.Tensor) -> str:
    """Why ``got`` features differ from ``out_dim``: the module's own declaration, or the
    size mtneuro inferred from a zero batch of another shape (then the output size depends
    on the input size, which the tasks choose)."""
    probe = getattr(encoder, OUT_DIM_PROBE, None)
    if not isinstance(probe, tuple):
        return f"declares out_dim {out_dim} but returned {got} features"
    said = (f"gave {out_dim} features for the {probe} zero batch mtneuro inferred its out_dim "
            f"from (it declares none) but {got} for a {tuple(batch.shape)} batch")
    if tuple(probe[1:]) == tuple(batch.shape[1:]):
        return f"{said}: its output size must not change from batch to batch"
    return (f"{said}: its output size must not depend on its input size, as the tasks choose "
            "their input sizes (docs/bring_your_own_encoder.md lists them), not its out_dim "
            f"or input_spec: {GLOBAL_POOLING}")


@contextmanager
def _memory_format(encoder: nn.Module, images_2d: bool, device: torch.device) -> Iterator[bool]:
    """Within the block, ``encoder`` in NHWC format if that pays for these images; yields
    whether it is. An encoder that was not already NHWC is switched back on the way out."""
    nhwc = images_2d and channels_last_pays(encoder, device, None)
    switched = nhwc and not _is_nhwc(encoder)
    if switched:
        encoder.to(memory_format=torch.channels_last)
    try:
        yield nhwc
    finally:
        if switched:
            encoder.to(memory_format=torch.contiguous_format)


def _is_nhwc(encoder: nn.Module) -> bool:
    weights = [p for p in encoder.parameters() if p.dim() == 4]
    # a 1x1 kernel's layout is both formats at once: only the others tell them apart
    return all(w.is_contiguous(memory_format=torch.channels_last) for w in weights) and not all(
        w.is_contiguous() for w in weights)
