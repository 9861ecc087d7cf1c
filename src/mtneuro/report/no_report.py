"""Why a folder has no report: the one message ``mtneuro report DIR`` (and
:func:`~mtneuro.report.html.build_report`) fails with, saying what the folder holds instead and
what to run (a suite's cells, a task run's folder, the folders of several runs)."""

from __future__ import annotations

from pathlib import Path

from mtneuro.report.leaderboard import STANDALONE_RUN
from mtneuro.report.results import read_json_object
from mtneuro.report.run_records import recorded_seeds


def no_records_message(out: Path, unreadable: list[tuple[str, str]], run_problem: str = "") -> str:
    """Why ``out`` has no report: one line, then one line per unreadable record
    (``run_problem``: why the record of a task command's run in ``out`` is none to report)."""
    head = f"{out}: no readable cell records (cells/<id>/metrics.json)"
    suites = ("`mtneuro bench --suite SUITE --out NEW_DIR` (SUITE: quick, neural, paper or a "
              "suite YAML file)")
    if run_problem:
        suite = _suite_of_run(out / "metrics.json")  # the suite that runs the same cells
        hint = (f"; to report it, run its settings as a suite: a YAML file holding {suite} "
                "(with `preset:` and `params:` for settings other than the defaults), then "
                "`mtneuro bench --suite FILE --out NEW_DIR`" if suite is not None else
                "; a report needs a task command's run (`mtneuro task1 --out RUN`, then "
                f"`mtneuro report RUN`) or a suite's cells from {suites}")
        return f"{run_problem}{hint}"
    if any(why.endswith(STANDALONE_RUN) for _, why in unreadable):
        hint = ("; runs of task commands (`mtneuro task1 --out X`, ...) are not bench cells: "
                f"report each in its own folder (`mtneuro report X`), or, for one report of "
                f"them all, run their methods with {suites}")
    elif runs := sorted(p.parent.name for p in out.glob("*/metrics.json")):
        hint = (f"; it holds the folders of {len(runs)} run(s) ({', '.join(runs[:3])}"
                f"{', ...' if len(runs) > 3 else ''}): report each, e.g. "
                f"`mtneuro report {out / runs[0]}`")
    else:
        hint = f"; run `mtneuro bench --out {out}` (or `mtneuro task1 --out {out}`, ...) first"
    if not unreadable:
        return f"{head}{hint}"
    return (f"{head}, {len(unreadable)} unreadable{hint}:\n"
            + "\n".join(f"  {where}: {why}" for where, why in unreadable))


def _suite_of_run(record_path: Path) -> str | None:
    """The lines of a suite YAML that runs the task, setting, method and seeds of a task
    command's record (``name: my-run``, ``seeds: [0, 1]``, ``grid: [...]``), or None where
    the record does not say them."""
    record = read_json_object(record_path) or {}
    config = record.get("config") if isinstance(record.get("config"), dict) else {}
    task, setting, method = (record.get(k) for k in ("task", "setting", "method"))
    seeds = recorded_seeds(config)
    if not (isinstance(task, str) and isinstance(setting, str) and isinstance(method, str)
            and seeds):
        return None
    lines = ["name: my-run", f"seeds: {list(seeds)}"]
    if task != "neural" and config.get("source"):  # neural cells read recordings
        lines.append(f"source: {config['source']}")
    lines.append(f"grid: [{{task: {task}, setting: {setting}, methods: [{method}]}}]")
    return ", ".join(f"`{line}`" for line in lines)
