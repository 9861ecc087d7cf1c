"""Version-1 ``metrics.json`` records, read by :meth:`mtneuro.tasks.api.Result.from_json`:
before schema 2 only bench cells recorded their setting and headline, so a version-1 record's
are found in its config or recomputed by its task."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def setting_of_v1_record(config: Mapping[str, Any], metrics: Mapping[str, Any]) -> str:
    """The setting of a version-1 record (task 2: ``<dim>-<classes>class``)."""
    if "setting" in config:
        return str(config["setting"])
    if "data" in config:  # neural: the recording
        return str(config["data"])
    setting = metrics.get("setting")
    if isinstance(setting, Mapping) and "dim" in setting and "classes" in setting:
        return f"{setting['dim']}-{setting['classes']}class"
    return ""


def headline_of_v1_record(task: str, metrics: Mapping[str, Any]) -> dict[str, float | None]:
    """The headline of a version-1 record that has none, as its task computes it (empty for
    a task not registered here or metrics of another layout)."""
    from mtneuro.tasks.registry import TASKS, get_task

    if task not in TASKS or not metrics:
        return {}
    try:
        return get_task(task).headline_of(metrics)
    except (KeyError, TypeError, ValueError):  # a record of another layout: no headline
        return {}
