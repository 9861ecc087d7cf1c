"""BYOL / MYOW / MYOW-merged on tiny encoders: losses, gradients, EMA and mining."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mtneuro.errors import ConfigError
from mtneuro.models import create_encoder
from mtneuro.ssl import BYOL, MYOW, create_method, normalized_mse

HEADS = {"projector_hidden": 16, "projector_out": 8, "predictor_hidden": 16}
MINED = {"mined_projector_hidden": 16, "mined_out": 4}


def _tiny_encoder(seed=0):
    torch.manual_seed(seed)
    return create_encoder("resnet-tiny", widths=(4, 8))


def _views(b=6, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, 1, 8, 8, generator=g), torch.rand(b, 1, 8, 8, generator=g)


def _trainable_grads_present(method):
    return all(p.grad is not None for p in method.parameters() if p.requires_grad)


def test_byol_forward_backward_and_symmetric_loss():
    method = BYOL(_tiny_encoder(), **HEADS)
    with torch.no_grad():  # online away from its target copy: a term reading the wrong one differs
        for p in method.online_encoder.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=torch.Generator().manual_seed(2)))
    a, b = _views()
    out = method(a, b)
    out["loss"].backward()
    assert set(out) == {"loss", "byol_loss"} and 0 <= out["loss"].item() <= 4
    assert _trainable_grads_present(method)
    assert all(p.grad is None and not p.requires_grad for p in method.target_encoder.parameters())
    with torch.no_grad():  # the same loss from the parts, by hand
        p_a = method.predictor(method.online_projector(method.online_encoder(a)))
        p_b = method.predictor(method.online_projector(method.online_encoder(b)))
        z_a = method.target_projector(method.target_encoder(a))
        z_b = method.target_projector(method.target_encoder(b))
        expected = 0.5 * (normalized_mse(p_a, z_b) + normalized_mse(p_b, z_a))
    assert out["byol_loss"].item() == pytest.approx(expected.item(), abs=1e-6)


def test_update_target_moves_every_ema_pair():
    method = MYOW(_tiny_encoder(), **HEADS, **MINED)
    with torch.no_grad():
        for p in method.parameters():
            if p.requires_grad:
                p.add_(1.0)
    method.update_target(0.0)
    for online, target in method.ema_pairs():
        assert all(torch.equal(o, t) for o, t in zip(online.parameters(), target.parameters()))
    assert len(method.ema_pairs()) == 3


@pytest.mark.parametrize("layout", ["cascaded", "merged"])
@pytest.mark.parametrize("use_pool", [False, True])
@pytest.mark.parametrize("mine_space", ["target", "online"])
def test_myow_forward_backward(layout, use_pool, mine_space):
    method = MYOW(_tiny_encoder(), **HEADS, **MINED, layout=layout, mine_space=mine_space, k=2)
    a, b = _views()
    pool = torch.rand(5, 1, 8, 8) if use_pool else None
    out = method(a, b, pool=pool, mined_weight=0.0, generator=torch.Generator().manual_seed(0))
    out["loss"].backward()
    assert set(out) == {"loss", "byol_loss", "mined_loss", "mined_index"}
    assert out["mined_index"].shape == (6,) and out["mined_index"].max() < (5 if use_pool else 6)
    if not use_pool:
        assert (out["mined_index"] != torch.arange(6)).all()
    # Every trainable parameter has a gradient even at weight 0 (DDP needs it).
    assert _trainable_grads_present(method)
    assert 0 <= out["mined_loss"].item() <= 4


MIXES = {
    # the MTNeuro image trainers: BYOL weighted 1 / (1 + w), the mined term w / (1 + w)
    "normalised": lambda byol, mined, w: (byol + w * mined) / (1 + w),
    "convex": lambda byol, mined, w: (1 - w) * byol + w * mined,
    "add": lambda byol, mined, w: byol + w * mined,
}


@pytest.mark.parametrize("w", [0.0, 0.3, 1.0])
@pytest.mark.parametrize("mix", list(MIXES))
def test_loss_mix(mix, w):
    method = MYOW(_tiny_encoder(), **HEADS, **MINED, loss_mix=mix)
    out = method(*_views(), mined_weight=w)
    byol, mined = out["byol_loss"].item(), out["mined_loss"].item()
    assert out["loss"].item() == pytest.approx(MIXES[mix](byol, mined, w), rel=1e-6)


@pytest.mark.parametrize(("mix", "expected"), [("normalised", 0.92), ("convex", 0.95),
                                               ("add", 1.15)])
def test_loss_mix_on_known_terms(mix, expected):
    # byol 0.8, mined 1.4, w 0.25: (0.8 + 0.35) / 1.25, 0.75 * 0.8 + 0.35, 0.8 + 0.35
    method = MYOW(_tiny_encoder(), **HEADS, **MINED, loss_mix=mix)
    loss = method._mix(torch.tensor(0.8), torch.tensor(1.4), 0.25)
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_the_default_loss_mix_is_the_mtneuro_images_one():
    from mtneuro.tasks.pretrain.config import make_config

    assert MYOW(_tiny_encoder(), **HEADS, **MINED).loss_mix == "normalised"
    assert make_config().loss_mix == make_config("quick").loss_mix == "normalised"


def test_merged_in_batch_mining_computes_what_a_gathered_run_does():
    """MYOW-merged forwards the mined raw views through the online network in one process,
    as under DDP (an identity gather takes that code path here): same loss, same BatchNorm
    running statistics, so a W-process run compares with a one-process one."""
    import copy

    method = MYOW(_tiny_encoder(), **HEADS, **MINED, layout="merged")
    gathered = copy.deepcopy(method)
    a, b = _views(8)
    u = torch.rand(8, generator=torch.Generator().manual_seed(2))
    plain = method(a, b, mined_weight=0.5, uniform=u)
    forced = gathered(a, b, mined_weight=0.5, uniform=u, gather=lambda t: t, rank=0)
    assert torch.equal(plain["mined_index"], forced["mined_index"])
    assert torch.equal(plain["loss"], forced["loss"])
    forced_state = gathered.state_dict()
    for name, value in method.state_dict().items():
        assert torch.equal(value, forced_state[name]), name


def test_monkey_reach_heads():
    enc = create_encoder("mlp", in_dim=30)
    method = MYOW(
        enc,
        projector_hidden=0,
        predictor_hidden=256,
        mined_projector_hidden=256,
        mined_out=32,
        k=5,
        loss_mix="convex",
    )
    assert isinstance(method.online_projector, nn.Identity)
    dims = lambda m: [
        (l.in_features, l.out_features) for l in m.modules() if isinstance(l, nn.Linear)
    ]
    assert dims(method.predictor) == [(64, 256), (256, 64)]
    assert dims(method.online_projector_m) == [(64, 256), (256, 32)]
    assert dims(method.predictor_m) == [(32, 256), (256, 32)]
    x = torch.randn(16, 30)
    method(x, x + 0.1 * torch.randn(16, 30), mined_weight=0.5)["loss"].backward()


class _FixedEncoder(nn.Module):
    """Identity map with an out_dim: mining then happens on the raw coordinates."""

    def __init__(self, dim):
        super().__init__()
        self.lin = nn.Linear(dim, dim)
        nn.init.eye_(self.lin.weight)
        nn.init.zeros_(self.lin.bias)
        self.out_dim = dim

    def forward(self, x):
        return self.lin(x)


def _clusters(n, seed):
    g = torch.Generator().manual_seed(seed)
    label = torch.arange(n) % 2
    centre = torch.tensor([[3.0, 3.0, 0.0, 0.0], [-3.0, -3.0, 0.0, 0.0]])[label]
    return centre + 0.5 * torch.randn(n, 4, generator=g), label


@pytest.mark.parametrize("layout", ["cascaded", "merged"])
def test_mined_views_come_from_the_same_cluster(layout):
    x, label = _clusters(32, 0)
    pool, pool_label = _clusters(40, 1)
    method = MYOW(_FixedEncoder(4), **HEADS, **MINED, layout=layout, k=3)
    g = torch.Generator().manual_seed(0)
    in_batch = method(x, x, generator=g)["mined_index"]
    assert (label[in_batch] == label).all()  # chance would be about 1/2
    pooled = method(x, x, pool=pool, generator=g)["mined_index"]
    assert (pool_label[pooled] == label).all()
    # Exclusions win over similarity: rows 0..3 may only pick from the other cluster.
    exclude = torch.zeros(32, 40, dtype=torch.bool)
    exclude[:4] = pool_label[None, :] == label[:4, None]
    forced = method(x, x, pool=pool, exclude=exclude, generator=g)["mined_index"]
    assert (pool_label[forced[:4]] != label[:4]).all() and (
        pool_label[forced[4:]] == label[4:]
    ).all()


def test_tiny_training_run_mines_within_clusters():
    torch.manual_seed(0)
    x, label = _clusters(64, 2)
    x = torch.cat([x, torch.randn(64, 12)], dim=1)  # 12 distracting noise dimensions
    method = MYOW(
        create_encoder("mlp", in_dim=16, hidden=[32], out_dim=16),
        projector_hidden=0,
        predictor_hidden=32,
        mined_projector_hidden=32,
        mined_out=8,
        k=2,
        loss_mix="convex",
    )
    opt = torch.optim.AdamW([p for p in method.parameters() if p.requires_grad], lr=1e-2)
    g = torch.Generator().manual_seed(0)
    rates = []
    for _ in range(30):
        a = x + 0.3 * torch.randn(x.shape, generator=g)
        b = x + 0.3 * torch.randn(x.shape, generator=g)
        out = method(a, b, mined_weight=0.5, generator=g)
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
        method.update_target(0.9)
        rates.append((label[out["mined_index"]] == label).float().mean().item())
    assert torch.isfinite(out["loss"])
    assert sum(rates[-10:]) / 10 > 0.9  # chance is 0.5


@pytest.mark.parametrize("layout", ["cascaded", "merged"])
def test_gathered_candidates_use_global_indices(layout):
    # A fake two-process gather where the other process holds the same samples: each
    # sample's nearest admissible candidate is its copy on the other process (i + B).
    x, _ = _clusters(8, 3)
    method = MYOW(_FixedEncoder(4), **HEADS, **MINED, layout=layout)
    out = method(x, x, gather=lambda t: torch.cat([t, t]), rank=0)
    assert torch.equal(out["mined_index"], torch.arange(8) + 8)
    out = method(x, x, gather=lambda t: torch.cat([t, t]), rank=1)
    assert torch.equal(out["mined_index"], torch.arange(8))
    out["loss"].backward()


def test_factory_and_bad_options():
    assert isinstance(create_method("byol", _tiny_encoder(), **HEADS), BYOL)
    merged = create_method("myow-merged", _tiny_encoder(), **HEADS, k=None)
    assert merged.layout == "merged" and merged.predictor_m is None
    with pytest.raises(ConfigError, match="valid: byol, myow, myow-merged"):
        create_method("simclr", _tiny_encoder())
    with pytest.raises(ConfigError, match="valid: cascaded, merged"):
        MYOW(_tiny_encoder(), **HEADS, layout="parallel")
    with pytest.raises(ConfigError, match="out_dim"):
        BYOL(nn.Linear(3, 3))
