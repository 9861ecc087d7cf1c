"""Known answer for the neural CLI's encoders of several seeds (mutation audit mut18 of
``cli/neural.py``'s ``run_and_record(keep=...)``): each seed's encoder goes to its own
``seed-S/`` folder, beside that seed's metrics.json."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from click.testing import CliRunner


def test_each_seeds_encoder_is_kept_in_its_own_folder(reach_slice: Path, tmp_path: Path) -> None:
    from mtneuro.cli.neural import neural

    out = tmp_path / "seeds"
    res = CliRunner().invoke(neural, ["--data", str(reach_slice), "--method", "byol", "--steps",
                                      "5", "--no-refit", "--seeds", "0", "1", "--out", str(out)],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    for seed in (0, 1):
        folder = out / f"seed-{seed}"
        assert json.loads((folder / "metrics.json").read_text())["metrics"]["seed"] == seed
        meta = torch.load(folder / "encoder.pt", weights_only=True)["meta"]
        assert meta["seed"] == seed
    assert not (out / "encoder.pt").exists()  # the folder of the seeds holds their summary
