"""The neural command names the settings its run leaves unused, once however many seeds."""

from __future__ import annotations

from pathlib import Path

from cli_probe import invoke


def test_the_command_names_unused_settings_once_over_seeds(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("method: raw\nguard: 3\n")
    outcome = invoke(["neural", "--data", "chewie-1", "--config", "c.yaml", "--steps", "5",
                      "--seeds", "0", "1", "--out", "run"], tmp_path)
    assert [line for line in outcome.err_lines if line.startswith("warning: ")] == [
        "warning: guard not used: only split block has a guard gap (this run: trial)",
        "warning: steps not used: method raw trains nothing"], outcome.err
    assert (tmp_path / "run" / "seed-1" / "metrics.json").is_file()
