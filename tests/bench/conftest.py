"""A tiny task of the task contract for testing the bench: a real module on a temporary path.

The module is written to disk (not defined in the test) so that worker processes
(spawned pools, submitit jobs) import it exactly as they import a real task.
It logs every run to ``$TINY_LOG`` so tests can see which cells actually ran.
"""

from __future__ import annotations

import importlib
import os
import sys
import textwrap
from pathlib import Path

import pytest

from mtneuro.tasks import registry

TINY_TASK = textwrap.dedent(
    '''
    """Tiny task: accuracy = 0.5 + 0.1 * seed; method names trigger faults or delays."""
    import os
    import time
    from dataclasses import dataclass, field
    from pathlib import Path

    from mtneuro.tasks.api import Task
    from mtneuro.tasks.protocol import UNCHECKED, card


    @dataclass(frozen=True)
    class TinyConfig:
        method: str = "ok"
        setting: str = "a"
        seeds: tuple[int, ...] = (0,)
        width: int = 1
        source: str = "phantom"
        source_params: dict = field(default_factory=dict)
        encoder: str | None = None


    def run(config, *, encoder=None):
        seed = config.seeds[0]
        with open(os.environ["TINY_LOG"], "a") as log:
            log.write(f"{config.method}-{seed}\\n")
        if config.method == "boom":
            raise RuntimeError(f"boom at seed {seed}\\nsecond line")
        if config.method == "interrupt":
            raise KeyboardInterrupt
        if config.method == "slow":
            time.sleep(1.5)
        if config.method == "die":  # the worker process dies, as when killed for memory
            os._exit(3)
        if config.method == "kill":  # killed, as by the kernel's out-of-memory killer
            import signal
            os.kill(os.getpid(), signal.SIGKILL)
        if config.method == "exit":  # user code calling sys.exit
            raise SystemExit(4)
        if config.method == "hang":  # runs until stopped; says which process runs it
            Path(os.environ["TINY_LOG"] + ".pid").write_text(str(os.getpid()))
            time.sleep(60)
        if config.method == "offline":  # as a volume source whose server does not answer
            from mtneuro.errors import SourceUnavailableError
            raise SourceUnavailableError("server not reachable after 6 tries")
        accuracy = 0.5 + 0.1 * seed
        result = TASK.result(config, setting=config.setting, method=config.method,
                             metrics={"accuracy": accuracy, "per_seed": [accuracy]},
                             source={"source": "phantom", "params": {"seed": 0}},
                             deviations=["run-only deviation"] if config.method == "noted"
                             else [])
        if config.method == "noted":  # lines only the run knows, as the neural task's
            result.card["notes"].append("run-only note")
        return result


    def figures(result, out_dir):
        from mtneuro.report.figures import new_subplots, save_figure

        fig, ax = new_subplots(figsize=(2, 2))
        ax.plot([0, 1], [0, result.metrics["accuracy"]])
        return [save_figure(fig, Path(out_dir) / "curve.png", dpi=40)]


    def tiny_card(config, source=None):
        return card(UNCHECKED, 0, ["no protocol card for TinyConfig: comparability with "
                                   "published numbers is not checked"])


    def make(name, settings=(), pretrain_methods=()):
        return Task(name=name, title=f"{name} (tiny)", config=TinyConfig, run=run,
                    card=tiny_card, headline=headline,
                    fields=fields, settings=settings, figures=figures, encoder="image",
                    encoder_method="encoder", pretrain_methods=pretrain_methods)


    def headline(metrics):
        return {"accuracy": metrics["accuracy"]}


    def fields(setting, method, seed):
        return {"setting": setting, "method": method, "seeds": [seed]}


    TASK = make("tiny", ("a", "b"))
    TASK1 = make("task1")
    TINYSSL = make("tinyssl", pretrain_methods=("ok",))
    '''
)


@pytest.fixture
def tiny_task(tmp_path, monkeypatch):
    """Register tasks ``tiny``, ``tinyssl`` and (for published rows) ``task1`` backed by the
    tiny task module. Returns the path of the run log.
    """
    package = tmp_path / "tinypkg"
    package.mkdir()
    (package / "tiny_task.py").write_text(TINY_TASK)
    monkeypatch.syspath_prepend(str(package))
    monkeypatch.setenv("PYTHONPATH", str(package))  # for submitit's subprocesses
    sys.modules.pop("tiny_task", None)
    module = importlib.import_module("tiny_task")
    log = tmp_path / "runs.log"
    log.touch()
    monkeypatch.setenv("TINY_LOG", str(log))
    for task in (module.TASK, module.TASK1, module.TINYSSL):
        registry.register_task(task, replace=True)
    yield log
    for name in ("tiny", "task1", "tinyssl"):
        registry.unregister_task(name)


@pytest.fixture
def fake_srun(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A PATH with an ``srun`` on it: submitit then takes this machine for a SLURM node."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    srun = bin_dir / "srun"
    srun.write_text("#!/bin/sh\nexit 0\n")
    srun.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
