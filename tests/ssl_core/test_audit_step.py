"""Mutation audit of the shared training step: learning rate on every group, the
method's arguments passed through, optimiser before EMA, fresh gradients, the fp16
gradient scaler, detached loss terms."""

from __future__ import annotations

import pytest
import torch
from linear_encoder import LinearEncoder
from torch import nn

from mtneuro.ssl import MYOW, param_groups
from mtneuro.ssl.miner import knn_mine
from mtneuro.ssl.step import backward_step, loss_terms, ssl_step

HEADS = {"projector_hidden": 8, "projector_out": 4, "predictor_hidden": 8,
         "mined_projector_hidden": 8, "mined_out": 3, "batch_norm": False}


class _Wrapper(nn.Module):
    """Stands for a DDP wrapper: it forwards, but has no ``update_target``."""

    def __init__(self, method: nn.Module) -> None:
        super().__init__()
        self.module = method

    def forward(self, *args: object, **kwargs: object) -> dict[str, torch.Tensor]:
        return self.module(*args, **kwargs)


def _setup(k: int = 1) -> tuple[MYOW, torch.optim.Optimizer, list[torch.Tensor]]:
    torch.manual_seed(0)
    method = MYOW(LinearEncoder(), **HEADS, k=k)
    # Two groups (weights, biases) and a learning rate ssl_step must overwrite.
    opt = torch.optim.SGD(param_groups(method, 0.0), lr=7.0)
    g = torch.Generator().manual_seed(3)
    data = [torch.randn(6, 5, generator=g) for _ in range(3)]
    return method, opt, data


def test_ssl_step_sets_lr_steps_then_moves_the_target() -> None:
    method, opt, (a, b, pool) = _setup()
    before = {n: p.detach().clone() for n, p in method.named_parameters() if p.requires_grad}
    values = {"lr": 0.1, "momentum": 0.0, "mined_weight": 0.5}
    out = ssl_step(_Wrapper(method), opt, a, b, values, generator=None, pool=pool,
                   method=method)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.1]
    for name, p in method.named_parameters():  # plain SGD: w - lr * grad, every group
        if p.requires_grad:
            torch.testing.assert_close(p.detach(), before[name] - 0.1 * p.grad)
    # Momentum 0 copies the online weights as they are after the optimiser step.
    for online, target in method.ema_pairs():
        for o, t in zip(online.parameters(), target.parameters()):
            assert torch.equal(o, t)
    byol, mined = out["byol_loss"].item(), out["mined_loss"].item()
    assert out["loss"].item() == pytest.approx((byol + 0.5 * mined) / 1.5, rel=1e-6)


def test_ssl_step_passes_exclude_and_generator_on() -> None:
    method, opt, (a, b, pool) = _setup(k=3)
    exclude = torch.ones(6, 6, dtype=torch.bool)
    exclude[:, 4] = False  # one admissible candidate: pool entry 4
    values = {"lr": 0.0, "momentum": 1.0, "mined_weight": 0.0}
    out = ssl_step(method, opt, a, b, values, generator=None, pool=pool, exclude=exclude)
    assert out["mined_index"].tolist() == [4] * 6
    # The draw among the k = 3 nearest comes from the generator handed over.
    torch.manual_seed(123)
    out = ssl_step(method, opt, a, b, values, generator=torch.Generator().manual_seed(9),
                   pool=pool)
    with torch.no_grad():
        expected = knn_mine(method.online_encoder(a), method.target_encoder(pool), 3,
                            uniform=torch.rand(6, generator=torch.Generator().manual_seed(9)))
    assert torch.equal(out["mined_index"], expected)


def test_backward_step_starts_from_fresh_gradients() -> None:
    w = nn.Parameter(torch.tensor([1.0, 2.0]))
    opt = torch.optim.SGD([w], lr=0.5)
    w.grad = torch.full((2,), 100.0)  # stale, from an earlier step
    backward_step(opt, (w * torch.tensor([1.0, -1.0])).sum())
    assert w.grad.tolist() == [1.0, -1.0] and w.detach().tolist() == [0.5, 2.5]


def test_backward_step_unscales_and_updates_the_grad_scaler() -> None:
    w = nn.Parameter(torch.tensor([1.0, 2.0]))
    opt = torch.optim.SGD([w], lr=0.5)
    scaler = torch.amp.GradScaler("cpu", init_scale=4.0, growth_interval=1)
    backward_step(opt, (w * torch.tensor([1.0, -1.0])).sum(), scaler)
    assert w.detach().tolist() == [0.5, 2.5]  # the step of the unscaled gradient
    assert scaler.get_scale() == 8.0  # finite step: grown after growth_interval = 1


def test_loss_terms_are_the_detached_scalar_losses() -> None:
    method, _, (a, b, pool) = _setup()
    terms = loss_terms(method(a, b, pool=pool, mined_weight=0.5))
    assert sorted(terms) == ["byol_loss", "loss", "mined_loss"]
    assert not any(t.requires_grad for t in terms.values())
