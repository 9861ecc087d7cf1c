"""The encoder checkpoint format shared by pre-training and every task.

A checkpoint is one ``torch.save`` dict (loadable with ``weights_only=True``)::

    {
        "format": "mtneuro-encoder/1",
        "name": "resnet18",                 # an ENCODERS name, or "module:callable" (see below)
        "kwargs": {"in_channels": 1},       # rebuilds the architecture
        "state_dict": {...},                # the encoder's weights
        "out_dim": 512,                     # feature size D of forward(x) -> (B, D)
        "input": {"spatial_dims": 2, "size": 128, "mean": 0.4894, "std": 0.1238},
        "meta": {"method": "myow", "epochs": 800, ...},
    }

``input`` says what the encoder was trained on, so a task can prepare matching
tensors (``size`` in pixels, ``mean``/``std`` of the normalisation applied to [0, 1]
intensities). ``meta`` is free-form (plain Python values only).

A file is read with ``weights_only=True`` (:mod:`mtneuro.checkpoint_io`), so its
contents cannot run code. Its ``name`` could: a ``"module:callable"`` name is imported
and called with the file's ``kwargs`` (``"os:system"`` would run a shell command),
so :func:`load_encoder` rebuilds such an encoder only when the caller passes
``trust_code=True``; registered names are always rebuilt.

>>> import tempfile
>>> enc = create_encoder("resnet-tiny")
>>> path = Path(tempfile.mkdtemp()) / "enc.pt"
>>> _ = save_encoder(path, enc, name="resnet-tiny", kwargs={}, input_spec={"spatial_dims": 2})
>>> enc2 = load_encoder(path)               # rebuilt through the registry, eval mode
>>> enc2.training, enc2.out_dim == enc.out_dim
(False, True)
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mtneuro.checkpoint_io import check_keys, load_state, save_state
from mtneuro.errors import CheckpointError, ConfigError, DataError, MtneuroError
from mtneuro.models.registry import create_encoder, list_encoders
from mtneuro.registry import import_callable

FORMAT = "mtneuro-encoder/1"
#: What the image tasks feed an encoder, and how a model made for RGB takes it.
ONE_CHANNEL = ("the tasks feed one-channel float tiles, (B, 1, H, W) or (B, 1, D, H, W), in "
               "[0, 1] and normalised with the encoder's mean / std; a model made for RGB "
               "must take one channel (e.g. x.expand(-1, 3, -1, -1) at the start of its "
               "forward) and declare in_channels 1")
#: How a user's own architecture and weights reach a task (docs/bring_your_own_encoder.md).
_OWN_WEIGHTS = ("load it inside a module:callable that builds the model and returns it "
                "(--encoder mypkg.encoders:build; docs/bring_your_own_encoder.md)")
#: How a weights file (a bare state dict) is written.
_SAVE_WEIGHTS = "torch.save(encoder.state_dict(), path)"
_KEYS = {"name": str, "kwargs": dict, "state_dict": dict, "out_dim": int, "input": dict,
         "meta": dict}


def unwrap(module: nn.Module) -> nn.Module:
    """Strip DistributedDataParallel / DataParallel / ``torch.compile`` wrappers."""
    while True:
        if isinstance(module, (nn.parallel.DistributedDataParallel, nn.DataParallel)):
            module = module.module
        elif hasattr(module, "_orig_mod") and isinstance(module._orig_mod, nn.Module):
            module = module._orig_mod
        else:
            return module


def build_encoder(name: str, kwargs: Mapping[str, Any]) -> nn.Module:
    """Build an encoder from a registry ``name`` or a ``"module:callable"`` reference."""
    if ":" in name:
        return import_callable(name)(**kwargs)
    return create_encoder(name, **kwargs)


def with_encoder_facts(encoder: nn.Module, input_spec: Mapping[str, Any] | None) -> dict:
    """``input_spec`` completed with the encoder's ``spatial_dims`` / ``in_channels`` / ``in_dim``."""
    facts = {
        k: getattr(encoder, k)
        for k in ("spatial_dims", "in_channels", "in_dim")
        if isinstance(getattr(encoder, k, None), int)
    }
    return {**facts, **dict(input_spec or {})}


def check_image_encoder_spec(input_spec: Mapping[str, Any], what: str = "encoder") -> None:
    """Refuse a neural encoder's spec (no ``spatial_dims``, or a recording kind: ``reach``,
    ``sleep``, ``classes``) where images are expected: it would fail only on the images'
    shape, once they are read.

    Raises:
        ConfigError: naming what the encoder takes.
    """
    kind = input_spec.get("kind")
    if "spatial_dims" not in input_spec or kind in ("reach", "sleep", "classes"):
        takes = kind or f"vectors of {input_spec.get('in_dim', '?')} values"
        raise ConfigError(f"{what}: an encoder of {takes} (a neural encoder?), not of images; "
                          "give an encoder trained on images (e.g. by mtneuro pretrain)")


