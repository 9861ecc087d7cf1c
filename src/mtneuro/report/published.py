"""Published numbers (MTNeuro paper site, reference-code runs) as data, for side-by-side tables.

The numbers live in ``mtneuro/resources/published.json``, transcribed from
``../shared/reference/protocols.md`` (a test re-reads that file and compares).
Each row names its source, whose ``label`` (``"paper, real volume"``,
``"reference code"`` or ``"reference code, run here"``) is printed on every
published row of a report, so these numbers are never mistaken for ours.

Schema (``schema_version`` 1): ``sources`` maps a key to ``label``, ``citation``,
``url``, ``detail`` and an optional ``run_here`` (default ``false``): ``true`` marks
numbers this project measured by running the reference code itself, which the
report shows apart from published numbers ("reference code, run here", not
printed by the authors). ``rows`` hold ``task``, ``setting``, ``method``,
``method_title``, ``source``, ``data``, ``metrics`` (``{"mean", "std"}`` or
``{"values": [...]}`` per metric) and an optional ``note``.

Metric keys match what ``mtneuro bench`` cells report:

* task 1: ``accuracy``;
* task 2: ``f1_avg``, ``iou_avg``, ``f1_<class>``, ``iou_<class>`` with the class
  names of :data:`mtneuro.data.spec.SEGMENTATION_SETTINGS`; settings ``2d-4class``,
  ``2d-3class``, ``3d-4class``, ``3d-3class``;
* task 3: ``r2_<feature>`` for :data:`mtneuro.tasks.semantic.FEATURE_NAMES`;
* neural: ``accuracy``, ``delta_accuracy`` (monkey), ``f1_weighted`` (rodent).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from mtneuro.stats import mean_std, plus_minus

PUBLISHED_PATH = Path(__file__).resolve().parents[1] / "resources" / "published.json"
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Stat:
    """A published value: ``mean`` with ``std`` when the source gives one (``None`` otherwise)."""

    mean: float
    std: float | None = None
    n: int | None = None

    @classmethod
    def of(cls, values: list[float]) -> Stat:
        """Mean +- std of per-seed ``values`` (:func:`mtneuro.stats.mean_std`); ``std`` is
        ``None`` for one value, which has no spread to show."""
        stats = mean_std(values)
        return cls(stats["mean"], stats["std"] if stats["n"] > 1 else None, stats["n"])

    def format(self, digits: int = 3) -> str:
        if self.std is None:
            return f"{self.mean:.{digits}f}"
        return plus_minus(self.mean, self.std, digits)


@dataclass(frozen=True)
class PublishedRow:
    """One method's published numbers for one task setting."""

    task: str
    setting: str
    method: str
    method_title: str
    source: str
    label: str
    citation: str
    data: str
    metrics: dict[str, Stat]
    note: str = ""
    run_here: bool = False


def _stat(raw: dict[str, Any]) -> Stat:
    if "values" in raw:  # per-seed numbers: summarise like our own cells (sample std)
        return Stat.of(raw["values"])
    return Stat(float(raw["mean"]), None if raw.get("std") is None else float(raw["std"]))


def parse_published(document: dict[str, Any]) -> list[PublishedRow]:
    """Rows of a ``published.json`` document.

    Raises:
        ValueError: unsupported ``schema_version`` or a row naming an unknown source.
    """
    if document.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(f"published numbers: schema_version {document.get('schema_version')!r} "
                         f"is not supported (expected {SCHEMA_VERSION})")
    sources = document["sources"]
    rows = []
    for raw in document["rows"]:
        if raw["source"] not in sources:
            raise ValueError(f"published row {raw['task']}/{raw['method']}: unknown source {raw['source']!r}")
        source = sources[raw["source"]]
        rows.append(PublishedRow(
            task=raw["task"],
            setting=raw["setting"],
            method=raw["method"],
            method_title=raw["method_title"],
            source=raw["source"],
            label=source["label"],
            citation=source["citation"],
            data=raw["data"],
            metrics={k: _stat(v) for k, v in raw["metrics"].items()},
            note=raw.get("note", ""),
            run_here=bool(source.get("run_here", False)),
        ))
    return rows


@lru_cache(maxsize=1)
def load_published() -> tuple[PublishedRow, ...]:
    """All published rows shipped with mtneuro."""
    return tuple(parse_published(json.loads(PUBLISHED_PATH.read_text(encoding="utf-8"))))


def published_rows(task: str, setting: str | None = None) -> list[PublishedRow]:
    """Published rows of ``task`` (and ``setting`` if given), in source order."""
    return [r for r in load_published() if r.task == task and (setting is None or r.setting == setting)]


def published_sources() -> dict[str, dict[str, str]]:
    """Source key -> ``label``, ``citation``, ``url``, ``detail``."""
    return dict(json.loads(PUBLISHED_PATH.read_text(encoding="utf-8"))["sources"])
