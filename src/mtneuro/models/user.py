"""Resolve a user-supplied encoder spec into ``(encoder, input_spec)``.

Every task accepts ``--encoder SPEC`` where SPEC is, tried in this order:

1. a path to an ``mtneuro-encoder/1`` checkpoint (see :mod:`mtneuro.models.checkpoint`);
2. ``"package.module:callable"``: the callable (a function or an ``nn.Module`` class)
   is called without arguments and must return an ``nn.Module`` mapping
   ``(B, 1, H, W)`` (or the layout its ``input_spec`` says) to ``(B, D)``;
3. a registered encoder name (``ENCODERS``; randomly initialised, useful as a baseline);
4. a name a pip package registers under the entry-point group ``mtneuro.encoders``
   (``[project.entry-points."mtneuro.encoders"] myenc = "mypkg.enc:build"``).

If the module has no integer ``out_dim``, D is found with one dummy forward pass (and the
module keeps the probe's shape under :data:`OUT_DIM_PROBE`, for messages); a module given
in memory comes back as a shallow copy carrying them, the caller's own object untouched. A
module may carry an ``input_spec`` dict attribute (keys ``spatial_dims``,
``in_channels``, ``size``, ``mean``, ``std``); missing keys come from the module's own
``spatial_dims`` / ``in_channels`` attributes, then :data:`DEFAULT_INPUT_SPEC`.
"""

from __future__ import annotations

import copy
import importlib
import os
import warnings
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mtneuro.errors import ConfigError, DataError, MtneuroError
from mtneuro.models.checkpoint import (
    ONE_CHANNEL,
    load_encoder,
    looks_like_file,
    missing_encoder_file,
    refuse_folder,
    with_encoder_facts,
)
from mtneuro.models.encoder_hints import float32_hint
from mtneuro.models.registry import buildable_encoders, create_encoder, list_encoders
from mtneuro.registry import ON_PATH, dotted_module, import_callable, raised

ENTRY_POINT_GROUP = "mtneuro.encoders"
DEFAULT_INPUT_SPEC: dict[str, Any] = {"spatial_dims": 2, "in_channels": 1, "size": 64}
#: Attribute set on a module whose ``out_dim`` :func:`resolve_encoder` inferred: the shape of
#: the zero batch it was inferred from. A task feeding other sizes that gets another D can
#: then say the number was mtneuro's guess, not the module's own declaration.
OUT_DIM_PROBE = "_mtneuro_out_dim_probe"


def _entry_point_names() -> list[str]:
    return sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))


def refuse_python_file(spec: str, who: str) -> None:
    """A ``.py`` file given as an encoder: a module to import, not a checkpoint to load.

    Raises:
        ConfigError: naming the ``module:callable`` form of that file.
    """
    if spec.endswith(".py"):
        raise ConfigError(f"{who}: a Python file is no encoder; give its module and the "
                          f"callable that builds the encoder, {dotted_module(spec)}:CALLABLE "
                          f"({ON_PATH})")


def _call(spec: str, factory: Any) -> Any:
    """``factory()``; one that cannot be called without arguments (``os:system``) is a
    :class:`ConfigError` naming the spec, not a bare ``TypeError``."""
    if not callable(factory):
        raise ConfigError(f"encoder {spec!r}: expected a callable, got {type(factory).__name__}")
    try:
        return factory()
    except MtneuroError:
        raise
    except TypeError as exc:
        raise ConfigError(f"encoder {spec!r}: calling it with no arguments failed ({exc}); "
                          "mtneuro calls it so and expects an nn.Module back") from exc
    except Exception as exc:  # noqa: BLE001 - the user's code: any error, said in one line
        raise ConfigError(f"encoder {spec!r}: calling it raised {raised(exc)}") from exc


def refuse_meta_weights(encoder: nn.Module, name: str) -> None:
    """Refuse an encoder built on the ``meta`` device (``with torch.device("meta")``, or
    loaded lazily) in one line: its tensors hold no values, and torch's own error when one
    is moved or run (``Cannot copy out of meta tensor``) says nothing of the encoder.

    Raises:
        ConfigError: a parameter or buffer of ``encoder`` is on the meta device.
    """
    tensors = [*encoder.named_parameters(), *encoder.named_buffers()]
    meta = [key for key, tensor in tensors if tensor.is_meta]
    if meta:
        more = f" and {len(meta) - 1} more" if len(meta) > 1 else ""
        raise ConfigError(
            f"encoder {name}: its weights are on the meta device ({meta[0]}{more}), "
            "not materialised, so there is nothing to run; expected real weights: load them "
            "(encoder.load_state_dict(state, assign=True)) or allocate and initialise them "
            "(encoder.to_empty(device='cpu'), then your initialisation)")