def input_normalisation(input_spec: Mapping[str, Any], what: str = "encoder") -> dict[str, float]:
    """``{"mean", "std"}`` that a one-channel image encoder's inputs are normalised with.

    ``input_spec["mean"]`` / ``["std"]`` may be numbers or per-channel lists (``mtneuro
    pretrain`` on a vision source writes lists); absent they are 0 and 1.

    Raises:
        ConfigError: the encoder takes several channels (MTNeuro's X-ray images have one), or
            a one-channel encoder gives several values of a mean or std.
    """
    channels = input_spec.get("channels", input_spec.get("in_channels", 1))
    values = {}
    for key, default in (("mean", 0.0), ("std", 1.0)):
        value = input_spec.get(key, default)
        items = list(value) if isinstance(value, (list, tuple)) else [value]
        if len(items) != 1 and channels in (1, None):  # e.g. ImageNet's RGB mean kept
            raise ConfigError(f"{what}: input {key} {value} has {len(items)} values (one per "
                              "channel), but the encoder takes 1 channel, as MTNeuro's X-ray "
                              f"images have; give one {key} in its input_spec"
                              f"{_average(items)}, or none ({key} {default:g})")
        if len(items) != 1 or channels not in (1, None):
            raise ConfigError(f"{what}: takes images of {channels} channel(s) (input {key} "
                              f"{value}); MTNeuro's X-ray images have 1 channel: pre-train on a "
                              "one-channel source (e.g. mtneuro pretrain --source phantom, or "
                              "an image folder with --source-param channels=1); "
                              f"{ONE_CHANNEL}")
        try:
            values[key] = float(items[0])
        except (TypeError, ValueError):
            raise ConfigError(f"{what}: input {key} {value!r} is not a number") from None
    return values


def _average(items: list[Any]) -> str:
    """`` (e.g. 0.449, their mean)`` for a list of numbers; empty for anything else."""
    try:
        return f" (e.g. {sum(float(item) for item in items) / len(items):.3g}, their mean)"
    except (TypeError, ValueError, ZeroDivisionError):
        return ""


