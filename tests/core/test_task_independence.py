"""Tasks 1 and 3 share code only through shared modules: no ``tasks/semantic*`` module
reaches a ``tasks/region*`` one, nor the other way round, directly or through a module
they import (a re-export), at the top or inside functions."""

import ast
from pathlib import Path

import pytest

TASKS = Path(__file__).resolve().parents[2] / "src" / "mtneuro" / "tasks"


def _imported_task_modules(path: Path) -> set[str]:
    """The top-level ``mtneuro.tasks`` modules ``path`` imports (``from mtneuro.tasks
    import region`` counts as importing ``region``)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    parts = [n.split(".") for n in names if n.startswith("mtneuro.tasks.")]
    return {p[2] for p in parts if (TASKS / f"{p[2]}.py").is_file()}


def _reachable(start: str) -> dict[str, str]:
    """Every top-level task module ``start`` reaches, with the chain that reaches it."""
    chains = {start: start}
    todo = [start]
    while todo:
        module = todo.pop()
        for name in sorted(_imported_task_modules(TASKS / f"{module}.py")):
            if name not in chains:
                chains[name] = f"{chains[module]} -> {name}"
                todo.append(name)
    return chains


@pytest.mark.parametrize(("own", "other"), [("semantic", "region"), ("region", "semantic")])
def test_a_volume_task_never_reaches_the_other_ones_modules(own, other):
    starts = sorted(p.stem for p in TASKS.glob(f"{own}*.py"))
    assert starts, f"no tasks/{own}*.py modules"
    leaks = [chain for start in starts for name, chain in _reachable(start).items()
             if name.startswith(other)]
    assert not leaks, "\n".join(leaks)
