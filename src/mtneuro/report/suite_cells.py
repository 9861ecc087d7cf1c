"""``DIR/suite_cells.json``: which records of a bench folder belong to the suite last run there.

Written by the bench runner before its cells run; read by
:func:`mtneuro.report.leaderboard.load_records`, which leaves out the records it names as
earlier or redefined, said in one line by the report, ``mtneuro report`` and ``mtneuro
bench`` (:func:`left_out_line`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

from mtneuro.atomic import write_atomic
from mtneuro.report.cell_definitions import redefined_text

#: ``DIR/suite_cells.json``: the suite last run in DIR, its cell ids (``cells``) and
#: ``definitions`` (id -> its record's ``cell`` key), and the ids of the records cells/ held
#: then that are not its cells (``earlier``: a run with other seeds or entries, then
#: ``--resume``). Those stay on disk but are left out of the report: averaged in, they would
#: pass for seeds of this suite's rows. So is a record of one of its cells defined otherwise
#: (a ``--resume`` with other params, stopped before it reran the cell), where the file
#: holds ``definitions``. Records copied into cells/ later (cells of the same suite run on
#: other machines) are reported.
SUITE_CELLS = "suite_cells.json"


class SuiteCells(NamedTuple):
    """What :data:`SUITE_CELLS` says: the suite's name, the ids of earlier records to leave
    out, and its cells' definitions (``{}`` in a file written before they were kept)."""

    suite: str
    earlier: set[str]
    definitions: dict[str, Any]


def write_suite_cells(out_dir: str | Path, suite: str, cell_ids: list[str],
                      definitions: dict[str, dict[str, Any]] | None = None) -> Path:
    """Record the cells of the suite about to run in ``out_dir`` (with ``definitions``: id
    -> its ``Cell.to_dict()``) and the records there of other cells (see :data:`SUITE_CELLS`)."""
    ids = set(cell_ids)
    earlier = sorted(p.parent.name for p in Path(out_dir).glob("cells/*/metrics.json")
                     if p.parent.name not in ids)
    data = {"suite": suite, "cells": list(cell_ids), "earlier": earlier,
            **({"definitions": definitions} if definitions is not None else {})}
    return write_atomic(Path(out_dir) / SUITE_CELLS, (json.dumps(data, indent=1) + "\n").encode())


def read_suite_cells(out_dir: str | Path) -> SuiteCells | None:
    """:data:`SUITE_CELLS` of ``out_dir``; ``None`` where it is absent or not shaped as
    written (every record is reported)."""
    try:
        data = json.loads((Path(out_dir) / SUITE_CELLS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("earlier"), list):
        return None
    definitions = data.get("definitions")
    return SuiteCells(str(data.get("suite", "")), {str(c) for c in data["earlier"]},
                      definitions if isinstance(definitions, dict) else {})


def left_out_line(out_dir: str | Path, left_out: list[str]) -> str:
    """One line saying which records :func:`load_records` left out: those of an earlier
    suite, and those its suite defines otherwise (naming each changed key and both values)."""
    if not left_out:
        return ""
    suite = read_suite_cells(out_dir) or SuiteCells("", set(), {})
    earlier = [cell for cell in left_out if cell not in suite.definitions]
    redefined = [redefined_text(Path(out_dir) / "cells" / cell / "metrics.json", definition)
                 for cell in left_out if (definition := suite.definitions.get(cell))]
    parts = [f"left out {len(shown)} record(s) in cells/ {how} suite {suite.suite!r} run here "
             f"since ({SUITE_CELLS}){yet}: {', '.join(shown[:3])}{', ...' if shown[3:] else ''}"
             for shown, how, yet in ((earlier, "of an earlier run, not cells of", ""),
                                     (redefined, "defined otherwise than in", ", not rerun yet"))
             if shown]
    return "; ".join(parts) + "; kept on disk, not averaged in"
