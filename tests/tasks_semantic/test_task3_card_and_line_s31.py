"""Task 3 says what it changed and what its numbers are: a few-cells distance other than the
reference's 64 is a card deviation (it moves every sparse crop's ``nn_distance``, and so its
R²), and a run of the corrected features does not call its in-sample R² the published column
(audit t3-s31)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mtneuro.tasks.protocol import task3_card
from mtneuro.tasks.semantic_task import TASK3

LINE = ("nn_distance of crops with fewer than 2 cells 10.0 (reference 64, "
        "annots/features.py:52)")


def test_a_few_cells_distance_other_than_64_is_a_deviation() -> None:
    changed = TASK3.make_config("quick", {"method": "pca", "few_cells_distance": 10.0})
    assert LINE in task3_card(changed, "bossdb")["deviations"]
    default = TASK3.make_config("quick", {"method": "pca"})
    assert not any("fewer than 2 cells" in d for d in task3_card(default, "bossdb")["deviations"])


def test_the_corrected_features_line_names_no_published_column(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mtneuro", "task3", "--method", "pca", "--quick",
         "--exact-features", "--out", str(tmp_path / "run")],
        capture_output=True, text=True, timeout=600, cwd=tmp_path, check=False)
    assert proc.returncode == 0, proc.stderr
    [line] = [x for x in proc.stdout.splitlines() if x.startswith("task3 ")]
    assert "in-sample R² (corrected features: no published column to compare with): " in line
    assert "published column, the report's first" not in line
    assert "cell_size_exact" in line
