"""A lower layer never imports a higher one: data -> models -> ssl -> tasks -> report -> bench -> cli."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "mtneuro"
LAYERS = ["data", "models", "ssl", "tasks", "report", "bench", "cli"]


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return {n for n in names if n.startswith("mtneuro.")}


def test_no_upward_imports():
    violations = []
    for rank, layer in enumerate(LAYERS):
        for path in (PACKAGE / layer).rglob("*.py"):
            for name in _imports(path):
                target = name.split(".")[1]
                if target in LAYERS and LAYERS.index(target) > rank:
                    violations.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert not violations, "\n".join(violations)


def test_base_modules_import_no_layer():
    for name in ("errors.py", "registry.py", "config.py", "cpu_memory.py", "checkpoint_io.py",
                 "extras.py"):
        assert not {n for n in _imports(PACKAGE / name) if n.split(".")[1] in LAYERS}
