"""Every name the benchmarks/ scripts import from mtneuro exists.

The scripts are not run by the suite (they take minutes), so a renamed function would only
show when someone next measures; this catches it in milliseconds.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _mtneuro_imports(path: Path) -> list[tuple[str, str, int]]:
    """``(module, name, line)`` of every ``from mtneuro... import name`` in ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    return [(node.module, alias.name, node.lineno) for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module
            and node.module.split(".")[0] == "mtneuro" for alias in node.names]


@pytest.mark.parametrize("script", sorted(BENCHMARKS.glob("*.py")), ids=lambda p: p.name)
def test_every_mtneuro_name_a_benchmark_imports_exists(script):
    missing = []
    for module, name, line in _mtneuro_imports(script):
        try:
            found = importlib.import_module(module)
        except ImportError as err:
            if "mtneuro" in str(err):
                missing.append(f"{script.name}:{line}: module {module} ({err})")
            continue  # an optional extra not installed here is not a broken name
        if name != "*" and not hasattr(found, name):
            try:
                importlib.import_module(f"{module}.{name}")  # a submodule
            except ImportError:
                missing.append(f"{script.name}:{line}: {module} has no {name}")
    assert not missing, "\n".join(missing)


def test_the_check_sees_a_renamed_function(tmp_path):
    script = tmp_path / "old.py"
    script.write_text("from mtneuro.tasks.neural.train import torch_threads\n")
    [(module, name, _)] = _mtneuro_imports(script)
    assert not hasattr(importlib.import_module(module), name)
