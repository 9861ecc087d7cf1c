"""``mtneuro bench``: run a suite of (task, setting, method, seed) cells and report them.

- :mod:`mtneuro.bench.suite`: suite YAML schema, validation, cell ids and expansion;
- :mod:`mtneuro.bench.tasks`: which tasks a suite can name and their adapters
  (:mod:`mtneuro.bench.adapters`);
- :mod:`mtneuro.bench.cell`: one cell run and its ``cells/<id>/metrics.json`` record;
- :mod:`mtneuro.bench.runner`: resume, parallel processes, SLURM through submitit, Ctrl-C;
- :mod:`mtneuro.bench.ddp`: a cell's SSL pre-training under torchrun (suite key ``ddp``);
- :mod:`mtneuro.bench.progress`: live table of cells with status and ETA.

The report is rebuilt from the records by :func:`mtneuro.report.html.build_report`.
"""

from mtneuro.bench.runner import RunOptions, run_suite
from mtneuro.bench.suite import Cell, Suite, expand, load_suite, parse_suite
from mtneuro.bench.tasks import BENCH_TASKS, BenchTask, register_task

__all__ = ["BENCH_TASKS", "BenchTask", "Cell", "RunOptions", "Suite", "expand", "load_suite",
           "parse_suite", "register_task", "run_suite"]
