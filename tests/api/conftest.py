"""Makes ``toy_task`` importable (tests run with ``--import-mode=importlib``) and registers
the toy task for the tests that ask for it (``toy``)."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)


# imported after the path above, which makes toy_task importable
from collections.abc import Iterator

import pytest
from toy_task import TOY

from mtneuro.tasks.api import Task
from mtneuro.tasks.registry import register_task, unregister_task


@pytest.fixture
def toy() -> Iterator[Task]:
    """The toy task, registered for the test and removed after it."""
    register_task(TOY)
    yield TOY
    unregister_task("toy")
