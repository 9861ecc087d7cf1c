"""Run the ``mtneuro`` command line in-process (click's CliRunner isolation) and see what it
left behind: exit code, stdout, stderr and the files of the working folder."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from mtneuro.cli.main import main


@dataclass
class Outcome:
    code: int | None
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return self.err.strip().splitlines()


def invoke(args: list[str], cwd: Path) -> Outcome:
    """``mtneuro ARGS`` run in ``cwd``; an exception that escapes ``main`` is re-raised."""
    runner = CliRunner()
    previous = Path.cwd()
    os.chdir(cwd)
    try:
        with runner.isolation() as streams:
            try:
                main(args)
                code = 0
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else 1
            out, err = streams[0].getvalue().decode(), streams[1].getvalue().decode()
    finally:
        os.chdir(previous)
    return Outcome(code, out, err)


def tree(root: Path) -> dict[str, int]:
    """Every path under ``root`` with its size (folders: -1)."""
    return {str(p.relative_to(root)): (-1 if p.is_dir() else p.stat().st_size)
            for p in sorted(root.rglob("*"))}


def assert_one_line_error(outcome: Outcome, *needles: str) -> None:
    """Exit code 2, one line on stderr starting ``error:``, no traceback, the needles in it."""
    assert outcome.code == 2, (outcome.code, outcome.err, outcome.out[-300:])
    assert len(outcome.err_lines) == 1, outcome.err
    assert outcome.err.startswith("error: ") and "Traceback" not in outcome.err
    for needle in needles:
        assert needle in outcome.err, (needle, outcome.err)


def check(tmp_path: Path, args: list[str], *needles: str,
          within_s: float | None = None) -> Outcome:
    """``mtneuro ARGS --out run`` in ``tmp_path`` fails in one line with the needles, writes
    nothing, and (with ``within_s``) fails that fast."""
    before = tree(tmp_path)
    start = time.perf_counter()
    outcome = invoke([*args, "--out", "run"], tmp_path)
    assert_one_line_error(outcome, *needles)
    assert tree(tmp_path) == before
    if within_s is not None:
        assert time.perf_counter() - start < within_s
    return outcome
