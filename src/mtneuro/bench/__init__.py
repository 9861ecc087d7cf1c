"""``mtneuro bench``: run a suite of (task, setting, method, seed) cells and report them.

- :mod:`mtneuro.bench.suite`: suite YAML schema, validation, cell ids and expansion;
- :mod:`mtneuro.bench.cell`: one cell, a run of a task of the contract
  (:mod:`mtneuro.tasks.api`, names from :mod:`mtneuro.tasks.registry`), and its
  ``cells/<id>/metrics.json`` record;
- :mod:`mtneuro.bench.runner`: resume, parallel processes, SLURM through submitit, Ctrl-C;
- :mod:`mtneuro.bench.plan`: what a run does with each cell (``--resume``, ``--dry-run``);
- :mod:`mtneuro.bench.checks`: cells checked before anything runs (settings, ``params``);
- :mod:`mtneuro.bench.ddp`: a cell's SSL pre-training under torchrun (suite key ``ddp``);
- :mod:`mtneuro.bench.progress`: live table of cells with status and ETA.

The report is rebuilt from the records by :func:`mtneuro.report.html.build_report`.
"""

from mtneuro.bench.runner import RunOptions, run_suite
from mtneuro.bench.suite import Cell, Suite, expand, load_suite, parse_suite

__all__ = ["Cell", "RunOptions", "Suite", "expand", "load_suite", "parse_suite", "run_suite"]
