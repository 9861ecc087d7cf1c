"""One run at a time in a run folder: a second process is refused while the first holds it,
and the folder is free again once the first run ends (or is refused)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mtneuro.cli.folder_lock import hold_run_folder, release_run_folder
from mtneuro.cli.run_folder import prepare_run_folder, run_folder
from mtneuro.errors import ConfigError

pytest.importorskip("fcntl")


def _holder(out: Path) -> subprocess.Popen:
    """Another process running in ``out``: it holds the folder until its stdin closes."""
    code = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from mtneuro.cli.folder_lock import hold_run_folder
        hold_run_folder(Path({str(out)!r}))
        print("held", flush=True)
        sys.stdin.read()
    """)
    process = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "held"
    return process


def test_a_second_process_is_refused_while_a_run_is_writing_there(tmp_path):
    out = tmp_path / "run"
    holder = _holder(out)
    try:
        with pytest.raises(ConfigError, match=rf"^--out {out}: another mtneuro process is running "
                                              r"there now; wait for it to end, or choose another "
                                              r"--out$"):
            prepare_run_folder(out, "pretrain", resume=False)
        prepare_run_folder(out, "pretrain", dry_run=True)  # a dry run writes nothing: no lock
    finally:
        holder.communicate("")
    with run_folder(out, "pretrain") as held:  # the holder has ended: the folder is free
        (held / "metrics.json").write_text("{}")
    assert (out / "metrics.json").is_file()


def test_one_process_may_hold_a_folder_twice_and_a_refused_run_frees_it(tmp_path):
    out = tmp_path / "a" / "b"
    hold_run_folder(out)
    hold_run_folder(out)  # nested: the same process
    release_run_folder(out)
    holder = None
    try:
        with pytest.raises(subprocess.CalledProcessError):  # still held by the first hold
            subprocess.run([sys.executable, "-c", "from pathlib import Path; from mtneuro.cli."
                            f"folder_lock import hold_run_folder; hold_run_folder(Path({str(out)!r}"
                            "))"], check=True, capture_output=True)
    finally:
        release_run_folder(out)
    assert not (tmp_path / "a").exists()  # both folders it made, left empty, are gone
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "metrics.json").write_text("{}")
    with pytest.raises(ConfigError, match="already holds a run"):
        prepare_run_folder(tmp_path / "run", "task")
    holder = _holder(tmp_path / "run")  # the refusal released its hold
    holder.communicate("")
