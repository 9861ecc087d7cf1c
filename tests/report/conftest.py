"""Makes this folder's helpers importable (tests run with ``--import-mode=importlib``),
builds one small suite report for the report tests and captures the figures plot modules
save."""

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


@pytest.fixture
def captured(monkeypatch) -> list:
    """Figures handed to ``save_figure`` by the plot modules, kept open for inspection."""
    from mtneuro.report import (
        figures,
        plots_neural,
        plots_region,
        plots_segmentation,
        plots_semantic,
        preview,
    )

    figs: list = []

    def keep(fig, path, dpi=150):
        figs.append(fig)
        return Path(path)

    for module in (figures, plots_region, plots_segmentation, plots_semantic, plots_neural,
                   preview):
        monkeypatch.setattr(module, "save_figure", keep)
    return figs
