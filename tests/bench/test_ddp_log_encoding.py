"""The torchrun log is written as UTF-8, whatever the locale: its first line, the command, holds
the cell's path, and a path the locale's codec cannot encode (cp1252 on Windows) crashed the
cell before torchrun started (portability audit)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import mtneuro

# stands in for torchrun: exits 3 at once, with the launch's arguments on its command line
_LAUNCH = textwrap.dedent("""
    import locale, sys
    from mtneuro.bench import ddp
    from mtneuro.errors import TrainingError
    from mtneuro.tasks.pretrain.config import make_config

    print(locale.getpreferredencoding(False))
    ddp.torchrun_command = lambda nproc, args: [sys.executable, "-c", "raise SystemExit(3)",
                                                *args]
    try:
        ddp.launch_pretrain(make_config("quick"), 2, sys.argv[1])
    except TrainingError as error:
        print(type(error).__name__)
""")


@pytest.mark.timeout(120)
def test_a_path_the_locale_cannot_encode_reaches_the_log(tmp_path: Path) -> None:
    out = tmp_path / "données" / "pretrain"
    paths = [str(Path(mtneuro.__file__).parents[1]), os.environ.get("PYTHONPATH", "")]
    # an ASCII locale, as cp1252 is for this path on Windows: "é" arrives as undecodable bytes
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0",
           "PYTHONCOERCECLOCALE": "0", "PYTHONIOENCODING": "utf-8",
           "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    run = subprocess.run([sys.executable, "-c", _LAUNCH, str(out)], env=env,
                         capture_output=True, text=True, timeout=100, check=False)
    lines = run.stdout.split()
    assert lines[:1] and lines[0].lower() in ("ansi_x3.4-1968", "ascii", "us-ascii"), run.stdout
    assert lines[1:] == ["TrainingError"], run.stderr[-2000:]  # torchrun's failure, no crash
    log = (out / "torchrun.log").read_text(encoding="utf-8")
    assert log.startswith("$ ") and "pretrain --config " in log and "pretrain_config.yaml" in log
