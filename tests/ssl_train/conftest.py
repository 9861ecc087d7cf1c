"""Makes ``ssl_train_helpers`` importable (tests run with ``--import-mode=importlib``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from ssl_train_helpers import digits_subset  # noqa: E402


@pytest.fixture(scope="session")
def digits_images():
    """The first 96 training digits, uint8 (96, 1, 8, 8)."""
    return digits_subset(96)
