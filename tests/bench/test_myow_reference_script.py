"""benchmarks/myow_reference.py: reads the reference code's numbers and pairs its runs by seed."""

import importlib.util
import json
import statistics
from pathlib import Path

import pytest

from mtneuro.report.published import load_published

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "myow_reference.py"
spec = importlib.util.spec_from_file_location("myow_reference", SCRIPT)
reference = importlib.util.module_from_spec(spec)
spec.loader.exec_module(reference)


def test_reads_the_final_numbers_after_a_progress_bar_redraw(tmp_path):
    log = tmp_path / "run.log"
    # what train_monkey.py leaves: an earlier evaluation's numbers never printed, tqdm's last
    # redraw ended by a carriage return, then the final print
    log.write_text("\r 99%|#########9| 9999/10000 [04:47<00:00]\r" + " " * 40
                   + "\rAccuracy: 0.6582\nDelta-Accuracy: 0.8481\nThe learned embeddings ...\n")
    assert reference.parse_log(log) == {"accuracy": 0.6582, "delta_accuracy": 0.8481}
    failed = tmp_path / "failed.log"
    failed.write_text("Traceback ...\nTypeError: object.__init__() takes exactly one argument\n")
    assert reference.parse_log(failed) == {}


def row(recording, weight, seed, accuracy, delta, rc=0):
    return {"recording": recording, "weight": weight, "seed": seed, "rc": rc,
            "accuracy": accuracy, "delta_accuracy": delta}


def test_summary_pairs_the_two_weights_by_seed():
    rows = [row("chewie-2", 0.5, 0, 0.70, 0.80), row("chewie-2", 0.0, 0, 0.60, 0.85),
            row("chewie-2", 0.5, 1, 0.80, 0.90), row("chewie-2", 0.0, 1, 0.75, 0.90),
            row("chewie-2", 0.5, 2, 0.10, 0.10),  # seed 2 lacks its weight-0 pair: left out
            row("mihi-1", 0.5, 0, 0.9, 0.9), row("mihi-1", 0.0, 0, 0.1, 0.1, rc=1)]  # failed
    table = reference.summary(rows).splitlines()
    assert len(table) == 3  # header, rule, chewie-2 (mihi-1 has no complete pair)
    cells = [c.strip() for c in table[2].strip("|").split("|")]
    assert cells[:2] == ["chewie-2", "0 1"]
    assert cells[2] == "0.750 ± 0.071 / 0.850 ± 0.071"
    assert cells[3] == "0.675 ± 0.106 / 0.875 ± 0.035"
    assert cells[4] == "+0.100, +0.050 (+0.075)"
    assert cells[5] == "-0.050, +0.000 (-0.025)"
    one_seed = reference.summary(rows[:2]).splitlines()[2]
    assert "| 0.700 / 0.800 | 0.600 / 0.850 |" in one_seed  # no "± 0.000" for one seed


def test_edits_fail_loudly_on_code_they_do_not_know(tmp_path):
    repo = tmp_path / "myow-neuro"
    for name, old, _ in reference.EDITS:
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text((path.read_text() if path.exists() else "") + old)
    code = reference.prepared_copy(repo, tmp_path / "out")
    text = (code / "train_monkey.py").read_text()
    assert "tensorflow" not in text and "num_epochs = FLAGS.num_epochs" in text
    assert "tensorflow" in (repo / "train_monkey.py").read_text()  # the checkout is untouched
    (repo / "myow/data/monkey_neural_dataset.py").write_text("self._full_data.keys():")
    with pytest.raises(SystemExit, match="keys:"):
        reference.prepared_copy(repo, tmp_path / "out")


def test_the_shipped_reference_rows_are_the_recorded_runs():
    """published.json's paired reference-code rows summarise the per-seed numbers of
    benchmarks/results/myow_reference.jsonl (the script's record of those runs): same rows,
    three seeds each, the same mean and std."""
    runs = [json.loads(line) for line in
            (SCRIPT.parent / "results" / "myow_reference.jsonl").read_text().splitlines()]
    assert all(r["rc"] == 0 for r in runs) and len(runs) == 18  # 3 recordings x 2 weights x 3
    shipped = [r for r in load_published() if r.source == "myow-reference-code-paired"]
    assert {(r.setting, r.method) for r in shipped} == {
        (s, m) for s in reference.RECORDINGS for m in ("myow", "byol")}
    for row in shipped:
        weight = reference.WEIGHTS["myow" if row.method == "myow" else "mined weight 0"]
        mine = sorted((r for r in runs if r["recording"] == row.setting and r["weight"] == weight),
                      key=lambda r: r["seed"])
        for key in ("accuracy", "delta_accuracy"):
            expected = [r[key] for r in mine]
            assert row.metrics[key].n == 3
            assert row.metrics[key].mean == pytest.approx(statistics.mean(expected))
            assert row.metrics[key].std == pytest.approx(statistics.stdev(expected))
