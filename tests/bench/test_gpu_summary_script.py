"""benchmarks/gpu_summary.py says when it has nothing to read, instead of printing nothing."""

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_summary.py"


def _run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          check=False, timeout=60)


def test_a_missing_or_empty_json_file_fails_naming_it(tmp_path):
    for path, why in ((tmp_path / "none.jsonl", "no such file"),
                      (tmp_path / "empty.jsonl", "empty or unreadable")):
        if why != "no such file":
            path.write_text("")
        for command in ("table", "best"):
            run = _run(command, "--json", str(path))
            assert run.returncode == 1 and run.stdout == ""
            assert f"{path}: no rows of ssl_throughput.py --json ({why})" in run.stderr


def test_best_without_an_eligible_variant_says_so_and_writes_no_settings(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"workload": "image", "batch": 8, "variant": "loop", "samples_per_s": 1.0}\n')
    run = _run("best", "--json", str(path), "--batch", "64")
    assert run.returncode == 0 and run.stdout == ""  # gpu_checks.sh keeps the defaults
    assert "no eligible image variant at batch 64" in run.stderr