def _finish(spec: str, encoder: Any, input_spec: dict[str, Any] | None, *,
            given: bool = False) -> tuple[nn.Module, dict]:
    """Check the built object, attach ``out_dim`` (dummy forward if needed). A module the
    caller ``given`` in memory is not written to: the attributes go on a shallow copy."""
    if not isinstance(encoder, nn.Module):
        raise ConfigError(
            f"encoder {spec!r}: expected the callable to return an nn.Module, "
            f"got {type(encoder).__name__}"
        )
    refuse_meta_weights(encoder, repr(spec))
    # Precedence: the given spec, then what the module says of itself, then defaults.
    own = with_encoder_facts(encoder, None)
    declared = input_spec or getattr(encoder, "input_spec", None) or {}
    # Vector encoders (an ``in_dim``, no spatial layout) get no image defaults.
    vector = "in_dim" in {**own, **declared} and "spatial_dims" not in {**own, **declared}
    full = {**({} if vector else DEFAULT_INPUT_SPEC), **own, **declared}
    if not isinstance(getattr(encoder, "out_dim", None), int):
        out_dim = infer_out_dim(encoder, full, spec=spec)
        if given:
            # A shallow copy shares the parameters, buffers and submodules (no memory, and
            # training it trains them, as before), but has its own attributes: the caller's
            # module gains no out_dim that its next use would mistake for its own.
            encoder = _shallow_copy(encoder, spec)
        encoder.out_dim = out_dim
        setattr(encoder, OUT_DIM_PROBE, _probe_input_shape(full))
    return encoder, full


def _shallow_copy(encoder: nn.Module, spec: str) -> nn.Module:
    try:
        return copy.copy(encoder)
    except Exception as exc:  # a module's own __reduce__ / __copy__ may raise anything
        raise ConfigError(f"encoder {spec!r}: copy.copy failed ({raised(exc)}), and mtneuro "
                          "leaves the module given to it as it was; declare its feature size "
                          "as an integer attribute out_dim") from exc


def probe_shape(input_spec: dict[str, Any]) -> tuple[int, ...]:
    """The shape of a probe batch of an image encoder: two images of its ``in_channels``,
    ``size`` and, for 3D, 8 slices, ``(2, C, [8,] size, size)``."""
    size, dims = int(input_spec["size"]), int(input_spec["spatial_dims"])
    return (2, int(input_spec["in_channels"]), *((8,) if dims == 3 else ()), size, size)


def _probe_input_shape(input_spec: dict[str, Any]) -> tuple[int, ...]:
    """The zero batch :func:`infer_out_dim` runs: ``(2, in_dim)`` for a vector encoder, else
    :func:`probe_shape`."""
    if "spatial_dims" not in input_spec and "in_dim" in input_spec:
        return (2, int(input_spec["in_dim"]))
    return probe_shape(input_spec)


