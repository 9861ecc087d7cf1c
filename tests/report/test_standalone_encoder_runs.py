"""A task command's own run of a user's encoder (``mtneuro task1 --method encoder --encoder
SPEC --out DIR``), found by a walkthrough: its report names the encoder as a bench cell's
does (row and figure captions), its record fingerprints the weights it read as a bench cell
records them, and an encoder whose inferred ``out_dim`` does not hold for the task's input
size is told where that number came from."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from mtneuro.bench.cell import encoder_fingerprints
from mtneuro.bench.suite import Cell
from mtneuro.checkpoint_io import content_digest
from mtneuro.cli.main import main
from mtneuro.data.checksums import sha256_file
from mtneuro.errors import DataError

MODULE = "byo_standalone_encoders"
ENCODERS = '''
import torch
from torch import nn


class Small(nn.Module):  # fixed weights: its fingerprint is known without mtneuro
    def __init__(self, scale):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        with torch.no_grad():
            self.conv.weight.copy_(torch.linspace(-1, 1, 36).reshape(4, 1, 3, 3) * scale)
            self.conv.bias.zero_()
        self.out_dim = 4

    def forward(self, x):
        return torch.relu(self.conv(x)).mean(dim=(2, 3))


def small():
    return Small(1.0)


def other():
    return Small(-0.5)


def flatten():  # no out_dim, and an output size that follows the input size
    return nn.Flatten()
'''
#: the fastest task-1 run: the quick preset over every 64th slice, one seed
QUICK = ["--method", "encoder", "--quick", "--seeds", "0", "--z-step", "64"]


@pytest.fixture
def encoders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The module of :data:`ENCODERS`, importable as :data:`MODULE`."""
    folder = tmp_path / "code"
    folder.mkdir()
    (folder / f"{MODULE}.py").write_text(ENCODERS)
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delitem(sys.modules, MODULE, raising=False)
    return MODULE


def _fingerprint(spec: str) -> str | None:
    """What a bench cell records for ``spec`` (its encoder alone is read)."""
    cell = Cell(id="c", task="task1", setting="roi-c1", method="encoder", seed=0, preset=None,
                params={}, source="phantom", source_params={}, encoder=spec)
    return encoder_fingerprints(cell)[spec]


def test_two_standalone_encoder_runs_are_told_apart_in_their_reports_and_records(
        encoders: str, tmp_path: Path) -> None:
    import importlib

    import mtneuro
    from mtneuro.api import Results

    module = importlib.import_module(encoders)
    runs = {}
    for name in ("small", "other"):
        spec, run = f"{encoders}:{name}", tmp_path / name
        main(["task1", *QUICK, "--encoder", spec, "--out", str(run)])
        main(["report", str(run)])
        runs[spec] = run
    for spec, run in runs.items():
        # the row and the captions name the encoder, as a bench cell's row does
        page, board = (run / "report.html").read_text(), (run / "leaderboard.md").read_text()
        assert re.search(rf"<td class=l>encoder {re.escape(spec)}</td>", page)
        assert f"task1-roi-c1 (encoder {spec}): confusion.png" in page
        assert f"| encoder {spec} | ours |" in board
        # the weights it read, as a bench cell records them: known without mtneuro too
        record = json.loads((run / "metrics.json").read_text())
        built = getattr(module, spec.split(":")[1])()
        assert record["inputs"] == {"encoders": {spec: _fingerprint(spec)}}
        assert record["inputs"]["encoders"][spec] == content_digest(built.state_dict())
    # one table of both runs: two rows, one per encoder, not one "encoder" row of n=2
    both = Results([*mtneuro.load_results(runs[f"{encoders}:small"]),
                    *mtneuro.load_results(runs[f"{encoders}:other"])])
    ours = sorted((r["method"], r["n"]) for r in both.table() if r["kind"] == "ours")
    assert ours == [(f"encoder {encoders}:other", 1), (f"encoder {encoders}:small", 1)]


def test_a_task3_run_records_its_encoders_fingerprint_and_a_checkpoint_its_sha(
        encoders: str, tmp_path: Path) -> None:
    from mtneuro.models import create_encoder, save_encoder

    spec = f"{encoders}:small"
    main(["task3", "--method", "encoder", "--quick", "--seeds", "0", "--z-step", "64",
          "--encoder", spec, "--out", str(tmp_path / "t3")])
    record = json.loads((tmp_path / "t3" / "metrics.json").read_text())
    assert record["inputs"] == {"encoders": {spec: _fingerprint(spec)}}

    # a checkpoint file: its SHA-256 under files, as bench records it, no weights fingerprint
    checkpoint = save_encoder(tmp_path / "tiny.pt", create_encoder("resnet-tiny"),
                              name="resnet-tiny", input_spec={"spatial_dims": 2, "size": 64})
    main(["task1", *QUICK, "--encoder", str(checkpoint), "--out", str(tmp_path / "t1")])
    record = json.loads((tmp_path / "t1" / "metrics.json").read_text())
    assert record["inputs"] == {"files": {str(checkpoint): sha256_file(checkpoint)}}


def test_an_inferred_out_dim_that_the_tasks_input_size_breaks_says_where_it_came_from(
        encoders: str) -> None:
    from mtneuro.models import resolve_encoder
    from mtneuro.tasks.features import extract_features

    encoder, _ = resolve_encoder(f"{encoders}:flatten")  # 4096 from a 64-px probe
    with pytest.raises(DataError) as info:
        extract_features(encoder, np.zeros((2, 1, 32, 32), np.uint8), batch_size=2)
    message = str(info.value)
    assert message.startswith(
        "encoder Flatten: gave 4096 features for the (2, 1, 64, 64) zero batch mtneuro "
        "inferred its out_dim from (it declares none) but 1024 for a (2, 1, 32, 32) batch: "
        "its output size must not depend on its input size")
    assert "declares out_dim" not in message and "global pooling" in message
    assert "\n" not in message

