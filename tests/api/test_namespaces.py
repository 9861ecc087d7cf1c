"""``mtneuro.data``, ``mtneuro.tasks`` and ``mtneuro.report`` offer their public names, as
``mtneuro.models`` does, imported on first use (before, each exported nothing, so
``RegionTileDataset`` or ``build_report`` were found only by reading ARCHITECTURE.md)."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

WHERE = {
    "mtneuro.data": {"open_source": "mtneuro.data.sources",
                     "RegionTileDataset": "mtneuro.data.datasets",
                     "load_recording": "mtneuro.data.neural"},
    "mtneuro.tasks": {"get_task": "mtneuro.tasks.registry", "Result": "mtneuro.tasks.api"},
    "mtneuro.report": {"build_report": "mtneuro.report.html",
                       "load_result": "mtneuro.report.record"},
}


@pytest.mark.parametrize("package", sorted(WHERE))
def test_every_public_name_resolves_and_is_listed(package):
    module = importlib.import_module(package)
    for name in module.__all__:
        assert getattr(module, name) is not None, name
        assert name in dir(module), name  # tab completion offers it before first use
    for name, home in WHERE[package].items():
        assert getattr(module, name) is getattr(importlib.import_module(home), name)
    with pytest.raises(AttributeError, match=f"module '{package}' has no attribute 'nope'"):
        module.nope  # noqa: B018 - the lookup is what is tested


def test_importing_the_packages_imports_no_torch():
    code = ("import sys, mtneuro.data, mtneuro.tasks, mtneuro.report; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"
