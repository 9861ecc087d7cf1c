"""The Python API: ``mtneuro.evaluate(encoder, tasks)``, ``Results.table()``,
``mtneuro.load_results(dir)``, ``mtneuro.list_tasks()``, and a light ``import mtneuro``."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from torch import nn

import mtneuro
from mtneuro.errors import ConfigError, DataError


class TinyEncoder(nn.Module):
    """(N, 1, H, W) -> (N, 8): one convolution, then the spatial mean."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(1, 8, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv(x)).mean(dim=(2, 3))


def test_list_tasks_names_every_task_setting():
    names = mtneuro.list_tasks()
    assert names == sorted(names)
    assert {"neural/chewie-1", "task1/roi-c1", "task1/roi-c3", "task2/2d-4class",
            "task3/roi-c1", "task3/roi-c3"} <= set(names)
    assert mtneuro.list_tasks("task3/*") == ["task3/roi-c1", "task3/roi-c3"]


def test_evaluate_scores_an_encoder_on_the_phantom_and_loads_back(tmp_path):
    results = mtneuro.evaluate(TinyEncoder(), tasks=["task1/roi-c1", "task3/roi-c1"],
                               preset="quick", source="phantom", source_params={"seed": 0},
                               seeds=[0], out=tmp_path, params={"z_step": 64})
    assert [(r.task, r.setting, r.method) for r in results] == [
        ("task1", "roi-c1", "encoder"), ("task3", "roi-c1", "encoder")]
    rows = results.table()
    ours = [r for r in rows if r["kind"] == "ours"]
    label = f"{TinyEncoder.__module__}:TinyEncoder (in memory)"
    assert {r["method"] for r in ours} == {f"encoder {label}"}
    assert {(r["task"], r["metric"]) for r in ours} >= {
        ("task1", "accuracy"), ("task3", "r2_vessel_fraction"), ("task3", "r2_test_axon_fraction")}
    accuracy = next(r for r in ours if r["metric"] == "accuracy")
    assert accuracy["mean"] == results[0].metrics["accuracy"]["mean"] and accuracy["n"] == 1
    assert accuracy["data"] == "phantom (synthetic volume)"
    assert all(r["comparable"].startswith("no: ") for r in ours)  # phantom, quick: deviations
    published = [r for r in rows if r["kind"] != "ours"]
    assert any(r["kind"] == "published: paper, real volume" and r["task"] == "task1"
               for r in published)
    assert all(r["comparable"] == "" for r in published)
    # recorded like bench cells: the report and load_results read them back
    cell = tmp_path / "cells" / "task1-roi-c1-encoder-s0"
    record = json.loads((cell / "metrics.json").read_text())
    assert record["schema_version"] == 2 and record["status"] == "complete"
    assert record["config"]["encoder"] == label
    assert sorted(record["figures"]) == ["confusion.png", "per_class_accuracy.png"]
    assert (cell / "confusion.png").is_file()
    loaded = mtneuro.load_results(tmp_path)
    assert loaded.table() == rows
    assert [r.headline for r in loaded] == [r.headline for r in results]
    assert "task1/roi-c1" in str(loaded)


def test_evaluate_names_tasks_that_take_no_encoder():
    with pytest.raises(ConfigError, match="task task2: evaluates no user encoder"):
        mtneuro.evaluate(TinyEncoder(), tasks=["task2/2d-4class"])
    with pytest.raises(ConfigError, match="unknown task1 setting 'roi-c9'"):
        mtneuro.evaluate(TinyEncoder(), tasks=["task1/roi-c9"])
    with pytest.raises(ConfigError, match="expected '<task>/<setting>'"):
        mtneuro.evaluate(TinyEncoder(), tasks=["task1"])
    # one name given alone is that task, not its characters ("unknown task 't'")
    with pytest.raises(ConfigError, match="task task2: evaluates no user encoder"):
        mtneuro.evaluate(TinyEncoder(), tasks="task2/2d-4class")


