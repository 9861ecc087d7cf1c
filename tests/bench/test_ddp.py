"""A cell's SSL pre-training under torchrun: the ``ddp`` key, its cells, and real launches.

The two launch tests start ``python -m torch.distributed.run`` with two gloo processes
on the CPU (a real task-1 cell on the phantom, about 35 s on 2 cores, and a launch
that fails in its processes, about 10 s).
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from mtneuro.bench.cell import cell_config, is_complete, run_cell
from mtneuro.bench.runner import RunOptions, run_suite
from mtneuro.bench.suite import Cell, expand, parse_suite
from mtneuro.cli.main import main
from mtneuro.errors import ConfigError
from mtneuro.tasks.registry import get_task


def _suite(grid, **top):
    return parse_suite({"name": "t", "grid": grid, **top})


def _record(out, cell_id):
    return json.loads((out / "cells" / cell_id / "metrics.json").read_text())


# -- the key -------------------------------------------------------------------------------
@pytest.mark.parametrize(("top", "entry", "message"), [
    ({"ddp": {"nproc_per_node": 0}}, {}, "ddp.nproc_per_node: expected int >= 1, got 0"),
    ({"ddp": {"nproc_per_node": "2"}}, {}, "ddp.nproc_per_node: expected int, got '2'"),
    ({"ddp": {"nproc_per_node": True}}, {}, "ddp.nproc_per_node: expected int, got True"),
    ({"ddp": {"nprocs": 2}}, {},
     "ddp.nprocs: unknown key (did you mean 'ddp.nproc_per_node'?); expected one of: nproc_per_node"),
    ({"ddp": 2}, {}, "ddp: expected a mapping like {nproc_per_node: 2}, got 2"),
    ({}, {"ddp": {"nproc_per_node": -1}}, "grid[0].ddp.nproc_per_node: expected int >= 1, got -1"),
    ({}, {"ddp": [2]}, "grid[0].ddp: expected a mapping like {nproc_per_node: 2}, got [2]"),
    ({}, {"dpp": {"nproc_per_node": 2}}, "grid[0].dpp: unknown key (did you mean 'grid[0].ddp'?)"),
])
def test_a_bad_ddp_key_fails_naming_key_value_and_expectation(top, entry, message):
    grid = [{"task": "task1", "setting": "roi-c1", "methods": ["byol"], **entry}]
    with pytest.raises(ConfigError) as info:
        parse_suite({"name": "t", "grid": grid, **top}, origin="s.yaml")
    assert str(info.value).startswith(f"s.yaml: {message}")


def test_ddp_applies_only_to_cells_that_pretrain_an_encoder():
    suite = _suite([
        {"task": "task1", "setting": "roi-c1", "methods": ["byol", "myow-merged", "pca", "supervised"]},
        {"task": "task3", "setting": "roi-c1", "methods": ["myow"], "ddp": {"nproc_per_node": 4}},
        {"task": "task3", "setting": "roi-c3", "methods": ["byol"], "ddp": {"nproc_per_node": 1}},
        {"task": "task1", "setting": "roi-c2", "methods": ["myow"], "params": {"encoder": "ckpt.pt"}},
        {"task": "task2", "setting": "2d-4class", "methods": ["unet"]},
        {"task": "neural", "setting": "chewie-1", "methods": ["myow", "byol"]},
    ], ddp={"nproc_per_node": 2})
    procs = {c.id: c.ddp_procs for c in expand(suite, encoder="m:f", encoder_tasks=("task1", "task3"))}
    assert {k: v for k, v in procs.items() if v != 1} == {
        "task1-roi-c1-byol-s0": 2, "task1-roi-c1-myow-merged-s0": 2,
        "task3-roi-c1-myow-s0": 4,  # the entry's ddp wins over the suite's
    }  # task3 roi-c3 entry turned it off; a given encoder, task2, neural, pca: nothing to pre-train
    assert "task1-roi-c1-encoder-s0" in procs
    # --ddp-procs replaces every entry's and the suite's value
    override = {c.id: c.ddp_procs for c in expand(suite, ddp_procs=3) if c.ddp_procs != 1}
    assert override == {"task1-roi-c1-byol-s0": 3, "task1-roi-c1-myow-merged-s0": 3,
                        "task3-roi-c1-myow-s0": 3, "task3-roi-c3-byol-s0": 3}
    assert all(c.ddp_procs == 1 for c in expand(suite, ddp_procs=1))
    with pytest.raises(ConfigError, match="ddp_procs: expected int >= 1, got 0"):
        expand(suite, ddp_procs=0)


def test_ddp_on_an_entry_that_pretrains_nothing_is_an_error():
    suite = _suite([{"task": "task2", "setting": "2d-4class", "methods": ["unet"],
                     "ddp": {"nproc_per_node": 2}}])
    with pytest.raises(ConfigError, match=r"grid\[0\]\.ddp: no cell of this entry pre-trains an SSL "
                                          r"encoder.*task 'task2' pre-trains for methods: none"):
        expand(suite)
    suite = _suite([{"task": "task1", "setting": "roi-c1", "methods": ["pca"],
                     "ddp": {"nproc_per_node": 2}}])
    with pytest.raises(ConfigError, match="pre-trains for methods: byol, myow, myow-merged"):
        expand(suite)


def test_ddp_procs_joins_the_cell_definition_only_when_on():
    off, on = (Cell("c", "task1", "roi-c1", "byol", 0, None, {}, "phantom", {}, ddp_procs=n) for n in (1, 2))
    assert "ddp_procs" not in off.to_dict()  # records written before the key still resume
    assert on.to_dict()["ddp_procs"] == 2
    assert Cell(**on.to_dict()) == on and Cell(**off.to_dict()) == off


def test_cli_ddp_procs_flag(tmp_path, capsys):
    suite = tmp_path / "s.yaml"
    suite.write_text("name: s\ngrid:\n  - {task: task1, setting: roi-c1, methods: [byol, pca]}\n")
    main(["bench", "--suite", str(suite), "--out", str(tmp_path / "o"), "--ddp-procs", "2", "--dry-run"])
    out = capsys.readouterr().out
    assert "task1-roi-c1-byol-s0  (source phantom, pre-training under torchrun x2)" in out
    assert "task1-roi-c1-pca-s0  (source phantom)\n" in out
    # the dry run's card says what the record's will: byol pre-trains under torchrun, pca not
    byol, pca = out.split("task1-roi-c1-pca-s0")
    assert "pre-training data-parallel on 2 processes" in byol
    assert "data-parallel" not in pca
    with pytest.raises(SystemExit) as info:
        main(["bench", "--suite", str(suite), "--out", str(tmp_path / "o"), "--ddp-procs", "0", "--dry-run"])
    assert info.value.code == 2
    assert "--ddp-procs" in capsys.readouterr().err
    # the dry run checks what the launch would: the paper batch of 8 does not split in 3
    with pytest.raises(SystemExit) as info:
        main(["bench", "--suite", str(suite), "--out", str(tmp_path / "o"), "--ddp-procs", "3",
              "--dry-run"])
    assert info.value.code == 2
    assert capsys.readouterr().err == (
        "error: cell task1-roi-c1-byol-s0: pretrain.batch_size: 8 does not split among 3 "
        "processes (each takes an equal share); use a multiple of 3 (ddp.nproc_per_node / "
        "--ddp-procs)\n")


# -- the pre-training it launches ------------------------------------------------------------
class _Stop(Exception):
    pass


@pytest.mark.parametrize(("task", "params"), [
    ("task1", {}),
    ("task1", {"pretrain": {"epochs": 3}, "source_params": {"seed": 4}}),
    ("task3", {"setting": "roi-c3"}),
])
@pytest.mark.parametrize("preset", ["quick", None])
def test_the_launched_config_is_the_one_the_task_pretrains_in_process(task, params, preset, monkeypatch,
                                                                     tmp_path):
    """What :func:`mtneuro.bench.ddp.pretrain_under_torchrun` launches is what the task
    pre-trains in process: the task runs up to its pre-training, whose config is captured."""
    import numpy as np

    from mtneuro.bench import ddp
    from mtneuro.tasks import region, semantic_probe
    from mtneuro.tasks.encoders import FrozenEncoders
    from mtneuro.tasks.pretrain import run as pretrain_run
    from mtneuro.tasks.volume import SplitData

    params = dict(params)
    setting = params.pop("setting", "roi-c1")
    cell = Cell("c", task, setting, "myow", 5, preset, params, "phantom", {"seed": 1}, ddp_procs=2)
    config = cell_config(get_task(task), cell)
    if task == "task1":
        config = dataclasses.replace(config, crop=8)  # paper corner crops of the 16-px test tiles
    captured = []

    def fake_pretrain_encoder(pretrain_config, images, **kwargs):
        captured.append(pretrain_config)
        raise _Stop

    monkeypatch.setattr(pretrain_run, "pretrain_encoder", fake_pretrain_encoder)
    rng = np.random.default_rng(0)
    tiles = rng.integers(0, 255, (8, 1, 16, 16), dtype=np.uint8)
    with pytest.raises(_Stop):
        if task == "task1":
            splits = {s: SplitData(tiles, np.arange(8) % 4, np.arange(8), single_slice=True)
                      for s in ("train", "val", "test")}
            region.run_task1(config, splits)
        else:  # task 3 pre-trains in its embedding step
            frozen = FrozenEncoders(config, 2, tiles=tiles)
            semantic_probe._embed(config, type("Data", (), {"images": tiles}), 5, np.arange(8),
                                  None, frozen, {})
    launched = []
    monkeypatch.setattr(ddp, "launch_pretrain",
                        lambda c, n, out, threads=None: launched.append(c) or tmp_path / "e.pt")
    run_config, record = ddp.pretrain_under_torchrun(get_task(task), config, cell, tmp_path)
    assert len(captured) == 1 and captured == launched
    assert (launched[0].seed, launched[0].method, launched[0].setting) == (5, "myow", setting)
    assert run_config.encoder == str(tmp_path / "e.pt") and run_config.pretrain is None
    assert record["nproc_per_node"] == 2


def test_no_pretraining_is_launched_when_the_cell_gives_an_encoder(tmp_path):
    from mtneuro.bench.ddp import pretrain_under_torchrun

    cell = Cell("c", "task1", "roi-c1", "byol", 0, "quick", {"encoder": "resnet-tiny"}, "phantom", {})
    config = cell_config(get_task("task1"), cell)
    assert config.pretrain is None
    assert pretrain_under_torchrun(get_task("task1"), config, cell, tmp_path) == (config, None)


def test_a_task_without_pretraining_settings_fails_the_cell_naming_it(tiny_task, tmp_path):
    cell = expand(_suite([{"task": "tinyssl", "setting": "a", "methods": ["ok"]}],
                         ddp={"nproc_per_node": 2}))[0]
    assert cell.ddp_procs == 2
    outcome = run_cell(cell, get_task("tinyssl"), tmp_path)
    assert outcome["status"] == "failed"
    assert outcome["error"] == ("ConfigError: cell tinyssl-a-ok-s0: ddp: task 'tinyssl' cannot "
                                "pre-train under torchrun (its config TinyConfig has no 'pretrain')")
    assert _record(tmp_path, cell.id)["config"]["ddp"] == {"nproc_per_node": 2}


def test_a_batch_the_processes_cannot_share_fails_before_launching(tmp_path):
    from mtneuro.bench.ddp import launch_pretrain
    from mtneuro.tasks.pretrain.config import make_config

    with pytest.raises(ConfigError, match=r"^batch_size: 16 does not split among 3 processes"):
        launch_pretrain(make_config("quick"), 3, tmp_path / "pretrain")
    # MYOW's candidate pool is split too, and named as such (it was called batch_size)
    with pytest.raises(ConfigError, match=r"^pool_size: 6 does not split among 4 processes"):
        launch_pretrain(make_config("quick", {"pool_size": 6}), 4, tmp_path / "pretrain")
    assert not (tmp_path / "pretrain").exists()


# -- real launches: two gloo processes ----------------------------------------------------------
TINY_TASK1 = {"task": "task1", "setting": "roi-c1", "methods": ["byol"], "preset": "quick",
              "params": {"pretrain": {"epochs": 1}, "z_step": 64, "probe_cs": [1.0]}}


@pytest.mark.timeout(300)
def test_a_task1_cell_pretrains_under_torchrun_with_two_processes(tmp_path):
    out = tmp_path / "out"
    cells = expand(_suite([TINY_TASK1], ddp={"nproc_per_node": 2}))
    states = run_suite(cells, RunOptions(out, quiet=True))
    assert states[0].status == "complete", states[0].error
    record = _record(out, "task1-roi-c1-byol-s0")
    pretrain_dir = out / "cells/task1-roi-c1-byol-s0/pretrain"
    assert record["config"]["ddp"] == {
        "nproc_per_node": 2, "launcher": "python -m torch.distributed.run --standalone",
        "pretrain_dir": "pretrain", "encoder": "pretrain/encoder.pt", "world_size": 2, "steps": 4,
        "epochs": 1, "final_loss": pytest.approx(record["config"]["ddp"]["final_loss"]),
    }
    assert record["config"]["encoder"] == str((pretrain_dir / "encoder.pt").resolve())
    assert record["cell"]["ddp_procs"] == 2 and 0 <= record["headline"]["accuracy"] <= 1
    deviation = ("pre-training data-parallel on 2 processes (reference: one process, "
                 "scripts/task1_ssl.py)")
    assert record["deviations"].count(deviation) == 1
    pretrain_record = json.loads((pretrain_dir / "metrics.json").read_text())
    assert pretrain_record["metrics"]["world_size"] == 2
    assert pretrain_record["config"]["method"] == "byol" and pretrain_record["config"]["epochs"] == 1
    assert "--nproc_per_node 2 -m mtneuro.cli.main pretrain" in (pretrain_dir / "torchrun.log").read_text()
    assert is_complete(out, cells[0])


@pytest.mark.timeout(300)
def test_a_failed_torchrun_launch_fails_the_cell_with_the_process_error(tmp_path):
    out = tmp_path / "out"
    suite = _suite([TINY_TASK1], ddp={"nproc_per_node": 2}, source_params={"bogus": 1})
    states = run_suite(expand(suite), RunOptions(out, quiet=True))
    assert states[0].status == "failed"
    record = _record(out, "task1-roi-c1-byol-s0")
    log = out / "cells/task1-roi-c1-byol-s0/pretrain/torchrun.log"
    assert record["error"]["type"] == "TrainingError"
    # the processes stop with mtneuro's one-line error (before any data is read)
    assert record["error"]["message"] == (
        "SSL pre-training under torchrun (2 processes) failed: error: source parameter 'bogus' "
        f"(--source-param bogus=...): source 'phantom' takes: seed (log: {log})")
    assert "--- last lines of the processes' output ---" in record["error"]["traceback"]
    assert record["config"]["ddp"] == {"nproc_per_node": 2}


_TERMINATED_LAUNCHER = """
import sys
from mtneuro.bench import ddp
from mtneuro.tasks.pretrain.config import make_config

