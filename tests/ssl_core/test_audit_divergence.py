"""Mutation audit of the divergence guard: the float32 overflow rule for any parameter
dtype, the running level as a median, the jump threshold and what gets recorded."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mtneuro.errors import TrainingError
from mtneuro.ssl.divergence import LOSS_JUMP, DivergenceGuard, first_unusable

SANE = nn.Linear(2, 1)


def _check(guard: DivergenceGuard, loss: float) -> None:
    guard.check(SANE, None, loss, "step", lambda: "kept")


def test_a_double_parameter_overflowing_float32_is_unusable() -> None:
    # 1e25 squared is finite in float64 but not in float32, the precision it runs at.
    model = nn.Linear(2, 1).double()
    with torch.no_grad():
        model.weight[0, 0] = 1e25
    assert "weight has magnitude 1e+25" in first_unusable(model)


def test_a_model_without_tensors_is_usable() -> None:
    assert first_unusable(nn.ReLU()) is None


def test_the_running_level_is_the_median() -> None:
    guard = DivergenceGuard(loss_jump=100)
    for loss in (1.0, 1.0, 10.0):  # median 1, mean 4
        _check(guard, loss)
    with pytest.raises(TrainingError, match=r"running level 1;"):
        _check(guard, 150.0)


def test_the_jump_threshold_is_strict_and_defaults_to_100() -> None:
    assert LOSS_JUMP == 100.0
    guard = DivergenceGuard()
    _check(guard, 1.0)
    _check(guard, 100.0)  # exactly 100 times the level: not a jump
    guard = DivergenceGuard()
    _check(guard, 1.0)
    with pytest.raises(TrainingError, match="over 100 times"):
        _check(guard, 101.0)


def test_a_zero_level_flags_nothing_and_nan_losses_are_not_recorded() -> None:
    guard = DivergenceGuard()
    _check(guard, 0.0)
    _check(guard, 0.5)  # level 0: no ratio to judge by
    _check(guard, float("nan"))
    assert guard.losses == [0.0, 0.5]


def test_complex_tensors_are_checked() -> None:
    model = nn.Module()
    model.register_buffer("phase", torch.tensor([1 + 0j, complex(float("nan"), 0.0)]))
    assert first_unusable(model) == "phase holds non-finite values"


@pytest.mark.parametrize("imaginary", [float("inf"), 1e25])
def test_a_complex_parameter_is_judged_by_its_modulus(imaginary):
    """A non-finite or huge imaginary part makes the state unusable, as a real one does."""
    model = torch.nn.Module()
    model.w = torch.nn.Parameter(torch.tensor([1 + 0j, complex(0.0, imaginary)]))
    problem = first_unusable(model)
    assert problem is not None and problem.startswith("w ")
