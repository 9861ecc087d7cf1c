"""How the report and ``bench --resume`` word a redefined cell: each changed key with its old
and new value, in a sentence a user can read (strings bare, a missing key "absent", JSON with
sorted keys otherwise), and the cell's folder alone where nothing can be said."""

from __future__ import annotations

import json
from pathlib import Path

from mtneuro.config import ABSENT
from mtneuro.report.cell_definitions import as_json, changes_text, redefined_text, value_text


def test_a_definition_is_compared_as_json_holds_it() -> None:
    assert as_json({"seeds": (0, 1), "params": {"shape": (8, 64)}}) == {
        "seeds": [0, 1], "params": {"shape": [8, 64]}}


def test_each_value_reads_as_a_user_would_write_it() -> None:
    assert value_text(ABSENT) == "absent"
    assert value_text(None) == "null"
    assert value_text("phantom") == "phantom"
    assert value_text({"b": 1, "a": [0, 1]}) == '{"a": [0, 1], "b": 1}'


def test_changes_are_listed_key_by_key_old_value_first() -> None:
    before = {"source": "phantom", "params": {"steps": 150}}
    now = {"source": "slice", "params": {"steps": 100, "lr": 0.1}}
    assert changes_text(before, now) == (
        "params.lr absent, now 0.1; params.steps 150, now 100; source phantom, now slice")
    assert changes_text(before, before) == ""


def test_a_record_names_its_changes_or_only_its_folder(tmp_path: Path) -> None:
    cell = {"id": "neural-x-myow-s0", "params": {"steps": 150}}
    record = tmp_path / "neural-x-myow-s0" / "metrics.json"
    record.parent.mkdir()
    record.write_text(json.dumps({"cell": cell}))
    assert redefined_text(record, {**cell, "params": {"steps": 100}}) == (
        "neural-x-myow-s0 (params.steps 150, now 100)")
    assert redefined_text(record, cell) == "neural-x-myow-s0"  # nothing differs: no "()"
    record.write_text(json.dumps({"status": "complete"}))  # a record with no definition
    assert redefined_text(record, cell) == "neural-x-myow-s0"
