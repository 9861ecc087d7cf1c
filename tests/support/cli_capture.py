"""The ``mtneuro`` command line run in-process: its exit code and what it printed (pytest's
``capsys`` captures it)."""

from __future__ import annotations

from typing import Any

from mtneuro.cli.main import main


def run(argv: list[str], capsys: Any) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``mtneuro ARGV``."""
    try:
        main(argv)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    out = capsys.readouterr()
    return code, out.out, out.err
