"""Makes ``ssl_train_helpers`` importable (tests run with ``--import-mode=importlib``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from ssl_train_helpers import digits_subset


@pytest.fixture(scope="session")
def digits_images():
    """The first 96 training digits, uint8 (96, 1, 8, 8)."""
    return digits_subset(96)


@pytest.fixture(autouse=True)
def _one_thread(_deterministic_threads):
    """Tiny models gain nothing from a second thread, and on a loaded 2-core machine
    OpenMP's spin-waiting between two threads costs more than the work itself."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
