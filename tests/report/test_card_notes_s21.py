"""A protocol card keeps the settings a run does not use (its ``notes``) apart from its
deviations: they change nothing, so no count or "comparable" verdict includes them, yet
every place that shows a card shows them after its deviations."""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner

from mtneuro.report.html import build_report
from mtneuro.report.leaderboard import build_tables, load_records
from mtneuro.report.results import write_metrics
from mtneuro.tasks.api import Result
from mtneuro.tasks.neural.config import NeuralConfig
from mtneuro.tasks.protocol import neural_card

STEPS_UNUSED = "steps not used: method raw trains nothing"
GUARD_UNUSED = "guard not used: only split block has a guard gap (this run: trial)"
RECORDING = {"source": "chewie-1", "label": "real recording chewie-1"}


def _raw_card() -> dict:
    return neural_card(NeuralConfig(data="chewie-1", method="raw", steps=50))


def _cell(out: Path, method: str, seed: int, card: dict) -> None:
    """A complete neural bench cell's record, written as a cell writes it."""
    cell = {"id": f"neural-chewie-1-{method}-s{seed}", "task": "neural", "setting": "chewie-1",
            "method": method, "seed": seed, "preset": None, "params": {}, "source": None,
            "source_params": {}, "encoder": None, "tag": None}
    extra = {**card, "bench_schema_version": 1, "status": "complete", "cell": cell,
             "headline": {"r2": 0.5}, "inputs": {}, "figures": [], "error": None}
    write_metrics(out / "cells" / cell["id"], task="neural", metrics={"r2": 0.5},
                  source=RECORDING, extra=extra)


def test_a_setting_the_run_does_not_use_is_a_note_not_a_deviation() -> None:
    card = _raw_card()
    assert not any("not used" in line for line in card["deviations"]), card["deviations"]
    assert card["notes"] == [STEPS_UNUSED]


def test_a_setting_used_in_part_stays_a_deviation() -> None:
    card = neural_card(NeuralConfig(data="chewie-1", method="myow", steps=100, knn_k=600,
                                    guard=4))
    partly = [line for line in card["deviations"]
              if line.startswith(("knn_k 600 is at least the batch", "MYOW's mined-loss ramp"))]
    assert len(partly) == 2, card["deviations"]
    assert GUARD_UNUSED not in card["deviations"]
    assert card["notes"] == [GUARD_UNUSED]


def test_every_card_has_notes_even_when_there_are_none() -> None:
    card = neural_card(NeuralConfig(data="chewie-1", method="raw"))
    assert card.get("notes") == []


def test_the_leaderboard_counts_deviations_only_and_shows_the_notes(tmp_path: Path) -> None:
    raw = _raw_card()
    _cell(tmp_path, "raw", 0, raw)
    _cell(tmp_path, "raw", 1, raw)  # the same note twice is shown once
    _cell(tmp_path, "pca", 0, {"protocol": {"name": "neural-reach", "version": 3},
                               "deviations": [], "notes": ["folds not used: x"]})
    (table,) = build_tables(load_records(tmp_path))
    rows = {r.method: r for r in table.rows if r.kind == "ours"}
    assert rows["raw"].card.verdict == "no: 3 deviation(s)"
    assert rows["raw"].card.notes == [STEPS_UNUSED]
    assert rows["pca"].card.verdict == "yes: published protocol"

    paths = build_report(tmp_path)
    markdown = paths["markdown"].read_text()
    assert "no: 3 deviation(s)" in markdown and "yes: published protocol" in markdown
    # after the row's deviations, as a paragraph of its item: not one more deviation
    raw_card = markdown.split("- raw (")[1]
    assert raw_card.index("  notes (not deviations):\n  - " + STEPS_UNUSED) > raw_card.index(
        "  - readout fitted in closed form")
    assert markdown.count(STEPS_UNUSED) == 1
    assert ("published protocol, comparable\n\n  notes (not deviations):\n  - folds not used: x"
            in markdown)
    page = paths["html"].read_text()
    assert f"notes (not deviations):<ul><li>{STEPS_UNUSED}</li></ul>" in page
    assert "(3 deviation(s) from the published protocol in all" in page


def test_the_bench_dry_run_counts_deviations_only_and_lists_the_notes_after(
        tmp_path: Path) -> None:
    from mtneuro.cli.main import cli

    (tmp_path / "s.yaml").write_text("name: nd\nseeds: [0]\ngrid:\n  - {task: neural, setting: "
                                     "chewie-1, methods: [raw], params: {steps: 50}}\n")
    previous = Path.cwd()
    os.chdir(tmp_path)
    try:
        outcome = CliRunner().invoke(cli, ["bench", "--suite", "s.yaml", "--dry-run", "--out",
                                            "run"])
    finally:
        os.chdir(previous)
    assert outcome.exit_code == 0, outcome.output
    lines = outcome.output.splitlines()
    assert lines[1].endswith(", 3 deviation(s) from the reference protocol:")
    assert lines[5:7] == ["    notes (not deviations):", f"      - {STEPS_UNUSED}"]


def test_a_record_written_before_cards_had_notes_still_loads(tmp_path: Path) -> None:
    old = {"protocol": {"name": "neural-reach", "version": 3}, "deviations": ["d"]}
    record = {"schema_version": 2, "task": "neural", "setting": "chewie-1", "method": "raw",
              "metrics": {}, "headline": {}, **old}
    result = Result.from_json(record)
    assert result.card == {**old, "notes": []}
    assert result.to_json()["notes"] == []
    _cell(tmp_path, "raw", 0, old)
    (table,) = build_tables(load_records(tmp_path))
    (row,) = [r for r in table.rows if r.kind == "ours"]
    assert row.card.verdict == "no: 1 deviation(s)" and row.card.notes == []
    assert "notes (not deviations)" not in build_report(tmp_path)["markdown"].read_text()
