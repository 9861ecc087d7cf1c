"""Mutation audit (mut17) of a neural run's unused settings: every MYOW-only setting is
named unused with BYOL, mined_dim included."""

from __future__ import annotations

from mtneuro.tasks.neural.config import NeuralConfig
from mtneuro.tasks.neural.unused import unused_keys, unused_settings


def test_the_mined_head_size_is_unused_with_byol_and_used_with_myow() -> None:
    byol = NeuralConfig(data="x", method="byol", mined_dim=16)
    assert unused_settings(byol, "reach") == [
        "mined_dim not used: they are settings of MYOW's mining"]
    assert unused_keys(byol, "reach") == {"mined_dim"}
    assert unused_keys(NeuralConfig(data="x", method="myow", mined_dim=16), "reach") == set()
