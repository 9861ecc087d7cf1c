"""Every ``>>>`` example in the package's docstrings runs and prints what it shows."""

import doctest
import importlib
import importlib.util
import pkgutil
from pathlib import Path

import pytest

import mtneuro


def _modules_with_examples() -> list[str]:
    """Modules whose source holds a ``>>>`` example (read as text: nothing imported here)."""
    names = []
    for info in pkgutil.walk_packages(mtneuro.__path__, "mtneuro."):
        origin = importlib.util.find_spec(info.name).origin
        if origin and ">>> " in Path(origin).read_text(encoding="utf-8"):
            names.append(info.name)
    return sorted(names)


MODULES = _modules_with_examples()


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:  # an optional extra that is not installed
        if exc.name and exc.name.split(".")[0] != "mtneuro":
            pytest.skip(f"{name} needs {exc.name}, not installed")
        raise
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = [t for t in finder.find(module, name) if t.examples]
    assert tests, f"{name} has '>>> ' in its source but no docstring example was found"
    for test in tests:
        runner.run(test)
    assert runner.failures == 0, f"{runner.failures} docstring example(s) of {name} failed (see stdout)"
