"""benchmarks/contention.py on a tiny command: idle and loaded runs, one markdown row."""

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "contention.py"


def test_contention_table_for_a_tiny_command():
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--busy", "1", "--label", "tiny", "--",
         sys.executable, "-c", "sum(range(10**5))"],
        check=True, capture_output=True, text=True, timeout=60).stdout
    header, rule, row = out.strip().splitlines()[-3:]
    assert header.startswith("| command | idle s | loaded s (1 busy processes)")
    assert rule.startswith("|---|")
    idle, loaded, ratio = re.fullmatch(r"\| tiny \| ([\d.]+) \| ([\d.]+) \| ([\d.]+)x \|", row).groups()
    assert float(idle) >= 0 and float(loaded) >= 0 and float(ratio) > 0


def test_failing_command_fails_the_script():
    run = subprocess.run([sys.executable, str(SCRIPT), "--busy", "1", "--",
                          sys.executable, "-c", "raise SystemExit(3)"],
                         check=False, capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert "CalledProcessError" in run.stderr
