"""What a notebook user of the Python API met: a ``Path`` encoder refused, ``load_results``
of no path failing in a bare ``TypeError``, the exceptions not at ``mtneuro.``, a
9,500-character ``repr`` as a cell's last line and torch's meta-tensor error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn
from toy_task import MeanBrightness

import mtneuro
from mtneuro import api_results, errors
from mtneuro.models import create_encoder, save_encoder
from mtneuro.tasks.registry import get_task

SPEC = {"spatial_dims": 2, "size": 16}


def test_a_checkpoint_path_object_is_the_same_encoder_as_its_string(tmp_path):
    torch.manual_seed(0)
    path = save_encoder(tmp_path / "enc.pt", create_encoder("resnet-tiny", widths=(4, 8)).eval(),
                        name="resnet-tiny", kwargs={"widths": (4, 8)}, input_spec=SPEC)
    by_path, by_string = (mtneuro.evaluate(encoder, tasks="task3/roi-c1", params={"z_step": 64})[0]
                          for encoder in (Path(path), str(path)))
    assert by_path.headline == by_string.headline
    assert by_path.config["encoder"] == str(path)


@pytest.mark.parametrize("path", [None, 3, ["runs/mine"]])
def test_load_results_of_no_path_names_the_argument(path):
    with pytest.raises(mtneuro.ConfigError) as caught:
        mtneuro.load_results(path)
    assert str(caught.value) == (
        "load_results: path: expected a results folder or a metrics.json file (str or "
        f"os.PathLike), got {path!r} ({type(path).__name__})")


def test_the_api_exceptions_are_at_the_top_without_importing_torch():
    for name in ("MtneuroError", "ConfigError", "DataError", "ChecksumError", "CheckpointError",
                 "SourceUnavailableError", "TrainingError"):
        assert getattr(mtneuro, name) is getattr(errors, name) and name in mtneuro.__all__
        assert name in dir(mtneuro)
    with pytest.raises(mtneuro.ConfigError, match="^tasks: expected at least one task name"):
        mtneuro.evaluate(MeanBrightness(), tasks=[])
    code = ("import sys, mtneuro; mtneuro.ConfigError, mtneuro.DataError; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert out.strip() == "False"


def test_results_show_a_short_summary_and_an_html_table(toy):
    results = mtneuro.evaluate(MeanBrightness(), tasks=["toy/easy", "toy/hard"], seeds=[0, 1])
    text = repr(results)
    lines = text.splitlines()
    assert lines[0] == "<Results: 4 runs: toy/easy (seeds 0, 1), toy/hard (seeds 0, 1)>"
    assert lines[1] == str(results).splitlines()[0] and lines[1].startswith("key: n: seeds")
    assert lines[2:4] == [line for line in str(results).splitlines() if "[ours;" in line]
    assert lines[4] == "(the published rows: print(results); as dicts: results.table())"
    assert len(text) < 1000
    page = results._repr_html_()
    assert page.startswith("<p>Results: 4 runs: toy/easy (seeds 0, 1), toy/hard (seeds 0, 1)"
                           "</p><table><tr><th>task</th>")
    assert page.count("<tr>") == 1 + len(results.table())
    assert repr(results[:0]) == "<Results: 0 runs>"


def test_a_long_table_is_cut_in_the_repr(toy, monkeypatch):
    results = mtneuro.evaluate(MeanBrightness(), tasks=["toy/easy", "toy/hard"])
    monkeypatch.setattr(api_results, "REPR_ROWS", 1)
    lines = repr(results).splitlines()
    assert len(lines) == 4 and lines[2].startswith("toy/easy")
    assert lines[3] == ("(1 more row and the published rows: print(results); as dicts: "
                        "results.table())")


def test_an_encoder_on_the_meta_device_is_refused_in_one_line():
    with torch.device("meta"):
        encoder = nn.Sequential(nn.Conv2d(1, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    for tasks in ("task1/roi-c1", "neural/chewie-1"):
        with pytest.raises(mtneuro.ConfigError) as caught:
            mtneuro.evaluate(encoder, tasks=tasks)
        assert str(caught.value).startswith(
            "encoder (in-memory Sequential): its weights are on the meta device (0.weight and "
            "1 more), not materialised")
        assert "load_state_dict(state, assign=True)" in str(caught.value)
    task = get_task("task3")  # the task contract's own path
    config = task.make_config("quick", {"method": "encoder", "z_step": 64})
    with pytest.raises(mtneuro.ConfigError, match="'in-memory Sequential': its weights are on "
                                                  "the meta device"):
        task.execute(config, encoder=encoder)

