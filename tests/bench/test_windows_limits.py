"""What the bench cannot do on Windows is refused before any work (submitit executors,
torchrun pre-training) or capped with a note (``--jobs`` above 61), instead of failing each
cell, or the pool, later (portability audit). Windows is played by the ``sys.platform`` that
:mod:`mtneuro.bench.windows` reads: the whole process playing it would break libraries that act
on it (threadpoolctl then loads Windows DLLs)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from mtneuro.bench import runner, windows
from mtneuro.bench.executors import check_executor
from mtneuro.bench.runner import RunOptions, run_suite
from mtneuro.bench.suite import expand, parse_suite
from mtneuro.cli.main import main
from mtneuro.errors import ConfigError

_DDP_REFUSED = (": pre-training under torchrun is not supported on Windows (stopping it there "
                "leaves its processes running); use --ddp-procs 1 (pre-train in the cell's "
                "process) or run the bench on Linux or macOS\n")


def _play(monkeypatch: pytest.MonkeyPatch, platform: str) -> None:
    monkeypatch.setattr(windows, "sys", SimpleNamespace(platform=platform))


@pytest.fixture
def on_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    _play(monkeypatch, "win32")


def _suite_file(tmp_path: Path, extra: str = "") -> Path:
    suite = tmp_path / "s.yaml"
    suite.write_text("name: s\n" + extra +
                     "grid:\n  - {task: task1, setting: roi-c1, methods: [byol, pca]}\n")
    return suite


def _bench_error(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as info:
        main(["bench", *args])
    assert info.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize("executor", ["submitit-local", "slurm"])
def test_a_submitit_executor_is_refused_on_windows(executor: str, on_windows: None,
                                                   tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    err = _bench_error(["--suite", str(_suite_file(tmp_path)), "--out", str(tmp_path / "o"),
                        "--executor", executor, "--dry-run"], capsys)
    assert err == (f"error: --executor {executor}: submitit controls its jobs with POSIX "
                   "signals, which Windows lacks; use --executor local (--jobs N runs N cells "
                   "at once)\n")
    check_executor("local", None)  # the local executor stays


def test_submitit_local_is_still_taken_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("submitit")
    _play(monkeypatch, "darwin")
    check_executor("submitit-local", {"timeout_min": 5})


def test_ddp_procs_is_refused_on_windows_naming_the_option(on_windows: None, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]
                                                           ) -> None:
    args = ["--suite", str(_suite_file(tmp_path)), "--out", str(tmp_path / "o"), "--dry-run"]
    err = _bench_error([*args, "--ddp-procs", "2"], capsys)
    assert err == "error: --ddp-procs 2" + _DDP_REFUSED


def test_the_suites_ddp_key_is_refused_on_windows_naming_the_cell(
        on_windows: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    suite = _suite_file(tmp_path, "ddp: {nproc_per_node: 2}\n")
    args = ["--suite", str(suite), "--out", str(tmp_path / "o"), "--dry-run"]
    assert _bench_error(args, capsys) == (
        "error: cell task1-roi-c1-byol-s0: ddp.nproc_per_node 2" + _DDP_REFUSED)
    # the way out the message gives: the suite's pre-training in the cell's process
    main(["bench", *args, "--ddp-procs", "1"])
    assert "task1-roi-c1-byol-s0  (source phantom)\n" in capsys.readouterr().out


def test_run_suite_refuses_ddp_cells_on_windows_before_writing(on_windows: None,
                                                               tmp_path: Path) -> None:
    cells = expand(parse_suite({"name": "t", "ddp": {"nproc_per_node": 2}, "grid": [
        {"task": "task1", "setting": "roi-c1", "methods": ["byol"]}]}))
    with pytest.raises(ConfigError, match=r"^cell task1-roi-c1-byol-s0: ddp.nproc_per_node 2: "):
        run_suite(cells, RunOptions(tmp_path / "out", quiet=True))
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("platform", "expected"), [("win32", 61), ("darwin", 64),
                                                    ("linux", 64)])
def test_jobs_above_the_windows_pool_limit_are_capped_there_only(
        monkeypatch: pytest.MonkeyPatch, platform: str, expected: int) -> None:
    _play(monkeypatch, platform)
    jobs, note = windows.capped_jobs(64, 64)
    assert jobs == expected
    assert note == ("--jobs 64: Windows runs at most 61 worker processes in a pool; running 61 "
                    "cells at once" if platform == "win32" else None)
    assert windows.capped_jobs(61, "auto") == (61, None)


def test_the_bench_runs_capped_jobs_and_says_so(tiny_task: Path, on_windows: None,
                                                 tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Played with a limit of 2 (61 workers would be slow to start): 3 cells, --jobs auto."""
    monkeypatch.setattr(windows, "WINDOWS_MAX_JOBS", 2)
    monkeypatch.setattr(runner, "available_cpus", lambda: 8)
    pools: list[int] = []

    def pool(pending, out, jobs, progress):  # the cells run here: no processes to spawn
        pools.append(jobs)
        runner._run_inline(pending, out, progress)

    monkeypatch.setattr(runner, "_run_pool", pool)
    cells = expand(parse_suite({"name": "t", "seeds": [0, 1, 2], "grid": [
        {"task": "tiny", "setting": "a", "methods": ["ok"]}]}))
    states = run_suite(cells, RunOptions(tmp_path / "out", jobs="auto", quiet=True))
    assert pools == [2] and [s.status for s in states] == ["complete"] * 3
    assert ("--jobs auto (3): Windows runs at most 2 worker processes in a pool; running 2 "
            "cells at once") in capsys.readouterr().err
