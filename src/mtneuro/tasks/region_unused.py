"""Task-1 settings a run will not read, named when they are given.

Which settings a task-1 run reads depends on its method and protocol
(:func:`mtneuro.tasks.region_protocol.resolve_recipe`): ``epochs`` trains a supervised
network, ``head_epochs`` / ``crop`` / ``probe_inputs`` the paper protocol's probe head of an
encoder, ``probe_cs`` a logistic-regression readout, and so on. A value given for a run that
does not read it changes nothing, while ``metrics.json`` records it; saying so keeps a user
from reading a difference into two runs that are the same (as ``pretrain.*`` values of a run
that pre-trains nothing are named, :func:`mtneuro.tasks.volume.with_pretrain`).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

from mtneuro.vocab import PIXEL_METHODS, SUPERVISED_METHODS


def unused_settings(config: Any, given: Iterable[str]) -> list[str]:
    """One line per group of ``given`` settings that the run of ``config`` (a
    :class:`~mtneuro.tasks.region_config.Task1Config`) does not read."""
    method = config.method
    protocol = config.protocol or ("resized" if config.quick else "paper")
    supervised, pixel = method in SUPERVISED_METHODS, method in PIXEL_METHODS
    paper_head = not supervised and not pixel and protocol == "paper"  # a trained linear head
    this_run = f"this run: method {method}, protocol {protocol}"
    rules: list[tuple[tuple[str, ...], bool, str]] = [
        (("backbone", "epochs", "momentum", "weight_decay"), supervised,
         "read only by supervised training"),
        (("head_epochs", "crop", "probe_inputs"), paper_head,
         "read only by the paper protocol's linear head on an encoder"),
        (("batch_size", "lr"), supervised or paper_head,
         "read only by supervised training or the paper protocol's linear head"),
        (("probe_cs",), not supervised and not paper_head,
         "read only by the logistic-regression readout"),
        (("mixup_alpha",), method == "supervised-mixup", "read only by supervised-mixup"),
        (("n_components",), pixel, "read only by PCA / NMF"),
        (("nmf_max_iter",), method == "nmf", "read only by NMF"),
        (("input_size",), pixel or protocol == "resized",
         "the paper protocol reads whole 256-px tiles"),
    ]
    given = set(given)
    lines = []
    for keys, used, why in rules:
        named = [key for key in keys if key in given]
        if named and not used:
            lines.append(f"{', '.join(named)} not used: {why} ({this_run})")
    return lines


def warn_unused(config: Any, given: Iterable[str]) -> None:
    """Warn once per line of :func:`unused_settings`."""
    for line in unused_settings(config, given):
        warnings.warn(line, stacklevel=3)


def complete_task1(config_class: type, raw: dict[str, Any]) -> dict[str, Any]:
    """Task 1's boundary resolution: :func:`~mtneuro.tasks.volume.with_pretrain`, and a
    warning for each group of given settings the run will not read."""
    from mtneuro.config import from_mapping
    from mtneuro.tasks.volume import with_pretrain

    values = with_pretrain(config_class, raw)
    config = from_mapping(config_class, {**values, "pretrain": None})
    warn_unused(config, [key for key, value in raw.items() if value is not None])
    if config.backbone is not None and config.method in SUPERVISED_METHODS:
        _check_backbone(config.backbone)
    return values


def _check_backbone(name: str) -> None:
    """A supervised run's ``backbone`` is a registered encoder, named with the key before any
    tile is read (it failed as "unknown encoder" once the network was built)."""
    from mtneuro.errors import ConfigError
    from mtneuro.models import list_encoders
    from mtneuro.registry import unknown_name_message

    if name not in list_encoders():
        raise ConfigError(f"backbone: {unknown_name_message('encoder', name, list_encoders())}")