# stands in for torchrun: a child that records its pid, then waits a minute
ddp.torchrun_command = lambda nproc, args: [
    sys.executable, "-c",
    "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); time.sleep(60)",
    sys.argv[2],
]
ddp.launch_pretrain(make_config("quick"), 2, sys.argv[1])
"""


@pytest.mark.timeout(120)
def test_sigterm_while_waiting_stops_the_launched_torchrun(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    pid_file = tmp_path / "child.pid"
    launcher = subprocess.Popen(
        [sys.executable, "-c", _TERMINATED_LAUNCHER, str(tmp_path / "pretrain"), str(pid_file)])
    deadline = time.monotonic() + 60
    while not (pid_file.is_file() and pid_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.1)
    child = int(pid_file.read_text())
    launcher.send_signal(signal.SIGTERM)  # what a pool's terminate() or `kill` sends
    assert launcher.wait(timeout=30) == 128 + signal.SIGTERM
    with pytest.raises(ProcessLookupError):  # the child was stopped and reaped, not orphaned
        os.kill(child, 0)


@pytest.mark.timeout(60)
def test_sigterm_while_waiting_calls_the_benchs_own_handler_first(tmp_path):
    """A cell run in the bench's own process waits under the bench's SIGTERM handler
    (``runner.sigterm_as_interrupt``): ``_wait`` calls it, so the suite stops, then raises
    SystemExit for the launcher's clean-up, and puts the handler back."""
    import os
    import signal
    import subprocess
    import sys
    import threading

    from mtneuro.bench import ddp

    seen = []

    def bench_handler(signum, frame):
        seen.append(signum)

    previous = signal.signal(signal.SIGTERM, bench_handler)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM))
    try:
        timer.start()
        with pytest.raises(SystemExit) as info:
            ddp._wait(child)
        assert info.value.code == 128 + signal.SIGTERM
        assert seen == [signal.SIGTERM]
        assert signal.getsignal(signal.SIGTERM) is bench_handler
    finally:
        timer.cancel()
        child.kill()
        child.wait()
        signal.signal(signal.SIGTERM, previous)
