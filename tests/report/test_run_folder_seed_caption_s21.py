"""The figure captions of ``mtneuro report RUN`` name the seed a one-seed run drew (a bench
cell's captions always did); a several-seed run's figures draw all of its seeds, so their
captions claim none, and its seeds' own folders (``seed-<S>/``) name theirs."""

from __future__ import annotations

import re
from pathlib import Path

from report_fixture import PHANTOM, task1_result

from mtneuro.report.html import build_report
from mtneuro.report.plots_region import plot_task1
from mtneuro.report.record import write_result
from mtneuro.report.run_records import recorded_seeds
from mtneuro.tasks.api import Result
from mtneuro.tasks.registry import get_task

CARD = {"protocol": {"name": "task1-resized-quick", "version": 1}, "deviations": ["tiny"]}


def _run(run: Path, seeds: list[int]) -> Path:
    metrics = {**task1_result("pca", 0.5, len(seeds)),
               "per_seed": [{"seed": s, "accuracy": 0.5} for s in seeds]}
    figures = [p.name for p in plot_task1(metrics, run)]
    write_result(Result(task="task1", setting="roi-c1", method="pca", metrics=metrics,
                        headline=get_task("task1").headline_of(metrics),
                        config={"seeds": seeds, "source": "phantom"}, source=PHANTOM,
                        card=CARD, figures=figures), run)
    return run


def _captions(run: Path) -> list[str]:
    build_report(run)
    return re.findall(r"<figcaption>([^<]*)", (run / "report.html").read_text())


def test_a_one_seed_run_names_its_seed_under_each_figure(tmp_path: Path) -> None:
    captions = _captions(_run(tmp_path / "one", [3]))[1:]  # after the summary chart
    assert captions and all(c.endswith(", seed 3") for c in captions)


def test_a_several_seed_run_claims_no_one_seed(tmp_path: Path) -> None:
    captions = _captions(_run(tmp_path / "two", [0, 1]))[1:]
    assert captions and not any("seed" in c for c in captions)


def test_the_seeds_a_config_records() -> None:
    assert recorded_seeds({"seeds": [0, 1]}) == [0, 1]
    assert recorded_seeds({"seed": 4}) == [4]  # mtneuro neural's config
    assert recorded_seeds({"seed": None}) == recorded_seeds({}) == recorded_seeds(None) == []
