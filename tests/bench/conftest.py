"""A tiny bench task for testing the runner: a real adapter module on a temporary path.

The module is written to disk (not defined in the test) so that worker processes
(spawned pools, submitit jobs) import it exactly as they import a real task adapter.
It logs every run to ``$TINY_LOG`` so tests can see which cells actually ran.
"""

from __future__ import annotations

import textwrap

import pytest

from mtneuro.bench import tasks

TINY_ADAPTER = textwrap.dedent(
    '''
    """Tiny bench adapter: accuracy = 0.5 + 0.1 * seed; method names trigger faults."""
    import os
    from pathlib import Path

    from mtneuro.errors import ConfigError


    def build_config(cell):
        if "bad" in cell.params:
            raise ConfigError("params.bad: unknown key")
        return {"method": cell.method, "seed": cell.seed, "setting": cell.setting, **cell.params}


    def run(config):
        with open(os.environ["TINY_LOG"], "a") as log:
            log.write(f"{config['method']}-{config['seed']}\\n")
        if config["method"] == "boom":
            raise RuntimeError(f"boom at seed {config['seed']}\\nsecond line")
        if config["method"] == "interrupt":
            raise KeyboardInterrupt
        accuracy = 0.5 + 0.1 * config["seed"]
        return {"metrics": {"accuracy": accuracy, "per_seed": [accuracy]},
                "source": {"source": "phantom", "params": {"seed": 0}}}


    def headline(result):
        return {"accuracy": result["metrics"]["accuracy"]}


    def plots(result, out_dir):
        from mtneuro.report.figures import plt, save_figure

        fig, ax = plt.subplots(figsize=(2, 2))
        ax.plot([0, 1], [0, result["metrics"]["accuracy"]])
        return [save_figure(fig, Path(out_dir) / "curve.png", dpi=40)]


    def inputs(cell):
        return {"source": cell.source}
    '''
)


@pytest.fixture
def tiny_task(tmp_path, monkeypatch):
    """Register bench tasks ``tiny`` and (for published rows) ``task1`` backed by the tiny adapter.

    Returns the path of the run log.
    """
    package = tmp_path / "tinypkg"
    package.mkdir()
    (package / "tiny_adapter.py").write_text(TINY_ADAPTER)
    monkeypatch.syspath_prepend(str(package))
    monkeypatch.setenv("PYTHONPATH", str(package))  # for submitit's subprocesses
    log = tmp_path / "runs.log"
    log.touch()
    monkeypatch.setenv("TINY_LOG", str(log))
    monkeypatch.setitem(tasks.BENCH_TASKS, "tiny",
                        tasks.BenchTask("tiny", "tiny_adapter", "Tiny", settings=("a", "b"), encoder=True))
    monkeypatch.setitem(tasks.BENCH_TASKS, "task1",
                        tasks.BenchTask("task1", "tiny_adapter", "Task 1 (tiny stand-in)"))
    return log
