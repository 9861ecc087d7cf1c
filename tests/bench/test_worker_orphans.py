"""``bench --jobs N`` killed outright (``kill -9``, the out-of-memory killer) left its worker
processes running (env audit): they finished their cell, wrote it into OUT (racing a later
``--resume`` or ``--overwrite`` there), then sat idle for good, ~0.7 GB each."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import mtneuro

_BENCH = textwrap.dedent('''
    import sys

    import tiny_task
    from mtneuro.bench.runner import RunOptions, run_suite
    from mtneuro.bench.suite import expand, parse_suite
    from mtneuro.tasks import registry

    if __name__ == "__main__":  # spawned workers import this module again
        registry.register_task(tiny_task.TASK, replace=True)
        suite = parse_suite({"name": "t", "seeds": [0], "grid": [
            {"task": "tiny", "setting": "a", "methods": ["hang", "ok"]}]})
        run_suite(expand(suite), RunOptions(sys.argv[1], jobs=2, quiet=True))
''')


def _this_mtneuro() -> dict[str, str]:
    """The environment, its PYTHONPATH (the tiny task's) led by the mtneuro tested here, not
    one the interpreter may have installed elsewhere."""
    paths = [str(Path(mtneuro.__file__).parents[1]), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}


def _gone(pid: int) -> bool:
    """The process ended (a zombie has ended too: only its exit status is left)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except (FileNotFoundError, ProcessLookupError):
        return True


def _pool_workers(parent: int) -> list[int]:
    """The spawned pool workers among ``parent``'s children (not its resource tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError):
            ppid = int((entry / "stat").read_text().split(")")[-1].split()[1])
            if ppid == parent and b"spawn_main" in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
    return found


@pytest.mark.timeout(120)
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_workers_exit_soon_after_the_bench_is_killed(tiny_task: Path, tmp_path: Path) -> None:
    script, out = tmp_path / "bench.py", tmp_path / "out"
    script.write_text(_BENCH)
    pid_file, log = Path(str(tiny_task) + ".pid"), tmp_path / "bench.log"
    with log.open("wb") as output:  # a file: a worker left running would hold a pipe open
        bench = subprocess.Popen([sys.executable, str(script), str(out)], stdout=output,
                                 stderr=subprocess.STDOUT,
                                 env=_this_mtneuro(),
                                 start_new_session=True)  # its own group, killed at the end
    try:
        # one worker runs the hanging cell, the other is idle after its cell
        done = out / "cells" / "tiny-a-ok-s0" / "metrics.json"
        deadline = time.monotonic() + 90
        while (not (pid_file.is_file() and done.is_file()) and bench.poll() is None
               and time.monotonic() < deadline):
            time.sleep(0.1)
        assert pid_file.is_file() and done.is_file(), log.read_text()[-2000:]
        pool = _pool_workers(bench.pid)
        assert len(pool) == 2 and int(pid_file.read_text()) in pool, pool
        os.kill(bench.pid, signal.SIGKILL)
        bench.wait(timeout=30)
        deadline = time.monotonic() + 5
        while not all(map(_gone, pool)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [pid for pid in pool if not _gone(pid)] == [], "workers outlived the bench"
        assert not (out / "cells" / "tiny-a-hang-s0" / "metrics.json").exists()
    finally:
        with contextlib.suppress(ProcessLookupError):  # whatever of it is left, if it failed
            os.killpg(bench.pid, signal.SIGKILL)
        bench.wait()


def test_the_watch_ends_only_once_the_parent_has_changed(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    """The watch exits the worker when its parent pid changes (re-parented), not before."""
    from mtneuro.bench import workers

    parents = iter([7, 7, 7, 1])
    monkeypatch.setattr(workers.os, "getppid", lambda: next(parents))
    monkeypatch.setattr(workers.multiprocessing, "parent_process", lambda: None)
    exits: list[int] = []
    monkeypatch.setattr(workers.os, "_exit", exits.append)
    workers.watch_parent(7, poll_s=0)
    assert exits == [workers.ORPHANED_EXIT]
    assert next(parents, None) is None  # asked until it changed


@pytest.mark.timeout(60)
def test_the_watch_ends_once_the_parent_process_ends_though_its_pid_stays(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows: a worker keeps its dead parent's pid as ``os.getppid()``; the watch then ends
    through the parent's multiprocessing sentinel, here that of a real process, killed."""
    import multiprocessing
    import threading

    from mtneuro.bench import workers

    parent = multiprocessing.get_context("spawn").Process(target=time.sleep, args=(60,))
    parent.start()
    monkeypatch.setattr(workers.multiprocessing, "parent_process", lambda: parent)
    exits: list[int] = []
    monkeypatch.setattr(workers.os, "_exit", exits.append)
    # the real getppid, which stays as it is meanwhile, as on Windows
    watch = threading.Thread(target=workers.watch_parent, args=(os.getppid(), 0.05), daemon=True)
    watch.start()
    try:
        time.sleep(0.3)
        assert watch.is_alive() and exits == []  # the parent runs: the worker stays
        parent.kill()
        watch.join(timeout=10)
        assert not watch.is_alive() and exits == [workers.ORPHANED_EXIT]
    finally:
        parent.kill()
        parent.join()
        watch.join(timeout=10)  # before os._exit is put back
