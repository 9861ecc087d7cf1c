"""A lower layer never imports a higher one: data -> models -> ssl -> tasks -> report -> bench -> cli."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "mtneuro"
LAYERS = ["data", "models", "ssl", "tasks", "report", "bench", "cli"]


def _imports(path: Path, *, members: bool = False) -> set[str]:
    """Every ``mtneuro`` module ``path`` imports, at the top or inside functions; with
    ``members``, ``from mtneuro.pkg import name`` also counts as importing ``mtneuro.pkg.name``."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            if members:
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
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
                 "extras.py", "vocab.py", "stats.py", "acceleration.py", "threads.py", "progress.py",
                 "atomic.py", "devices.py", "input_sides.py", "machine.py", "warning_lines.py",
                 "yaml_files.py", "api_arguments.py", "writable.py", "made_folders.py",
                 "folder_lock.py", "torchrun_env.py"):
        assert not {n for n in _imports(PACKAGE / name) if n.split(".")[1] in LAYERS}


def test_models_import_graph_has_no_cycles():
    """Encoders register when ``mtneuro.models`` is imported (timm's way); no module of
    ``models/`` imports one that imports it back, even lazily inside a function."""
    modules = {f"mtneuro.models.{p.stem}": p for p in (PACKAGE / "models").glob("*.py")
               if p.stem != "__init__"}
    graph = {name: _imports(path, members=True) & set(modules) for name, path in modules.items()}
    assert not graph["mtneuro.models.registry"], "the registry imports no model module"

    def cycle_from(start: str, node: str, seen: tuple[str, ...]) -> tuple[str, ...] | None:
        for nxt in sorted(graph[node]):
            if nxt == start:
                return (*seen, nxt)
            if nxt not in seen:
                found = cycle_from(start, nxt, (*seen, nxt))
                if found:
                    return found
        return None

    cycles = [" -> ".join(c) for name in sorted(graph) if (c := cycle_from(name, name, (name,)))]
    assert not cycles, "\n".join(cycles)


@pytest.mark.parametrize("module", ["api", "pretraining"])
def test_the_python_api_sits_at_the_top_beside_the_cli(module):
    """``mtneuro.api`` and ``mtneuro.pretraining`` may use every layer; only the CLI (and the
    lazy package attributes) may import them, and they never import the CLI."""
    assert not {n for n in _imports(PACKAGE / f"{module}.py") if n.startswith("mtneuro.cli")}
    for layer in LAYERS[:-1]:
        for path in (PACKAGE / layer).rglob("*.py"):
            assert f"mtneuro.{module}" not in _imports(path), \
                f"{path.relative_to(PACKAGE)} imports mtneuro.{module}"


def _reached_task_modules(start: str) -> dict[str, str]:
    """Every top-level ``mtneuro.tasks`` module ``start`` imports, directly or through another
    (a re-export), at the top or inside functions, with the chain that reaches it."""
    tasks = PACKAGE / "tasks"
    chains, todo = {start: start}, [start]
    while todo:
        module = todo.pop()
        parts = [n.split(".") for n in _imports(tasks / f"{module}.py", members=True)]
        for name in sorted({p[2] for p in parts if p[1] == "tasks" and len(p) > 2}):
            if (tasks / f"{name}.py").is_file() and name not in chains:
                chains[name] = f"{chains[module]} -> {name}"
                todo.append(name)
    return chains


@pytest.mark.parametrize(("own", "other"), [("semantic", "region"), ("region", "semantic")])
def test_tasks_1_and_3_share_code_only_through_shared_modules(own, other):
    """No ``tasks/semantic*`` module reaches a ``tasks/region*`` one, nor the reverse: what
    both use lives in shared modules (``volume``, ``tile_inputs``, ``encoders``, ...)."""
    starts = sorted(p.stem for p in (PACKAGE / "tasks").glob(f"{own}*.py"))
    assert starts, f"no tasks/{own}*.py modules"
    leaks = [chain for start in starts for name, chain in _reached_task_modules(start).items()
             if name.startswith(other)]
    assert not leaks, "\n".join(leaks)
