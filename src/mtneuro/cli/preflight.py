"""Checks of a command's inputs that run before any data is loaded or anything is written.

A built config has valid keys and types (:mod:`mtneuro.config`); what it names is checked
here, cheaply and within about a second: seeds, the source's parameters (keys against the
source's signature), crop sizes against the volume tile
(:func:`mtneuro.data.spec.check_crop`), and encoder files (that they
load safely and take images). Each failure is one :class:`~mtneuro.errors.MtneuroError`
line naming the value, what was expected and what to do.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mtneuro.config import check_seeds
from mtneuro.errors import ConfigError

#: Arguments of ``load_vision`` that a command sets itself, not ``--source-param``.
_VISION_OWN_ARGS = ("name", "split", "download")


def check_source_params(source: str, params: Mapping[str, Any], *,
                        vision: bool = False) -> None:
    """The keys of ``params`` are parameters of ``source`` (a volume source, or with
    ``vision`` an image dataset too: only pre-training reads those); a volume source's
    values are checked too (:func:`mtneuro.data.sources.source_params`).

    Raises:
        ConfigError: an unknown source or parameter (the message lists the valid ones), or
            a bad value.
    """
    from mtneuro.data.sources import SOURCE_NAMES, check_param_names, source_params
    from mtneuro.registry import check_choice
    from mtneuro.vocab import VISION_SOURCES

    if not vision and source in VISION_SOURCES:  # a pre-training source named to a task
        raise ConfigError(f"source {source!r}: only `mtneuro pretrain` reads it (it has no "
                          "brain regions or microstructure labels); the tasks read the MTNeuro "
                          f"volume from {', '.join(SOURCE_NAMES)} (pre-train on your data, "
                          "then pass the encoder: --encoder OUT/encoder.pt)")
    check_choice("source", source, (*SOURCE_NAMES, *(VISION_SOURCES if vision else ())))
    if source not in VISION_SOURCES:
        source_params(source, params)  # unknown, missing, mistyped or out-of-range values
        return
    if source == "volume":
        import inspect

        from mtneuro.data.volume_file import check_tiling, volume_tiles

        check_param_names(source, volume_tiles, params)
        if "path" not in params:
            raise ConfigError("source volume: give the file, --source-param path=FILE (.npy, "
                              ".tif stack or Zarr array folder)")
        defaults = inspect.signature(volume_tiles).parameters
        check_tiling(*(params.get(key, defaults[key].default) for key in ("tile", "z_step")))
        return
    from mtneuro.data.vision import load_vision

    check_param_names(source, load_vision, params, _VISION_OWN_ARGS)


def check_device(device: str | None, key: str = "device") -> None:
    """A torch device name (``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``) that this
    machine has (:func:`mtneuro.devices.resolve_device`)."""
    if device is None or device == "auto":
        return
    from mtneuro.devices import resolve_device

    resolve_device(device, key)


def check_image_encoder(spec: str | None, option: str = "--encoder") -> None:
    """An encoder *file* loads safely and takes images (not firing rates).

    A spec that is no file must be ``module:callable`` (its module imported here, its
    callable found; called when the task runs), a registered encoder or an entry-point
    name; one that looks like a path must exist.
    """
    if not spec:
        return
    from mtneuro.models.user import ENTRY_POINT_GROUP, refuse_python_file

    refuse_python_file(spec, f"{option} {spec!r}")
    if not Path(spec).is_file():
        from importlib.metadata import entry_points

        from mtneuro.models.checkpoint import looks_like_file, missing_encoder_file, refuse_folder
        from mtneuro.models.registry import buildable_encoders, list_encoders, required_arguments

        if ":" in spec and not os.path.splitdrive(spec)[0]:  # C:\\x.pt is a path
            from mtneuro.registry import import_callable

            import_callable(spec, option)
            return
        ready = buildable_encoders()
        if spec in list_encoders() and spec not in ready:
            raise ConfigError(f"{option} {spec!r}: this encoder needs "
                              f"{', '.join(required_arguments(spec))}, which a name cannot give "
                              f"(it is no image encoder); encoder names: {', '.join(ready)}")
        names = [*ready, *(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))]
        if spec not in names:  # a name wins over a folder of that name, as when resolved
            refuse_folder(spec, option)
        if looks_like_file(spec):
            raise ConfigError(missing_encoder_file(f"{option} {spec}"))
        if spec not in names:
            from mtneuro.models.user import colon_spec
            from mtneuro.registry import close_names

            meant = colon_spec(spec)  # a dot where the colon goes, else a name's typo
            close = [meant] if meant else close_names(spec, names, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(f"{option} {spec!r}: {hint}expected an encoder file, "
                              f"module:callable, an encoder name ({', '.join(names)}) or the "
                              f"name of an installed {ENTRY_POINT_GROUP!r} entry point")
        return
    from mtneuro.models.checkpoint import (
        check_image_encoder_spec,
        encoder_input_spec,
        input_normalisation,
    )

    spec_in = encoder_input_spec(spec)
    check_image_encoder_spec(spec_in, f"{option} {spec}")
    input_normalisation(spec_in, f"{option} {spec}")


_BUILT: set[str] = set()


def check_backbone(config: Any, prefix: str = "") -> None:
    """A pre-training config's encoder can be built from its ``backbone`` and
    ``backbone_params`` (a wrong keyword or value failed after the images were read).

    Raises:
        ConfigError: an unknown ``backbone`` (named first, with close names: no parameters
            fit an encoder that does not exist), or parameters it cannot be built with.
    """
    from mtneuro.models import create_encoder, list_encoders
    from mtneuro.registry import unknown_name_message
    from mtneuro.tasks.pretrain.run import encoder_spec

    name, kwargs = encoder_spec(config, 1)
    if name not in list_encoders():
        raise ConfigError(f"{prefix}backbone: "
                          f"{unknown_name_message('encoder', name, ['auto', *list_encoders()])}")
    key = f"{name} {json.dumps(kwargs, sort_keys=True, default=str)}"
    if key in _BUILT:  # a suite's cells share a few backbones: build each once
        return
    try:
        create_encoder(name, **kwargs)
        _BUILT.add(key)
    except (TypeError, ValueError, RuntimeError) as err:
        raise ConfigError(f"{prefix}backbone_params {dict(config.backbone_params)}: encoder "
                          f"{name!r} cannot be built with them ({type(err).__name__}: "
                          f"{str(err).splitlines()[0] if str(err) else ''})") from None


def check_weights_file(path: str | None, option: str = "--encoder-weights") -> None:
    """A local weights file holds a state dict (names -> tensors) and loads safely."""
    if path is None or path == "imagenet":
        return
    from mtneuro.models.checkpoint import read_state_dict

    if not Path(path).is_file():
        raise ConfigError(f"{option}: file not found: {path} (expected 'imagenet' or a file)")
    read_state_dict(path, what=f"{option} file")


def check_config(config: Any, prefix: str = "") -> None:
    """Everything of a task or pre-training config that can be checked before data is read:
    seeds, source parameters, crops, device, encoder files (nested configs too, e.g.
    ``pretrain``).
    """
    from mtneuro.data.spec import check_crop  # imported here: --help stays without NumPy
    from mtneuro.vocab import VISION_SOURCES

    values = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    if "seeds" in values:
        check_seeds(values["seeds"], f"{prefix}seeds")
    if isinstance(values.get("seed"), int):
        check_seeds(values["seed"], f"{prefix}seed")
    source = values.get("source")
    if isinstance(source, str):
        from mtneuro.tasks.pretrain.config import PretrainConfig

        check_source_params(source, values.get("source_params") or {},
                            vision=isinstance(config, PretrainConfig))
        if source not in VISION_SOURCES:
            check_crop(values.get("crop"), f"{prefix}crop")
            train = values.get("train")
            if dataclasses.is_dataclass(train):
                check_crop(getattr(train, "crop", None), f"{prefix}train.crop")
            check_crop(values.get("window"), f"{prefix}window")
    if isinstance(values.get("device"), str):
        check_device(values["device"], f"{prefix}device")
    if isinstance(values.get("backbone_params"), dict):
        check_backbone(config, prefix)
    if isinstance(values.get("encoder"), str):
        check_image_encoder(values["encoder"])
    if isinstance(values.get("encoder_weights"), str):
        check_weights_file(values["encoder_weights"])
    nested = values.get("pretrain")
    if dataclasses.is_dataclass(nested):
        check_config(nested, f"{prefix}pretrain.")
