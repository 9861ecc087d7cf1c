"""Adding a task is one module plus one registry line: the toy task of docs/ARCHITECTURE.md
runs through ``run_and_record``, the Python API and a bench suite."""

from __future__ import annotations

import json

from toy_task import MeanBrightness, ToyConfig

import mtneuro
from mtneuro.bench.runner import RunOptions, run_suite
from mtneuro.bench.suite import expand, parse_suite
from mtneuro.report.record import load_result, run_and_record


def test_the_toy_task_runs_and_records(toy, tmp_path):
    assert "toy/easy" in mtneuro.list_tasks() and "toy/hard" in mtneuro.list_tasks()
    config = toy.make_config("quick", {"setting": "easy", "seeds": [0, 1]})
    assert config == ToyConfig(setting="easy", seeds=(0, 1), n=32)
    result = run_and_record(toy, config, tmp_path)
    # dark and bright images 8 noise std apart: the nearest class mean never errs
    assert result.metrics["accuracy"] == {"mean": 1.0, "std": 0.0, "n": 2}
    assert result.headline == {"accuracy": 1.0} and result.card["deviations"] == []
    record = json.loads((tmp_path / "metrics.json").read_text())
    assert (record["task"], record["setting"], record["method"]) == ("toy", "easy", "pixels")
    assert record["protocol"] == {"name": "toy", "version": 1} and record["deviations"] == []
    assert load_result(tmp_path).metrics == result.metrics


def test_the_toy_task_scores_an_encoder_through_the_python_api(toy, tmp_path):
    results = mtneuro.evaluate(MeanBrightness(), tasks=["toy/easy"], preset=None, seeds=[0, 1],
                               out=tmp_path)
    assert [r.headline for r in results] == [{"accuracy": 1.0}, {"accuracy": 1.0}]
    (row,) = results.table()
    assert (row["task"], row["metric"], row["mean"], row["std"], row["n"]) == (
        "toy", "accuracy", 1.0, 0.0, 2)
    assert row["comparable"] == "yes: published protocol" and row["kind"] == "ours"
    assert mtneuro.load_results(tmp_path).table() == [row]
    assert "1.000 (identical over 2 seeds)" in str(results) and "±" not in str(results)


def test_the_toy_task_runs_in_a_bench_suite(toy, tmp_path):
    suite = parse_suite({"name": "toy", "seeds": [0, 1], "grid": [
        {"task": "toy", "setting": "hard", "methods": ["pixels"], "preset": "quick"}]})
    states = run_suite(expand(suite), RunOptions(tmp_path, quiet=True))
    assert [s.status for s in states] == ["complete", "complete"]
    record = json.loads((tmp_path / "cells" / "toy-hard-pixels-s1" / "metrics.json").read_text())
    assert record["cell"]["seed"] == 1 and record["config"]["n"] == 32
    assert 0.5 <= record["headline"]["accuracy"] <= 1.0

