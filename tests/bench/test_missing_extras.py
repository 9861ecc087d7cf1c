"""Bench cells whose extra is not installed (a core install running the quick suite): named
by the dry run, recorded as skipped with the pip command, and no failure of the suite.

Each check runs in a fresh interpreter with the extra's modules hidden (an interpreter that
imported them already would not miss them)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HIDE = ("import sys; sys.modules.update(dict.fromkeys(["
        "'monai', 'segmentation_models_pytorch', 'intern', 'intern.remote.boss']))")
SUITE = """\
name: core-install
seeds: [0]
jobs: 1
grid:
  - {task: task1, setting: roi-c1, methods: [pca], preset: quick}
  - {task: task2, setting: 2d-4class, methods: [unet], preset: quick}
"""


def _bench(tmp_path: Path, *args: str, suite: str = SUITE) -> subprocess.CompletedProcess:
    (tmp_path / "suite.yaml").write_text(suite)
    code = (f"{HIDE}; from mtneuro.cli.main import main; main(['bench', '--suite', "
            f"{str(tmp_path / 'suite.yaml')!r}, '--out', {str(tmp_path / 'out')!r}, "
            f"'--quiet', *{list(args)!r}])")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=600, cwd=tmp_path)


def test_a_dry_run_marks_the_cells_whose_extra_is_missing(tmp_path):
    # MTNeuro's own U-Net is built from torch alone: its cell runs on a core install
    with_own_unet = SUITE.replace("methods: [unet]", "methods: [unet, unet-mtneuro]")
    proc = _bench(tmp_path, "--dry-run", suite=with_own_unet)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    [task2] = [line for line in lines if line.startswith("task2-2d-4class-unet-s0")]
    assert task2.endswith("[needs mtneuro[seg]: will be skipped]")
    [own_unet] = [line for line in lines if line.startswith("task2-2d-4class-unet-mtneuro-s0")]
    [task1] = [line for line in lines if line.startswith("task1-roi-c1-pca-s0")]
    assert "skipped" not in task1 and "skipped" not in own_unet
    assert lines[-1] == ("3 cell(s) in suite 'core-install': 2 to run, 1 skipped (extras not "
                         'installed: pip install "mtneuro[seg]")')


def test_a_run_skips_them_with_the_pip_command_and_succeeds(tmp_path):
    proc = _bench(tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "1/2 cell(s) complete, 0 failed, 1 skipped" in proc.stdout
    assert 'pip install "mtneuro[seg]"' in proc.stderr
    record = json.loads((tmp_path / "out/cells/task2-2d-4class-unet-s0/metrics.json").read_text())
    assert record["status"] == "skipped"
    assert record["skip_reason"].endswith('pip install "mtneuro[seg]"')
    assert json.loads((tmp_path / "out/cells/task1-roi-c1-pca-s0/metrics.json").read_text()
                      )["status"] == "complete"
    assert (tmp_path / "out/report.html").is_file()
