"""One run at a time in a run folder: a second process is refused while the first holds it,
and the folder is free again once the first run ends (or is refused)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from mtneuro.cli.run_folder import prepare_run_folder, run_folder
from mtneuro.errors import ConfigError
from mtneuro.folder_lock import hold_run_folder, release_run_folder

pytest.importorskip("fcntl")


def _holder(out: Path) -> subprocess.Popen:
    """Another process running in ``out``: it holds the folder until its stdin closes."""
    code = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from mtneuro.folder_lock import hold_run_folder
        hold_run_folder(Path({str(out)!r}))
        print("held", flush=True)
        sys.stdin.read()
    """)
    process = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "held"
    return process


def _refused_as_busy(out: Path, option: str) -> AbstractContextManager[Any]:
    """The refusal of ``out`` (named as ``option``, ``--out`` or ``out``) while another
    process holds it, matched as the whole message."""
    return pytest.raises(ConfigError, match=rf"^{option} {out}: another mtneuro process is "
                                            r"running there now; wait for it to end, or choose "
                                            rf"another {option}$")


def test_a_second_process_is_refused_while_a_run_is_writing_there(tmp_path):
    out = tmp_path / "run"
    holder = _holder(out)
    try:
        with _refused_as_busy(out, "--out"):
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
        # still held by the first hold
        with pytest.raises(subprocess.CalledProcessError) as refused:
            code = ("from pathlib import Path; from mtneuro.folder_lock import hold_run_folder; "
                    f"hold_run_folder(Path({str(out)!r}))")
            subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                           text=True)
        assert "another mtneuro process is running there now" in refused.value.stderr
    finally:
        release_run_folder(out)
    assert not (tmp_path / "a").exists()  # both folders it made, left empty, are gone
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "metrics.json").write_text("{}")
    with pytest.raises(ConfigError, match="already holds a run"):
        prepare_run_folder(tmp_path / "run", "task")
    holder = _holder(tmp_path / "run")  # the refusal released its hold
    holder.communicate("")


@pytest.mark.parametrize("call", ["evaluate", "pretrain"])
def test_the_python_api_holds_its_out_folder_as_a_command_does(tmp_path, call):
    import numpy as np
    from torch import nn

    import mtneuro

    out = tmp_path / "api"
    holder = _holder(out)
    try:
        with _refused_as_busy(out, "out"):
            if call == "evaluate":
                mtneuro.evaluate(nn.Sequential(nn.Flatten(), nn.LazyLinear(4)), "task1/roi-c1",
                                 out=out)
            else:
                mtneuro.pretrain(volume=np.zeros((2, 64, 64), np.uint8), out=out)
    finally:
        holder.communicate("")
    assert not any(out.iterdir())  # nothing written beside the other run
