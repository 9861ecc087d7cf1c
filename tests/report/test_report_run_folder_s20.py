"""``mtneuro report DIR`` on the folder of one task command's run (``mtneuro task1 --out DIR``,
...): a report of that run from its metrics.json, its table and its figures embedded, written
in DIR alone; a folder whose metrics.json is no task run's record is refused saying why."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from report_fixture import DIRECTIONS, PHANTOM, task1_result

from mtneuro.cli.main import main
from mtneuro.errors import DataError
from mtneuro.report.html import build_report
from mtneuro.report.plots_neural import plot_decoding_confusion
from mtneuro.report.plots_region import plot_task1
from mtneuro.report.record import write_result
from mtneuro.tasks.api import Result
from mtneuro.tasks.registry import get_task

CARD = {"protocol": {"name": "task1-resized-quick", "version": 1}, "deviations": ["tiny"]}


def _task1_run(run: Path) -> Path:
    """A two-seed ``mtneuro task1`` run folder as the command writes it: figures, then
    metrics.json (no bench keys), per-seed rows holding each seed's accuracy."""
    metrics = {**task1_result("pca", 0.5, 2),
               "per_seed": [{"seed": 0, "accuracy": 0.48}, {"seed": 1, "accuracy": 0.52}]}
    figures = [p.name for p in plot_task1(metrics, run)]
    result = Result(task="task1", setting="roi-c1", method="pca", metrics=metrics,
                    headline=get_task("task1").headline_of(metrics),
                    config={"seeds": [0, 1], "source": "phantom"}, source=PHANTOM, card=CARD,
                    figures=figures)
    write_result(result, run)
    return run


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


def test_a_task_run_folder_gets_a_report_of_its_run_written_in_it_alone(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    run = _task1_run(tmp_path / "t1")
    (tmp_path / "beside.txt").write_text("not the run's")
    before = _files(tmp_path)
    main(["report", str(run)])  # a refusal would exit 2
    assert capsys.readouterr().out == f"wrote {run}/report.html and {run}/leaderboard.md\n"
    written = _files(tmp_path) - before
    assert written and all(run in p.parents for p in written)  # nothing outside DIR
    page = (run / "report.html").read_text()
    # its table: the run's row, ours, beside the published rows of its setting
    # its one cell holds both seeds: its row counts them, with their spread (std of .48, .52)
    assert re.search(r"<td class=l>pca</td><td class=l>phantom \(synthetic volume\)</td>"
                     r"<td>2</td>", page)
    assert "<td class=v>0.500 ± 0.028</td>" in page and "published numbers (not ours" in page
    # its figures, embedded as a suite's cell figures are, after the summary chart
    images = re.findall(r'<img src="data:image/png;base64,', page)
    assert len(images) == 1 + 2
    assert "task1-roi-c1: confusion.png" in page and "task1-roi-c1: per_class_accuracy.png" in page
    # the cell is one run whose row counts its seeds: said so, on the page and in the
    # leaderboard
    assert "its row&#x27;s n counts its seeds (0, 1)" in page
    assert "its row's n counts its seeds (0, 1)" in (run / "leaderboard.md").read_text()

    # the Python API reads the same folder through the same record, still counting its seeds
    import mtneuro

    (row,) = [r for r in mtneuro.load_results(run).table() if r["kind"] == "ours"]
    assert (row["method"], row["n"], row["mean"]) == ("pca", 2, pytest.approx(0.5))


def test_a_multi_seed_neural_run_embeds_the_figures_of_its_seed_folders(tmp_path: Path) -> None:
    run = tmp_path / "neural"
    label = np.array([0, 1, 2, 3, 4, 5, 6, 7] * 2)
    card = {"protocol": {"name": "neural-myow", "version": 1}, "deviations": []}
    rows = []
    for seed in (0, 1):  # as `mtneuro neural --seeds 0 1` writes: seed-S/ then the aggregate
        folder = run / f"seed-{seed}"
        plot_decoding_confusion(label, label, DIRECTIONS, folder / "confusion.png",
                                title=f"raw on chewie-1 · seed {seed}")
        rows.append({"seed": seed, "accuracy": 0.6})
        write_result(Result(task="neural", setting="chewie-1", method="raw",
                            metrics=rows[-1], headline={"accuracy": 0.6},
                            config={"seed": seed}, source={"source": "chewie-1"}, card=card,
                            figures=["confusion.png"]), folder)
    write_result(Result(task="neural", setting="chewie-1", method="raw",
                        metrics={"accuracy": 0.6, "per_seed": rows}, headline={"accuracy": 0.6},
                        config={"seeds": [0, 1]}, source={"source": "chewie-1"}, card=card),
                 run)
    page = build_report(run)["html"].read_text()
    captions = re.findall(r"<figcaption>([^<]*)</figcaption>", page)
    assert captions[1:] == ["neural-chewie-1: seed-0/confusion.png",
                            "neural-chewie-1: seed-1/confusion.png"]
    assert "figure file missing" not in page


def test_a_pretrain_folder_is_refused_saying_its_record_scores_no_task(tmp_path: Path) -> None:
    run = tmp_path / "pre"
    run.mkdir()
    (run / "metrics.json").write_text(json.dumps(
        {"schema_version": 2, "task": "pretrain", "config": {}, "metrics": {"loss": 1.0}}))
    with pytest.raises(DataError) as caught:
        build_report(run)
    message = str(caught.value)
    assert message.startswith(f"{run}/metrics.json: the record of a `mtneuro pretrain` run, "
                              "which scores no benchmark task (task1, task2, task3, neural)")
    assert f"`--method encoder --encoder {run}/encoder.pt`" in message
    assert not (run / "report.html").exists()


def test_a_damaged_run_record_is_refused_naming_the_file_and_why(tmp_path: Path) -> None:
    run = tmp_path / "t1"
    run.mkdir()
    (run / "metrics.json").write_text("{")  # cut short
    with pytest.raises(DataError) as caught:
        build_report(run)
    assert str(caught.value).startswith(
        f"{run}/metrics.json: not the record of a task command's run that this version reads "
        "(JSONDecodeError: ")
    assert "`mtneuro bench --suite SUITE --out NEW_DIR`" in str(caught.value)


def test_a_run_whose_seeds_cannot_be_read_is_one_value_and_says_so(tmp_path: Path) -> None:
    run = _task1_run(tmp_path / "t1")
    record = json.loads((run / "metrics.json").read_text())
    record["metrics"]["per_seed"] = [{"seed": 0}, {"seed": 1}]  # no seed's accuracy to read
    (run / "metrics.json").write_text(json.dumps(record))
    page = build_report(run)["html"].read_text()
    assert re.search(r"<td class=l>pca</td><td class=l>phantom \(synthetic volume\)</td>"
                     r"<td>1</td>", page)
    assert "<td class=v>0.500</td>" in page
    assert "its values are the run&#x27;s means over seeds 0, 1, n counts the run" in page


def test_a_folder_of_run_folders_is_refused_naming_them_and_how_to_report_one(
        tmp_path: Path) -> None:
    for name in ("t1", "t2"):
        _task1_run(tmp_path / "runs" / name)
    with pytest.raises(DataError) as caught:
        build_report(tmp_path / "runs")
    assert str(caught.value) == (
        f"{tmp_path / 'runs'}: no readable cell records (cells/<id>/metrics.json); it holds "
        f"the folders of 2 run(s) (t1, t2): report each, e.g. "
        f"`mtneuro report {tmp_path / 'runs' / 't1'}`")
