"""benchmarks/contention.py on a tiny command: idle and loaded runs, one markdown row."""

import importlib.util
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "contention.py"
_spec = importlib.util.spec_from_file_location("contention", SCRIPT)
contention = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(contention)


def test_table_keeps_the_best_run_of_each_condition_and_their_ratio():
    row = contention.table("cmd", idle=[12.0, 10.0, 11.0], loaded=[40.0, 31.0], busy=4).splitlines()
    assert row[0] == "| command | idle s | loaded s (4 busy processes) | loaded / idle |"
    assert row[2] == "| cmd | 10.0 | 31.0 | 3.1x |"


def test_contention_table_for_a_tiny_command():
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--busy", "1", "--label", "tiny", "--",
         sys.executable, "-c", "sum(range(10**5))"],
        check=True, capture_output=True, text=True, timeout=60).stdout
    header, rule, row = out.strip().splitlines()[-3:]
    assert header.startswith("| command | idle s | loaded s (1 busy processes)")
    assert rule.startswith("|---|")
    idle, loaded, ratio = re.fullmatch(r"\| tiny \| ([\d.]+) \| ([\d.]+) \| ([\d.]+)x \|", row).groups()
    # (a command this short rounds to 0.0 s; the ratio's arithmetic is checked above)
    assert float(idle) >= 0 and float(loaded) >= 0 and float(ratio) > 0


@pytest.mark.parametrize(("code", "expected"), [
    ("raise SystemExit(3)", "exited with 3"),
    ("import sys; sys.exit('no such folder: /x')", "no such folder: /x"),  # its own words
])
def test_failing_command_fails_the_script_and_says_why(code, expected):
    run = subprocess.run([sys.executable, str(SCRIPT), "--busy", "1", "--",
                          sys.executable, "-c", code],
                         check=False, capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert expected in run.stderr


# Run as the timed command: finds the spinners the script started for it (children of a
# launcher that is a child of the script, i.e. of this command's parent) and says whether
# they share this command's session.
_REPORT_SPINNERS = """
import os
def parent(pid):
    with open(f"/proc/{pid}/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[1])
script = os.getppid()
spinners = []
for entry in os.listdir("/proc"):
    if entry.isdigit():
        try:
            if parent(parent(int(entry))) == script:
                spinners.append(int(entry))
        except (OSError, ValueError, IndexError):
            pass
sessions = {os.getsid(pid) for pid in spinners}
placement = "none" if not spinners else ("same" if sessions == {os.getsid(0)} else "own")
print("spinners", len(spinners), placement, len(sessions), *spinners, flush=True)
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("placement", ["same-session", "own-session"])
def test_spinners_run_where_asked_and_are_stopped(placement, tmp_path):
    log = tmp_path / "log.txt"
    subprocess.run([sys.executable, str(SCRIPT), "--busy", "2", "--spinners", placement,
                    "--log", str(log), "--", sys.executable, "-c", _REPORT_SPINNERS],
                   check=True, capture_output=True, text=True, timeout=60)
    idle, loaded = log.read_text().splitlines()
    assert idle == "spinners 0 none 0"
    *summary, first, second = loaded.split()
    # both spinners in one session: ours, or a single other one
    assert summary == ["spinners", "2", placement.split("-")[0], "1"]
    deadline = time.monotonic() + 5  # SIGKILL is delivered asynchronously
    while any(_running(pid) for pid in (first, second)) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in (first, second):
        assert not _running(pid), f"spinner {pid} still running"


def _running(pid: str) -> bool:
    """Alive and not a zombie (a killed orphan stays in /proc until init reaps it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"

