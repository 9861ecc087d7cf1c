"""Makes this folder's helpers importable (tests run with ``--import-mode=importlib``) and
builds one small suite report for the report tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from report_fixture import build_suite  # noqa: E402

from mtneuro.report.html import build_report  # noqa: E402


@pytest.fixture(scope="session")
def suite_report(tmp_path_factory) -> Path:
    """``report.html`` of :func:`report_fixture.build_suite` (built once per session)."""
    out = build_suite(tmp_path_factory.mktemp("suite"))
    return build_report(out)["html"]
