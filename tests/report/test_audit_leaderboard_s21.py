"""Known answers of our leaderboard rows that a mutation audit found untested: how a row
merges its cells' protocol cards (and which cells' cards), its verdict when cards are
missing and unchecked, and the task-3 note of an in-sample R² reached on noise."""

from __future__ import annotations

from typing import Any

import pytest

from mtneuro.report.leaderboard import IN_SAMPLE_CHANCE, OURS, Row, build_tables

CARDLESS: dict[str, Any] = {}


def _card(name: str = "p", deviations: tuple[str, ...] = (), notes: tuple[str, ...] = ()
          ) -> dict[str, Any]:
    return {"protocol": {"name": name, "version": 1}, "deviations": list(deviations),
            "notes": list(notes)}


def _record(seed: int, card: dict[str, Any], method: str = "pca", status: str = "complete",
            **metrics: float) -> dict[str, Any]:
    return {"cell": {"id": f"task3-roi-c1-{method}-s{seed}", "task": "task3",
                     "setting": "roi-c1", "method": method, "seed": seed},
            "status": status, "source": {"source": "phantom"}, "_dir": f"cells/{seed}",
            "headline": {"r2_test_cell_count": 0.1} if status == "complete" else {},
            "metrics": metrics, **card}


def _rows(*records: dict[str, Any]) -> dict[str, Row]:
    (table,) = build_tables(list(records), published=False)
    assert all(row.kind == OURS for row in table.rows)
    return {row.method: row for row in table.rows}


def test_a_row_lists_each_protocol_once_with_its_version() -> None:
    row = _rows(_record(0, _card()), _record(1, _card()))["pca"]
    assert row.card is not None and row.card.protocols == ["p v1"]


def test_a_row_keeps_the_deviations_and_notes_of_every_cell() -> None:
    row = _rows(_record(0, _card(deviations=("a",), notes=("x",))),
                _record(1, _card(deviations=("b",), notes=("y",))))["pca"]
    assert row.card is not None
    assert (row.card.deviations, row.card.notes) == (["a", "b"], ["x", "y"])
    assert row.card.verdict == "no: 2 deviation(s)"


def test_an_unchecked_cell_makes_the_row_unchecked_whatever_follows() -> None:
    row = _rows(_record(0, _card("unchecked")), _record(1, _card()))["pca"]
    assert row.card is not None and row.card.verdict == "unknown: not checked"


def test_a_row_with_cells_without_a_card_counts_them_and_says_so_first() -> None:
    row = _rows(_record(0, CARDLESS), _record(1, CARDLESS), _record(2, _card("unchecked")))["pca"]
    assert row.card is not None
    assert (row.card.missing, row.card.verdict) == (2, "unknown: no protocol card")


def test_a_card_whose_deviations_are_no_list_is_no_card() -> None:
    card = {"protocol": {"name": "p", "version": 1}, "deviations": None}
    row = _rows(_record(0, card))["pca"]
    assert row.card is not None and row.card.missing == 1


def test_the_card_of_a_row_of_complete_cells_is_theirs_alone() -> None:
    # the failed cell never produced the row's numbers: its departures are not the row's
    row = _rows(_record(0, _card()), _record(1, _card(deviations=("d",)), status="failed"))["pca"]
    assert (row.n, row.failed) == (1, 1)
    assert row.card is not None and row.card.verdict == "yes: published protocol"


def test_a_row_of_failed_cells_alone_shows_their_card() -> None:
    rows = _rows(_record(0, _card()),
                 _record(0, _card(deviations=("d",)), method="myow", status="failed"))
    assert rows["myow"].card is not None and rows["myow"].card.verdict == "no: 1 deviation(s)"


@pytest.mark.parametrize(("chances", "note"), [
    ((0.05,), IN_SAMPLE_CHANCE.format(0.05)),           # the threshold itself is noted
    ((0.01, 0.2), IN_SAMPLE_CHANCE.format(0.2)),        # the highest of the row's cells
    ((0.049,), ""),
])
def test_the_in_sample_chance_note_takes_the_highest_cell_from_005(
        chances: tuple[float, ...], note: str) -> None:
    records = [_record(seed, _card(), r2_in_sample_chance=chance)
               for seed, chance in enumerate(chances)]
    assert _rows(*records)["pca"].note == note


def test_a_metric_only_a_later_cell_holds_is_still_a_column_of_the_row() -> None:
    later = _record(1, _card())
    later["headline"] = {"r2_test_cell_count": 0.3, "r2_cell_count": 0.5}
    values = _rows(_record(0, _card()), later)["pca"].values
    assert (values["r2_test_cell_count"].n, values["r2_cell_count"].n) == (2, 1)
    assert values["r2_cell_count"].mean == 0.5


def test_runs_on_3d_blocks_get_their_own_row_beside_the_2d_runs() -> None:
    """Walkthrough R: cells of a 2D and a 3D task-1 run copied into one folder were averaged
    into one ``pca`` row (rows were keyed by method and data source only)."""
    def task1(seed: int, dim: str, accuracy: float) -> dict[str, Any]:
        return {"cell": {"id": f"task1-roi-c1-pca-s{seed}", "task": "task1",
                         "setting": "roi-c1", "method": "pca", "seed": seed},
                "status": "complete", "source": {"source": "phantom"}, "_dir": f"cells/{seed}",
                "config": {"dim": dim}, "headline": {"accuracy": accuracy}, "metrics": {},
                **_card()}

    (table,) = build_tables([task1(0, "2d", 0.5), task1(1, "3d", 0.9)], published=False)
    rows = {row.method: row for row in table.rows}
    assert set(rows) == {"pca", "pca (3D)"}
    assert (rows["pca"].values["accuracy"].mean, rows["pca (3D)"].values["accuracy"].mean) == (
        0.5, 0.9)
