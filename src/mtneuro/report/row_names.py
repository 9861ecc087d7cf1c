"""What a leaderboard row of ours is named by: the method of its records' cells (a user
encoder by its spec, a tagged grid entry with its tag), marked ``(3D)`` for runs on 3D blocks
of a setting that does not say so itself (task 1's ``roi-c1``), so that 2D and 3D runs copied
into one folder are never averaged into one row."""

from __future__ import annotations

from typing import Any


def method_name(cell: dict[str, Any]) -> str:
    if cell.get("encoder"):
        return f"encoder {cell['encoder']}"
    return cell["method"] if not cell.get("tag") else f"{cell['method']} [{cell['tag']}]"


def row_method(record: dict[str, Any]) -> str:
    """The row ``record`` (a cell's ``metrics.json`` with its ``cell``) belongs to."""
    config = record.get("config") if isinstance(record.get("config"), dict) else {}
    blocks = config.get("dim") == "3d" and "3d" not in str(record["cell"].get("setting", ""))
    return method_name(record["cell"]) + (" (3D)" if blocks else "")