def infer_out_dim(encoder: nn.Module, input_spec: dict[str, Any], *, spec: str = "encoder") -> int:
    """Feature size D from one forward pass of a zero batch: ``(2, in_dim)`` for a vector
    encoder (an ``in_dim`` and no ``spatial_dims``), else ``(2, C, [8,] size, size)``."""
    shape = _probe_input_shape(input_spec)
    param = next(encoder.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    # each submodule's own flag, restored as it was (train(flag) would set them all alike)
    modes = [(module, module.training) for module in encoder.modules()]
    encoder.eval()  # no BatchNorm running-stat updates from the probe batch
    try:
        with torch.no_grad():
            out = encoder(torch.zeros(shape, device=device))
    except Exception as exc:
        image = "" if len(shape) == 2 else f"; {_likely_cause(encoder, shape)}"
        raise ConfigError(
            f"encoder {spec!r}: forward on a dummy input of shape {shape} failed "
            f"({type(exc).__name__}: {exc}){image}"
        ) from exc
    finally:
        for module, training in modes:
            module.training = training
    if (not isinstance(out, torch.Tensor) or out.dim() != 2 or out.shape[0] != shape[0]
            or out.shape[1] == 0):  # no features: a probe would fail deep in scikit-learn
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ConfigError(f"encoder {spec!r}: expected output (B, D) with D >= 1 for input "
                          f"{shape}, got {got}{_flatten_hint(out, shape[0])}")
    return int(out.shape[1])


def _flatten_hint(out: object, batch: int) -> str:
    """How to turn a feature map of ``batch`` rows into (B, D): flatten it, the advice the
    tasks give when their own forward returns one; pooled first where it still has spatial
    sides (their number of values would follow the input size, which the tasks choose)."""
    if not isinstance(out, torch.Tensor) or out.dim() <= 2 or out.shape[0] != batch:
        return ""
    pool = ("" if all(side == 1 for side in out.shape[2:]) else
            "pool its spatial sides (e.g. nn.AdaptiveAvgPool2d(1)), then ")
    return f"; {pool}flatten the features in forward (e.g. return torch.flatten(x, 1))"


def _likely_cause(encoder: nn.Module, shape: tuple[int, ...]) -> str:
    """Why a forward on a zero image batch failed: a 3D network probed in 2D (it declares no
    ``spatial_dims: 3``; torch reads the 4D batch as one unbatched 3D sample and blames the
    channels), half-precision or bfloat16 weights meeting the float32 batch, else the
    channels or value range of the tasks' inputs."""
    if len(shape) == 4 and any(isinstance(m, (nn.Conv3d, nn.ConvTranspose3d, nn.BatchNorm3d))
                               for m in encoder.modules()):
        return ("it has 3D layers but was probed with 2D images: declare input_spec = "
                "{'spatial_dims': 3} on the module (or save_encoder(..., kwargs="
                "{'spatial_dims': 3})) so that mtneuro feeds it (B, 1, D, H, W) blocks")
    return float32_hint(encoder) or ONE_CHANNEL


def resolve_encoder(spec: str | nn.Module) -> tuple[nn.Module, dict[str, Any]]:
    """Turn a checkpoint path, ``module:callable``, registered or entry-point name (or an
    encoder already built) into an encoder.

    Args:
        spec: see the module docstring for the accepted forms; an ``nn.Module`` is checked
            and completed like the result of a ``module:callable``.

    Returns:
        ``(encoder, input_spec)``: the module (with integer ``out_dim``; a module given
        without one comes back as a shallow copy that has it) and a dict with
        at least ``spatial_dims``, ``in_channels`` and ``size`` for image encoders, or
        ``in_dim`` for vector encoders (e.g. ``mlp``).

    Raises:
        ConfigError: the spec matches none of the forms; the message lists them.
        DataError: a checkpoint file is missing or malformed.
    """
    if isinstance(spec, nn.Module):
        return _finish(f"in-memory {type(spec).__name__}", spec, None, given=True)
    if not isinstance(spec, str) or not spec:
        raise ConfigError(f"encoder spec: expected a non-empty string, got {spec!r}")
    refuse_python_file(spec, f"encoder {spec!r}")
    path = Path(spec)
    if path.is_file():
        encoder = load_encoder(path)
        return _finish(spec, encoder, encoder.input_spec)
    if ":" in spec and not os.path.splitdrive(spec)[0]:
        return _finish(spec, _call(spec, import_callable(spec)), None)
    if spec in list_encoders():
        try:
            encoder = create_encoder(spec)
        except TypeError as exc:
            raise ConfigError(
                f"encoder {spec!r} needs arguments ({exc}); build it with "
                f"create_encoder or save it with save_encoder first"
            ) from exc
        # A name such as resnet18-imagenet reads like pretrained weights; it is not.
        warnings.warn(f"encoder {spec!r} is a registered architecture with random weights "
                      "(nothing pretrained is loaded); give a checkpoint or module:callable "
                      "to evaluate trained weights", UserWarning, stacklevel=2)
        return _finish(spec, encoder, None)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == spec:
            try:
                factory = ep.load()
            except MtneuroError:
                raise
            except Exception as exc:  # noqa: BLE001 - a plug-in's module: any error, one line
                raise ConfigError(
                    f"encoder {spec!r}: entry point {ep.value!r} in group "
                    f"{ENTRY_POINT_GROUP!r} failed to load ({raised(exc)})"
                ) from exc
            return _finish(spec, _call(spec, factory), None)
    # after the names: a folder that happens to share one does not shadow it
    refuse_folder(spec, f"encoder {spec!r}")
    if looks_like_file(spec):
        raise DataError(missing_encoder_file(f"encoder {spec!r}"))
    plugins = ", ".join(_entry_point_names()) or "none installed"
    meant = colon_spec(spec)
    hint = f"did you mean {meant!r}? " if meant else ""
    raise ConfigError(
        f"encoder {spec!r}: {hint}expected a checkpoint file, 'module:callable', a registered "
        f"encoder ({', '.join(buildable_encoders())}) or an entry point in group "
        f"{ENTRY_POINT_GROUP!r} ({plugins})"
    )


def colon_spec(spec: str) -> str | None:
    """``"pkg.mod:name"`` for a spec written ``"pkg.mod.name"`` (a dot where the colon goes)
    when ``pkg.mod`` imports and has ``name``; else None. Only a dotted path of Python
    names is imported (as ``module:callable`` would import it), so a plain name costs no
    import."""
    module_name, _, name = spec.rpartition(".")
    if not module_name or not all(part.isidentifier() for part in spec.split(".")):
        return None
    try:
        module = importlib.import_module(module_name)
    except Exception:  # noqa: BLE001 - any module's import error: then no suggestion
        return None
    return f"{module_name}:{name}" if hasattr(module, name) else None


def resolve_encoder_at_seed(spec: str, seed: int = 0) -> tuple[nn.Module, dict[str, Any]]:
    """:func:`resolve_encoder` under a fixed torch seed, the caller's random state left as it
    was: a spec that builds random weights (a registered name, a ``module:callable``) gives
    the same weights in every call and every process, so a record's fingerprint of them
    names the weights that ran."""
    # devices=[]: the CUDA generators are not touched, so no CUDA context is created here
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return resolve_encoder(spec)