def save_encoder(
    path: str | os.PathLike,
    encoder: nn.Module,
    *,
    name: str,
    kwargs: Mapping[str, Any] | None = None,
    input_spec: Mapping[str, Any] | None = None,
    meta: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``encoder`` in the ``mtneuro-encoder/1`` format (atomically).

    Args:
        path: destination file; parent folders are created.
        encoder: the module; DDP / compile wrappers are stripped.
        name: the ``ENCODERS`` name (or ``"module:callable"``) that rebuilds it.
        kwargs: keyword arguments that rebuild it with ``name``.
        input_spec: what the encoder expects, e.g. ``{"spatial_dims": 2, "size": 128,
            "mean": 0.4894, "std": 0.1238}``; the encoder's own ``spatial_dims``,
            ``in_channels`` and ``in_dim`` attributes fill keys it leaves out.
        meta: free-form provenance (method, epochs, seed, ...), plain values only.

    Returns:
        The path written.
    """
    if ":" not in name and name not in list_encoders():
        raise ConfigError(
            f"save_encoder name: expected a registered encoder "
            f"({', '.join(list_encoders())}) or 'module:callable', got {name!r}"
        )
    encoder = unwrap(encoder)
    out_dim = getattr(encoder, "out_dim", None)
    if not isinstance(out_dim, int):
        raise ConfigError(f"save_encoder: encoder {type(encoder).__name__} has no integer out_dim")
    state = {k: v.detach().cpu() for k, v in encoder.state_dict().items()}
    if ":" not in name:  # a registered name: the file must load back (no user code run here)
        try:
            create_encoder(name, **dict(kwargs or {})).load_state_dict(state, strict=True)
        except (TypeError, ValueError, RuntimeError) as exc:
            detail = (str(exc).splitlines()[1:2] or [str(exc)])[0].strip()[:140]
            raise ConfigError(f"save_encoder: {name!r} with kwargs {dict(kwargs or {})} does not "
                              f"rebuild this encoder ({detail}); pass the kwargs it was made "
                              "with") from None
    payload = {
        "format": FORMAT,
        "name": name,
        "kwargs": dict(kwargs or {}),
        "state_dict": state,
        "out_dim": out_dim,
        "input": with_encoder_facts(encoder, input_spec),
        "meta": dict(meta or {}),
    }
    # Atomic, and only tensors and plain values: loads back with weights_only=True.
    return save_state(path, payload)


def read_state_dict(path: str | os.PathLike, what: str = "weights file") -> dict[str, torch.Tensor]:
    """The state dict (parameter names -> tensors) saved at ``path``, bare or under a
    ``"state_dict"`` key, read with ``weights_only=True`` (on CPU).

    Raises:
        CheckpointError: the file is missing, does not load safely, or holds no such state
            dict (one line naming ``what`` and the path).
    """
    _refuse_torchscript(path, what, "if you trust it, save its weights with "
                        "torch.save(torch.jit.load(path).state_dict(), new_path)")
    state = load_state(path, what=what,
                       pickled_fix=f"save the weights with {_SAVE_WEIGHTS} instead")
    state = state.get("state_dict", state)
    if not isinstance(state, dict) or not state or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise CheckpointError(f"{what} {path}: expected a state dict (parameter names -> "
                              f"tensors), e.g. {_SAVE_WEIGHTS}")
    return state


def _encoder_beside(path: Path) -> str:
    """Where the encoder of the pretrain run that wrote ``path`` (a file in its folder) is."""
    encoder = path.parent / "encoder.pt"
    if encoder.is_file():
        return f"pass {encoder} beside it"
    return (f"pass the {encoder} that the run writes when it finishes (none yet: resume the run "
            "with --resume to finish it)")


def looks_like_file(spec: str) -> bool:
    """Whether an encoder spec names a file: a checkpoint suffix or a path separator."""
    return spec.endswith((".pt", ".pth", ".ckpt")) or "/" in spec or "\\" in spec


def missing_encoder_file(who: str) -> str:
    """The message for an encoder file that is not there (``who``: the option or argument
    and its value), with where such files come from."""
    return (f"{who}: file not found (an encoder file is the encoder.pt that `mtneuro pretrain` "
            "or `mtneuro neural` writes in its --out folder)")


def refuse_folder(path: str | os.PathLike, who: str) -> None:
    """A folder given where an encoder file is expected (e.g. pretrain's run folder) is named
    as one, with its ``encoder.pt`` when it holds one ("not found" sent users looking for a
    missing file).

    Raises:
        ConfigError: ``path`` is a folder.
    """
    path = Path(path)
    if not path.is_dir():
        return
    inside = path / "encoder.pt"
    hint = (f"did you mean {inside}?" if inside.is_file() else "give the encoder.pt file that "
            "mtneuro pretrain writes in its run folder (this folder holds none)")
    raise ConfigError(f"{who}: {path} is a folder, not an encoder file; {hint}")


def _refuse_torchscript(path: str | os.PathLike, what: str, fix: str) -> None:
    """A TorchScript archive (``torch.jit.save``) is named as one, before ``torch.load``
    (which says only that weights_only cannot read it): its model is code, which
    ``torch.jit.load`` compiles and runs, and mtneuro reads only tensors and plain values.

    Raises:
        CheckpointError: ``path`` is a zip archive with TorchScript's ``constants.pkl``
            (``torch.save`` writes none).
    """
    try:
        with zipfile.ZipFile(path) as archive:
            scripted = any(name.endswith("/constants.pkl") for name in archive.namelist())
    except (OSError, zipfile.BadZipFile):  # missing, or no zip: load_state says what it is
        return
    if scripted:
        raise CheckpointError(f"{what} {path} is a TorchScript archive (torch.jit.save), which "
                              "mtneuro does not load: its model is code that torch.jit.load "
                              "compiles and runs, and mtneuro reads only tensors and plain "
                              f"values; {fix}")


def _state_dict_key(payload: Mapping[str, Any]) -> str | None:
    """The key of a training loop's checkpoint (``{"model": state_dict, "epoch": 3}``)
    that holds a state dict (parameter names -> tensors), if one does."""
    return next((key for key, value in payload.items() if isinstance(value, Mapping) and value
                 and all(isinstance(v, torch.Tensor) for v in value.values())), None)


def read_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Load and validate a checkpoint dict (see the module docstring for the keys).

    Raises:
        DataError: the file is missing, does not load with ``weights_only=True``, is not an
            encoder checkpoint, has another format version, or lacks a key (one line each).
    """
    path = Path(path)
    _refuse_torchscript(path, "encoder checkpoint", "if you trust the file, load it inside a "
                        "module:callable that returns torch.jit.load(path) (--encoder "
                        "mypkg.encoders:build; docs/bring_your_own_encoder.md)")
    payload = load_state(path, what="encoder checkpoint", map_location=map_location,
                         pickled_fix=f"save model.state_dict() instead and {_OWN_WEIGHTS}")
    if "format" not in payload:
        bare = bool(payload) and all(isinstance(v, torch.Tensor) for v in payload.values())
        held = None if bare else _state_dict_key(payload)
        fix = (f"; a bare state_dict names no architecture: {_OWN_WEIGHTS}" if bare else
               f"; its key {held!r} holds a state_dict, which names no architecture: "
               f"{_OWN_WEIGHTS}, with model.load_state_dict(torch.load(path, weights_only=True)"
               f"[{held!r}])"
               if held else "")
        if "checkpoint_version" in payload:  # pretrain's checkpoint.pt, beside its encoder.pt
            fix = f"; it is mtneuro pretrain's training checkpoint: {_encoder_beside(path)}"
        raise DataError(
            f"{str(path)!r} is not an mtneuro encoder checkpoint "
            f"(expected a dict with format {FORMAT!r}){fix}"
        )
    if payload["format"] != FORMAT:
        raise DataError(
            f"{str(path)!r} has checkpoint format {payload['format']!r}; "
            f"this version reads {FORMAT!r}"
        )
    check_keys(payload, _KEYS, path, "encoder checkpoint")
    return payload


def checkpoint_meta(spec: Any) -> dict[str, Any] | None:
    """The ``meta`` of the encoder checkpoint file ``spec`` names, for a protocol card to
    say what the encoder was trained on; ``None`` for anything else (a ``module:callable``
    or name, a file that is no readable checkpoint: resolving the encoder says why)."""
    if not isinstance(spec, str) or not Path(spec).is_file():
        return None
    try:
        meta = read_checkpoint(spec)["meta"]
    except MtneuroError:
        return None
    return meta if isinstance(meta, dict) else None


def load_encoder(
    path: str | os.PathLike, map_location: str | torch.device = "cpu", *, trust_code: bool = False
) -> nn.Module:
    """Rebuild the encoder saved at ``path`` and load its weights.

    Args:
        path: an ``mtneuro-encoder/1`` file.
        map_location: where the weights go.
        trust_code: rebuild a ``"module:callable"`` encoder by importing and calling what
            the file names (only for files you trust); registered names need no trust.

    Returns:
        The encoder in eval mode, on ``map_location``, with ``out_dim`` set and the
        checkpoint's input spec as attribute ``input_spec``.

    Raises:
        DataError: a bad file (see :func:`read_checkpoint`), a ``"module:callable"`` name
            without ``trust_code``, or weights that do not fit.
    """
    payload = read_checkpoint(path, map_location)
    name = payload["name"]
    if ":" in name and not trust_code:
        raise CheckpointError(
            f"encoder checkpoint {path} names the code {name!r} to build its encoder, and "
            "mtneuro calls no code a file names; give that code itself instead (--encoder "
            f"{name}, which must build the model and load its weights), or, if you trust the "
            "file, load it in Python with mtneuro.models.checkpoint.load_encoder(path, "
            "trust_code=True)"
        )
    try:
        encoder = build_encoder(name, payload["kwargs"])
    except (TypeError, ValueError) as exc:
        raise CheckpointError(
            f"encoder checkpoint {path}: cannot build {name!r} with {payload['kwargs']} ({exc})"
        ) from None
    try:
        encoder.load_state_dict(payload["state_dict"], strict=True)
    except RuntimeError as exc:
        # torch's first line is only "Error(s) in loading state_dict for X:"; the next ones
        # name the missing, unexpected and mis-shaped keys (kept short: one line)
        lines = [line.strip() for line in str(exc).splitlines()[1:] if line.strip()]
        detail = "; ".join(line if len(line) <= 140 else line[:137] + "..." for line in lines[:3])
        raise DataError(
            f"{str(path)!r}: weights do not fit {payload['name']!r} "
            f"with {payload['kwargs']}: {detail}"
        ) from exc
    built = getattr(encoder, "out_dim", None)
    if isinstance(built, int) and built != int(payload["out_dim"]):
        raise DataError(f"{str(path)!r}: records out_dim {payload['out_dim']}, but "
                        f"{payload['name']!r} with {payload['kwargs']} gives {built}")
    encoder.out_dim = int(payload["out_dim"])
    encoder.input_spec = dict(payload["input"])
    if isinstance(map_location, (str, torch.device)):
        encoder.to(map_location)
    return encoder.eval()


def encoder_input_spec(path: str | os.PathLike) -> dict:
    """The ``input`` dict of the checkpoint at ``path`` (what the encoder expects)."""
    return dict(read_checkpoint(path)["input"])
