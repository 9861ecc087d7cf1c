"""mtneuro.report: run records (``metrics.json`` and figures), leaderboard tables and the
HTML report.

The names below are imported on first use::

    from mtneuro.report import build_report, load_result
"""

from mtneuro.registry import lazy_dir, lazy_exports

_EXPORTS = {
    "run_and_record": "record",
    "load_result": "record",
    "write_result": "record",
    "build_report": "html",
}
__getattr__ = lazy_exports(__name__, _EXPORTS)
__all__ = [
    "build_report",
    "load_result",
    "run_and_record",
    "write_result",
]
__dir__ = lazy_dir(globals(), _EXPORTS)
