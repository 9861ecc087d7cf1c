"""How a bench cell's recorded definition (its record's ``cell`` key) differs from another.

One comparison for both readers of a definition: ``mtneuro bench --resume`` names the keys
of a cell it reruns because its suite now defines it otherwise
(:func:`mtneuro.bench.plan.what_changed`), and the report leaves out a record that the
suite last run in its folder defines otherwise, naming the keys and both values
(:func:`mtneuro.report.suite_cells.left_out_line`). Definitions are compared as JSON holds
them (tuples become lists): :func:`as_json`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mtneuro.config import ABSENT, changed_values
from mtneuro.report.results import read_json_object


def as_json(definition: dict[str, Any]) -> Any:
    """``definition`` as a record read back from JSON holds it (tuples as lists)."""
    return json.loads(json.dumps(definition))


def changed_keys(before: object, now: object) -> list[str]:
    """The dotted keys in which two definitions differ (``["params.steps"]``,
    :func:`~mtneuro.config.changed_values`)."""
    return [key for key, _, _ in changed_values(before, now)]


def value_text(value: Any) -> str:
    """A definition's value in a sentence: strings bare, ``absent`` for a missing key,
    anything else as JSON (``150``, ``null``, ``[0, 1]``, ``{"seed": 0}``)."""
    if value is ABSENT:
        return "absent"
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def changes_text(before: object, now: object) -> str:
    """``params.steps 150, now 100``: each changed key with its value in ``before`` then in
    ``now``, ``; ``-separated (``""`` when they are the same)."""
    return "; ".join(f"{key} {value_text(old)}, now {value_text(new)}"
                     for key, old, new in changed_values(before, now))


def redefined_text(record_path: Path, definition: Any) -> str:
    """``neural-chewie-1-myow-s0 (params.steps 150, now 100)``: the cell of the record at
    ``record_path``, what its definition has that ``definition`` changes (its folder's
    name alone where the record no longer reads)."""
    record = read_json_object(record_path) or {}
    changes = changes_text(record["cell"], definition) if "cell" in record else ""
    return f"{record_path.parent.name} ({changes})" if changes else record_path.parent.name
