"""Mutation audit of the optimisers: LARS and the tensor-lr update at their edges (zero
norms, parameters without gradient, gradients left untouched), argument checks, the
options the static update refuses, and the momentum build_optimizer passes on."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mtneuro.errors import ConfigError
from mtneuro.ssl import LARS, build_optimizer, param_groups
from mtneuro.ssl.optim import TensorLRUpdate


def _lars(params: list[nn.Parameter], **kwargs: float) -> LARS:
    return LARS([{"params": params, "weight_decay": 0.0, "lars_exclude": False}],
                lr=0.5, momentum=0.9, eta=0.1, **kwargs)


def _lars_and_update(params: list[nn.Parameter]) -> list[tuple[str, object]]:
    """The eager LARS step and the tensor-lr update of a twin optimiser, as two steppers."""
    return [("eager", _lars(params).step),
            ("static", lambda: TensorLRUpdate(_lars(params))(torch.tensor(0.5)))]


@pytest.mark.parametrize("kind", ["eager", "static"])
def test_lars_zero_weight_takes_a_plain_step(kind: str) -> None:
    # ||w|| = 0: the trust ratio would be 0 and freeze the weight; it is 1 instead.
    w = nn.Parameter(torch.zeros(2))
    w.grad = torch.tensor([1.0, -2.0])
    dict(_lars_and_update([w]))[kind]()
    assert w.detach().tolist() == [-0.5, 1.0]


@pytest.mark.parametrize("kind", ["eager", "static"])
def test_lars_zero_gradient_leaves_the_weight_finite_and_still(kind: str) -> None:
    w = nn.Parameter(torch.tensor([3.0, 4.0]))
    w.grad = torch.zeros(2)
    dict(_lars_and_update([w]))[kind]()
    assert w.detach().tolist() == [3.0, 4.0]


@pytest.mark.parametrize("kind", ["eager", "static"])
def test_lars_leaves_gradients_untouched(kind: str) -> None:
    # No weight decay: the update direction must be a copy, not the gradient itself
    # scaled in place by the trust ratio (0.1 * 5 / 5 = 0.1 here).
    w = nn.Parameter(torch.tensor([3.0, 4.0]))
    w.grad = torch.tensor([0.0, 5.0])
    dict(_lars_and_update([w]))[kind]()
    assert w.grad.tolist() == [0.0, 5.0]
    torch.testing.assert_close(w.detach(), torch.tensor([3.0, 4.0 - 0.5 * 0.5]))


@pytest.mark.parametrize("kind", ["eager", "static"])
def test_parameters_without_gradient_are_skipped(kind: str) -> None:
    w, frozen = nn.Parameter(torch.tensor([3.0, 4.0])), nn.Parameter(torch.tensor([1.0]))
    w.grad = torch.tensor([0.0, 5.0])
    dict(_lars_and_update([w, frozen]))[kind]()
    assert frozen.item() == 1.0


def test_lars_refuses_bad_arguments() -> None:
    w = [nn.Parameter(torch.ones(2))]
    with pytest.raises(ValueError, match="eta=0"):
        LARS(w, lr=0.1, eta=0.0)
    with pytest.raises(ValueError, match="lr=-0.1"):
        LARS(w, lr=-0.1)


@pytest.mark.parametrize(("option", "needle"), [({"dampening": 0.1}, "dampening"),
                                                ({"maximize": True}, "maximize")])
def test_tensor_lr_update_refuses_other_sgd_variants(option: dict, needle: str) -> None:
    sgd = torch.optim.SGD(nn.Linear(2, 1).parameters(), lr=0.1, momentum=0.9, **option)
    with pytest.raises(ConfigError, match=needle):
        TensorLRUpdate(sgd)


def test_tensor_lr_update_makes_the_momentum_buffers_at_construction() -> None:
    # Made now, not inside the first (compiled or captured) update.
    model = nn.Linear(2, 1)
    sgd = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    TensorLRUpdate(sgd)
    for p in model.parameters():
        assert torch.equal(sgd.state[p]["momentum_buffer"], torch.zeros_like(p))


def test_param_groups_drop_an_empty_group() -> None:
    groups = param_groups(nn.BatchNorm1d(3), 1e-4)  # only ndim-1 parameters
    assert len(groups) == 1 and groups[0]["weight_decay"] == 0.0


@pytest.mark.parametrize("name", ["sgd", "lars"])
def test_build_optimizer_passes_the_momentum_on(name: str) -> None:
    opt = build_optimizer(name, nn.Linear(2, 2), 0.1, 1e-4, momentum=0.5)
    assert [g["momentum"] for g in opt.param_groups] == [0.5, 0.5]
