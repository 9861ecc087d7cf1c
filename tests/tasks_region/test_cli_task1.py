"""``mtneuro task1`` end to end on the real slice (the one-slice smoke protocol; the slice
shipped in the package)."""

from __future__ import annotations

import json

import pytest

from mtneuro.cli.main import main


def test_task1_cli_writes_metrics_and_pngs_on_the_real_slice(packaged_data, tmp_path, capsys):
    out = tmp_path / "run"
    main(
        [
            "task1",
            "--source",
            "slice",
            "--source-param",
            f"root={packaged_data}",
            "--method",
            "pca",
            "--seeds",
            "0",
            "1",
            "--out",
            str(out),
        ]
    )
    payload = json.loads((out / "metrics.json").read_text())
    assert payload["task"] == "task1" and payload["source"]["source"] == "slice"
    assert payload["config"]["quiet"] is False  # progress: a bar on a terminal, lines in a log
    metrics = payload["metrics"]
    assert metrics["accuracy"]["n"] == 2 and len(metrics["per_seed"]) == 2
    assert metrics["n_test"] == 4 * metrics["n_tiles"]["test"]
    assert 0.0 <= metrics["accuracy"]["mean"] <= 1.0
    assert (out / "confusion.png").stat().st_size > 0 and (out / "per_class_accuracy.png").is_file()
    assert payload["protocol"] == {"name": "task1-paper", "version": 1}
    assert payload["deviations"][-1].startswith("data: the one real slice z=309")
    assert "accuracy" in capsys.readouterr().out


def test_task1_cli_bad_value_is_one_line_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(
            [
                "task1",
                "--method",
                "encoder",
                "--source",
                "phantom",
                "--seeds",
                "0",
                "x",
                "--out",
                str(tmp_path),
            ]
        )
    assert exc.value.code == 2
    assert capsys.readouterr().err.strip().startswith("error: --seeds")


def test_task1_cli_unknown_option_after_seeds_is_named(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["task1", "--method", "pca", "--seeds", "0", "1", "--verbose", "--out", str(tmp_path)])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no such option: --verbose" in err


def test_deterministic_method_says_so_and_shows_a_bootstrap_interval(tmp_path, capsys):
    """PCA + logistic regression draws nothing the seed controls: two seeds agree, so the
    summary prints the interval over test tiles and "identical over 2 seeds", not ± 0.000."""
    out = tmp_path / "pca"
    main(["task1", "--quick", "--method", "pca", "--z-step", "32", "--seeds", "0", "1",
          "--out", str(out)])
    printed = capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())["metrics"]
    assert metrics["accuracy"]["std"] == 0.0
    interval = metrics["intervals"]["accuracy"]
    assert interval["low"] <= metrics["accuracy"]["mean"] <= interval["high"]
    assert interval["unit"] == "test tiles" and interval["n"] == metrics["n_tiles"]["test"]
    assert metrics["per_seed"][1]["intervals"]["accuracy"]["low"] == interval["low"]
    assert "deterministic: identical over 2 seeds" in printed and "± 0.000" not in printed
    assert f"[{interval['low']:.3f}, {interval['high']:.3f}] 95% CI over" in printed
