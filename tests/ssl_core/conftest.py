"""ssl_core tests use one intra-op thread.

The models here are tiny, so a second thread buys nothing, and on a shared 2-core
machine OpenMP threads spin-waiting on each other made a ResNet-18 forward on an 8x8
input take seconds instead of milliseconds.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    yield