def test_import_mtneuro_and_list_tasks_import_no_torch():
    code = ("import sys, mtneuro; names = mtneuro.list_tasks(); "
            "assert 'torch' not in sys.modules, 'torch imported'; print(len(names))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout) >= 13


def test_a_neural_encoder_that_passes_the_rates_through_scores_as_the_raw_method(tmp_path):
    """Known answer: the identity map of the z-scored rates is the ``raw`` method's features
    (silent neurons add zero columns, which the readout ignores)."""
    from mtneuro.tasks.registry import get_task

    (result,) = mtneuro.evaluate(nn.Identity(), tasks=["neural/chewie-1"], seeds=[0], out=tmp_path)
    neural = get_task("neural")
    raw = neural.execute(neural.cell_config("chewie-1", "raw", 0, preset="quick"))
    assert result.method == "encoder" and result.metrics["kind"] == "reach"
    assert result.headline == raw.headline and set(result.headline) == {"accuracy", "delta_accuracy"}
    record = json.loads((tmp_path / "cells" / "neural-chewie-1-encoder-s0" / "metrics.json").read_text())
    assert sorted(record["figures"]) == ["confusion.png", "representation_2d.png"]
    assert record["protocol"]["name"] == "neural-reach"
    # the record names what was read out, not the raw-rate path its features took
    assert record["config"]["method"] == record["metrics"]["method"] == "encoder"
    assert any("user encoder" in line for line in record["deviations"])
    with pytest.raises(ConfigError, match="method 'encoder' reads out a user encoder"):
        neural.execute(neural.cell_config("chewie-1", "encoder", 0, preset="quick"))


def test_evaluate_scores_a_small_neural_module_frozen_on_chewie_1(tmp_path):
    """A tiny module (N, neurons) -> (N, 8) is scored by the task's readout and stays frozen;
    a permutation of the neurons (the readout standardises and weighs each column alone)
    scores as ``raw``."""
    import torch

    from mtneuro.tasks.registry import get_task

    torch.manual_seed(0)
    small = nn.Sequential(nn.Linear(174, 8), nn.Tanh())
    before = [p.detach().clone() for p in small.parameters()]
    (result,) = mtneuro.evaluate(small, tasks=["neural/chewie-1"], seeds=[0], out=tmp_path)
    assert all(torch.equal(a, b) for a, b in zip(before, small.parameters()))
    assert result.method == "encoder" and result.artefacts["outcome"].test_features.shape[1] == 8
    assert 0.0 <= result.headline["accuracy"] <= result.headline["delta_accuracy"] <= 1.0
    (loaded,) = mtneuro.load_results(tmp_path)
    assert loaded.headline == result.headline and loaded.setting == "chewie-1"

    permute = nn.Linear(174, 174, bias=False)
    with torch.no_grad():
        permute.weight.copy_(torch.eye(174)[torch.randperm(174)])
    (permuted,) = mtneuro.evaluate(permute, tasks=["neural/chewie-1"], seeds=[0])
    neural = get_task("neural")
    raw = neural.execute(neural.cell_config("chewie-1", "raw", 0, preset="quick"))
    assert permuted.headline == raw.headline


def test_evaluate_refuses_to_mix_two_encoders_in_one_out_folder_and_bad_seeds(tmp_path):
    """Cell ids do not name the encoder: a second encoder's run into the same ``out`` would
    replace the first one's cells silently and leave the folder holding both."""
    record = tmp_path / "cells" / "neural-chewie-1-encoder-s0" / "metrics.json"
    mtneuro.evaluate(nn.Identity(), tasks=["neural/chewie-1"], seeds=[0], out=tmp_path)
    first = record.read_text()
    with pytest.raises(ConfigError, match="cell neural-chewie-1-encoder-s0 already holds a result"):
        mtneuro.evaluate(nn.Tanh(), tasks=["neural/chewie-1"], seeds=[0], out=tmp_path)
    assert record.read_text() == first  # refused before anything ran
    mtneuro.evaluate(nn.Tanh(), tasks=["neural/chewie-1"], seeds=[0], out=tmp_path,
                     overwrite=True)
    assert json.loads(record.read_text())["cell"]["encoder"] != json.loads(first)["cell"]["encoder"]
    for bad in (-1, 2**32, 1.5):
        with pytest.raises(ConfigError, match=r"seeds: expected integers in \[0, 2\*\*32\)"):
            mtneuro.evaluate(nn.Identity(), tasks=["neural/chewie-1"], seeds=[bad])


class _NaNs(nn.Module):
    """An encoder whose features are all NaN (before: LinAlgError deep in the readout)."""

    def forward(self, x):
        return x * float("nan")


@pytest.mark.parametrize(("encoder", "error", "needle"), [
    (nn.Linear(100, 8), ConfigError,
     r"cannot map chewie-1's rates, a \(bins, 174\) matrix \(RuntimeError"),
    (nn.Flatten(0), ConfigError, r"expected \(895, D\) features for chewie-1, got \(155730,\)"),
    # bad values, as an image encoder's NaN features are (tasks.probe.checked_finite)
    (_NaNs(), DataError,
     r"encoder _NaNs on chewie-1: 155730 of its 155730 feature values are NaN or inf"),
])
def test_a_neural_encoder_of_the_wrong_shape_or_non_finite_features_is_named(encoder, error,
                                                                             needle):
    with pytest.raises(error, match=needle):
        mtneuro.evaluate(encoder, tasks=["neural/chewie-1"])


def test_a_recording_not_downloaded_is_named_before_any_task_runs(tmp_path, monkeypatch):
    """Before: chewie-1 ran and was recorded, then the call stopped at rat-v1, and the same
    call again was refused because chewie-1's cell held a result."""
    (tmp_path / "data").mkdir()
    monkeypatch.setenv("MTNEURO_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # rat-v1 is in neither
    out = tmp_path / "out"
    with pytest.raises(ConfigError, match=r"^tasks: neural/rat-v1: recording 'rat-v1' is not "
                                          r"here \(looked in "):
        mtneuro.evaluate(nn.Identity(), tasks=["neural/chewie-1", "neural/rat-v1"], out=out)
    assert not out.exists()  # nothing ran, nothing was written


@pytest.mark.parametrize(("params", "needle"), [
    ({"method": "pca"}, (r"^params.method: 'pca' is set by evaluate itself, from the task's "
                         r"encoder method; remove it from params$")),
    ({"seeds": [3]}, r"^params.seeds: \[3\] is set by evaluate itself, from seeds=;"),
])
def test_a_param_evaluate_sets_itself_is_refused(tmp_path, params, needle):
    """Before, ``params={"method": "pca"}`` ran the encoder method and recorded it, the
    given value silently replaced."""
    with pytest.raises(ConfigError, match=needle):
        mtneuro.evaluate(TinyEncoder(), tasks=["task1/roi-c1"], params=params, out=tmp_path)
    assert not (tmp_path / "cells").exists()
