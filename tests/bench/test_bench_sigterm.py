"""``mtneuro bench`` on SIGTERM exited 130 and said ``interrupted`` (env audit), where
``pretrain`` and ``task2`` exit 143 and say ``terminated (SIGTERM)``: its own handler, which
stops the workers, replaced the CLI's. Ctrl-C still exits 130 and says ``interrupted``."""

from __future__ import annotations

import os
import signal
import sys
import textwrap
from pathlib import Path

import pytest
from bench_process import started_bench

import mtneuro

_BENCH = textwrap.dedent('''
    import signal
    import sys

    import tiny_task
    from mtneuro.cli.main import main
    from mtneuro.tasks import registry

    if __name__ == "__main__":  # spawned workers import this module again
        # Ctrl-C as in a terminal, even where this test runs as a background job (SIGINT
        # ignored, which Python then leaves ignored)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        registry.register_task(tiny_task.TASK, replace=True)
        main(["bench", "--suite", sys.argv[1], "--out", sys.argv[2], "--jobs", sys.argv[3],
              "--quiet"])
''')

_SUITE = "name: t\nseeds: [0]\ngrid:\n  - {task: tiny, setting: a, methods: [hang, ok]}\n"
_RESUME = "; rerun the same command with --resume to run the cells that did not finish"


def _this_mtneuro() -> dict[str, str]:
    """The environment, its PYTHONPATH (the tiny task's) led by the mtneuro tested here, not
    one the interpreter may have installed elsewhere."""
    paths = [str(Path(mtneuro.__file__).parents[1]), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}


def _stopped_bench(tiny_task: Path, tmp_path: Path, jobs: int, signum: int
                   ) -> tuple[int, str]:
    """Run the CLI's bench until its hanging cell runs, send it ``signum``: its exit
    status and last line."""
    script, suite = tmp_path / "bench.py", tmp_path / "suite.yaml"
    script.write_text(_BENCH)
    suite.write_text(_SUITE)
    pid_file, log = Path(str(tiny_task) + ".pid"), tmp_path / "bench.log"
    with started_bench([sys.executable, str(script), str(suite), str(tmp_path / "out"),
                        str(jobs)], log, pid_file.is_file, env=_this_mtneuro(),
                       timeout_s=90) as bench:
        bench.send_signal(signum)
        code = bench.wait(timeout=30)
        return code, log.read_text().strip().splitlines()[-1]


@pytest.mark.timeout(150)
def test_sigterm_to_the_bench_exits_143_and_says_terminated(tiny_task: Path,
                                                            tmp_path: Path) -> None:
    code, last = _stopped_bench(tiny_task, tmp_path, 2, signal.SIGTERM)
    assert (code, last) == (143, "terminated (SIGTERM)" + _RESUME)


@pytest.mark.timeout(150)
def test_ctrl_c_to_the_bench_still_exits_130_and_says_interrupted(tiny_task: Path,
                                                                  tmp_path: Path) -> None:
    code, last = _stopped_bench(tiny_task, tmp_path, 1, signal.SIGINT)
    assert (code, last) == (130, "interrupted" + _RESUME)
