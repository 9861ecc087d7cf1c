"""Pieces of the static step: tensor-weight EMA, tensor-lr update, pre-drawn mining,
tensor mined weight, one target forward for all views."""

from __future__ import annotations

import copy

import pytest
import torch

from mtneuro.acceleration import sync_free
from mtneuro.models import create_encoder
from mtneuro.ssl import MYOW, knn_mine, update_momentum
from mtneuro.ssl.momentum import TargetEMA
from mtneuro.ssl.optim import LARS, TensorLRUpdate, param_groups

HEADS = {"projector_hidden": 16, "projector_out": 8, "predictor_hidden": 16,
         "mined_projector_hidden": 16, "mined_out": 4}


def _myow(seed=0, **kwargs):
    torch.manual_seed(seed)
    return MYOW(create_encoder("resnet-tiny", widths=(4, 8)), **HEADS, **kwargs)


def _views(b=6, seed=1):
    g = torch.Generator().manual_seed(seed)
    return [torch.rand(b, 1, 8, 8, generator=g) for _ in range(3)]


def _perturbed_pair():
    online = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.BatchNorm1d(7))
    target = copy.deepcopy(online)
    with torch.no_grad():
        for p in online.parameters():
            p.add_(torch.randn_like(p))
    return online, target


@pytest.mark.parametrize("m", [0.0, 0.3, 0.996, 1.0])
def test_target_ema_equals_update_momentum(m):
    torch.manual_seed(0)
    online, target = _perturbed_pair()
    expected = copy.deepcopy(target)
    update_momentum(online, expected, m)
    TargetEMA([(online, target)])(torch.tensor(1.0 - m))
    for got, want in zip(target.parameters(), expected.parameters()):
        if m == 1.0:
            assert torch.equal(got, want)  # weight 0: the target does not move
        else:
            torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("kind", ["sgd", "sgd-no-decay", "lars"])
def test_tensor_lr_update_equals_the_optimiser_step(kind):
    torch.manual_seed(0)
    nn = torch.nn
    model = nn.Sequential(nn.Linear(6, 5), nn.BatchNorm1d(5), nn.Linear(5, 3)).double()
    twin = copy.deepcopy(model)
    wd = 0.0 if kind == "sgd-no-decay" else 1e-3
    if kind == "lars":
        eager, static = (LARS(param_groups(m, wd), lr=0.1, momentum=0.9) for m in (model, twin))
    else:
        eager, static = (torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, weight_decay=wd)
                         for m in (model, twin))
    update, lr = TensorLRUpdate(static), torch.zeros((), dtype=torch.float64)
    x = torch.randn(16, 6, dtype=torch.float64)
    for step, value in enumerate([0.1, 0.05, 0.2]):
        for net, opt in ((model, eager), (twin, static)):
            opt.zero_grad()
            net(x + step).pow(2).mean().backward()
        for group in eager.param_groups:
            group["lr"] = value
        eager.step()
        lr.fill_(value)
        update(lr)
    for got, want in zip(twin.parameters(), model.parameters()):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-14)
    for p, q in zip(twin.parameters(), model.parameters()):  # the state a checkpoint holds
        torch.testing.assert_close(static.state[p]["momentum_buffer"],
                                   eager.state[q]["momentum_buffer"], rtol=1e-12, atol=1e-14)


def test_tensor_lr_update_refuses_what_it_cannot_run():
    from mtneuro.errors import ConfigError

    model = torch.nn.Linear(3, 2)
    with pytest.raises(ConfigError, match="SGD or LARS"):
        TensorLRUpdate(torch.optim.AdamW(model.parameters()))
    with pytest.raises(ConfigError, match="nesterov"):
        TensorLRUpdate(torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True))


def test_predrawn_uniform_picks_what_the_generator_picks():
    g = torch.Generator().manual_seed(5)
    q, p = torch.randn(12, 4, generator=g), torch.randn(30, 4, generator=g)
    drawn = knn_mine(q, p, k=4, generator=torch.Generator().manual_seed(9))
    given = knn_mine(q, p, k=4, uniform=torch.rand(12, generator=torch.Generator().manual_seed(9)))
    assert torch.equal(drawn, given)
    with pytest.raises(ValueError, match="uniform: expected shape"):
        knn_mine(q, p, k=4, uniform=torch.rand(3))


def test_checks_assert_asynchronously_in_a_static_step():
    q = torch.randn(2, 3)
    everything = torch.ones(2, 2, dtype=torch.bool)
    with pytest.raises(ValueError, match="no admissible candidate"):
        knn_mine(q, q, k=1, exclude=everything)
    with sync_free(), pytest.raises(RuntimeError, match="no admissible candidate"):
        knn_mine(q, q, k=1, exclude=everything)  # torch._assert_async, no host read


@pytest.mark.parametrize("loss_mix", ["normalised", "convex", "add"])
def test_tensor_mined_weight_gives_the_float_result(loss_mix):
    method = _myow(loss_mix=loss_mix)
    a, b, pool = _views()
    kwargs = {"pool": pool, "generator": None, "uniform": torch.full((6,), 0.5)}
    as_float = method(a, b, mined_weight=0.3, **kwargs)["loss"]
    as_tensor = method(a, b, mined_weight=torch.tensor(0.3, dtype=torch.float64), **kwargs)["loss"]
    assert as_tensor.dtype == as_float.dtype and torch.equal(as_tensor, as_float)


def test_fused_target_views_change_only_the_batch_norm_statistics():
    a, b, pool = _views()
    u = torch.full((6,), 0.5)
    separate, fused = _myow(), _myow()
    # With the target's batch norms on running statistics, one forward of the
    # concatenation is the three forwards: same losses and mined views.
    for method in (separate, fused):
        method.target_encoder.eval()
        method.target_projector.eval()
    out_s = separate(a, b, pool=pool, mined_weight=0.1, uniform=u)
    out_f = fused(a, b, pool=pool, mined_weight=0.1, uniform=u, fuse_target_views=True)
    assert torch.equal(out_s["mined_index"], out_f["mined_index"])
    torch.testing.assert_close(out_f["loss"], out_s["loss"], rtol=1e-5, atol=1e-6)
    # In training mode (the trainer's), the statistics are those of the concatenation:
    # a different step, hence off by default (the MTNeuro protocol forwards each view).
    train_s, train_f = _myow(), _myow()
    out_s = train_s(a, b, pool=pool, mined_weight=0.1, uniform=u)
    out_f = train_f(a, b, pool=pool, mined_weight=0.1, uniform=u, fuse_target_views=True)
    assert not torch.allclose(out_f["byol_loss"], out_s["byol_loss"])
    bn = "stem.1.num_batches_tracked"
    states = (m.target_encoder.state_dict() for m in (train_s, train_f))
    assert [int(s[bn]) for s in states] == [3, 1]  # three forwards vs one
