"""Mutation audit of BYOL / MYOW: every loss term and mined index recomputed by hand from
the named sub-modules, with the online network moved away from its target copy.

Right after construction the target is an exact copy of the online network, so a term
that reads the wrong one of the two gives the same numbers; the tests below first move
the online weights, then check which network each term reads.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from linear_encoder import LinearEncoder
from torch import nn

from mtneuro.ssl import BYOL, MYOW, normalized_mse

# Linear heads (no BatchNorm): every forward is a plain function of the weights.
HEADS = {"projector_hidden": 8, "projector_out": 4, "predictor_hidden": 8,
         "batch_norm": False}
MINED = {"mined_projector_hidden": 8, "mined_out": 3}


def _moved(method: nn.Module, seed: int = 1) -> nn.Module:
    """Shift every trainable (online) weight so online and target networks differ."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in method.parameters():
            if p.requires_grad:
                p.add_(0.5 * torch.randn(p.shape, generator=g))
    return method


def _myow(**kwargs: object) -> MYOW:
    torch.manual_seed(0)
    return _moved(MYOW(LinearEncoder(), **HEADS, **MINED, **kwargs))


def _data(b: int = 6, p: int = 7) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(3)
    return (torch.randn(b, 5, generator=g), torch.randn(b, 5, generator=g),
            torch.randn(p, 5, generator=g))


def _nearest(query: torch.Tensor, cand: torch.Tensor,
             banned: torch.Tensor | None = None) -> torch.Tensor:
    sim = F.normalize(query, dim=1) @ F.normalize(cand, dim=1).T
    if banned is not None:
        sim = sim.masked_fill(banned, -9.0)
    return sim.argmax(dim=1)


@pytest.mark.parametrize("mine_space", ["target", "online"])
def test_cascaded_pool_mining_and_mined_loss_by_hand(mine_space: str) -> None:
    method = _myow(layout="cascaded", mine_space=mine_space)
    a, b, pool = _data()
    out = method(a, b, pool=pool, mined_weight=0.5)
    with torch.no_grad():
        query = method.online_encoder(a)
        target_pool = method.target_encoder(pool)
        online_pool = method.online_encoder(pool)
        by_target, by_online = _nearest(query, target_pool), _nearest(query, online_pool)
        assert not torch.equal(by_target, by_online)  # the two spaces rank differently
        index = by_target if mine_space == "target" else by_online
        z_a = method.online_projector(query)
        q_m = method.predictor_m(method.online_projector_m(z_a))
        v_m = method.target_projector_m(method.target_projector(target_pool[index]))
        mined = normalized_mse(q_m, v_m)
    assert torch.equal(out["mined_index"], index)
    assert out["mined_loss"].item() == pytest.approx(mined.item(), rel=1e-6)


@pytest.mark.parametrize("gathered", [False, True])
@pytest.mark.parametrize("mine_space", ["target", "online"])
def test_in_batch_mining_searches_view_b_without_itself(mine_space: str, gathered: bool) -> None:
    method = _myow(mine_space=mine_space)
    a, b, _ = _data()
    # An identity gather takes the multi-process path with the one-process answer.
    out = method(a, b, gather=(lambda t: t) if gathered else None)
    with torch.no_grad():
        query = method.online_encoder(a)
        encoder = method.target_encoder if mine_space == "target" else method.online_encoder
        expected = _nearest(query, encoder(b), torch.eye(6, dtype=torch.bool))
        # Neither the other space nor view a would give the same neighbours here.
        other = method.online_encoder if mine_space == "target" else method.target_encoder
        assert not torch.equal(expected, _nearest(query, other(b), torch.eye(6, dtype=bool)))
        assert not torch.equal(expected, _nearest(query, encoder(a), torch.eye(6, dtype=bool)))
    assert torch.equal(out["mined_index"], expected)


def test_merged_mined_loss_by_hand() -> None:
    method = _myow(layout="merged")
    a, b, pool = _data()
    out = method(a, b, pool=pool, mined_weight=0.5)
    with torch.no_grad():
        query = method.online_encoder(a)
        target_pool = method.target_encoder(pool)
        index = _nearest(query, target_pool)
        p_a = method.predictor(method.online_projector(query))
        tz_a = method.target_projector(method.target_encoder(a))
        tz_mined = method.target_projector(target_pool[index])
        p_mined = method.predictor(method.online_projector(method.online_encoder(pool[index])))
        mined = 0.5 * (normalized_mse(p_a, tz_mined) + normalized_mse(p_mined, tz_a))
    assert torch.equal(out["mined_index"], index)
    assert out["mined_loss"].item() == pytest.approx(mined.item(), rel=1e-6)


def test_k_neighbours_and_the_given_draw_are_used() -> None:
    # k = 3 and u = 0.9: the third nearest pool entry (floor(0.9 * 3) = 2).
    method = _myow(k=3)
    a, b, pool = _data()
    out = method(a, b, pool=pool, uniform=torch.full((6,), 0.9))
    with torch.no_grad():
        sim = F.normalize(method.online_encoder(a), dim=1) @ F.normalize(
            method.target_encoder(pool), dim=1).T
    assert torch.equal(out["mined_index"], sim.topk(3, dim=1).indices[:, 2])


def test_update_target_moves_the_target_and_leaves_the_online_network() -> None:
    method = _myow()
    online_before = [p.clone() for p in method.parameters() if p.requires_grad]
    pairs = method.ema_pairs()
    expected = [[(o + t) / 2 for o, t in zip(on.parameters(), tg.parameters())]
                for on, tg in pairs]
    method.update_target(0.5)
    assert all(torch.equal(p, q) for p, q in
               zip([p for p in method.parameters() if p.requires_grad], online_before))
    for (_, target), want in zip(pairs, expected):
        for got, w in zip(target.parameters(), want):
            torch.testing.assert_close(got, w)


@pytest.mark.parametrize("layout", ["cascaded", "merged"])
def test_reported_terms_are_detached(layout: str) -> None:
    a, b, pool = _data()
    out = _myow(layout=layout)(a, b, pool=pool, mined_weight=0.5)
    assert out["loss"].requires_grad
    assert not out["byol_loss"].requires_grad and not out["mined_loss"].requires_grad
    torch.manual_seed(0)
    byol_out = BYOL(LinearEncoder(), **HEADS)(a, b)
    assert byol_out["loss"].requires_grad and not byol_out["byol_loss"].requires_grad


def test_mined_predictor_hidden_sets_the_second_predictor_width() -> None:
    method = MYOW(LinearEncoder(), **HEADS, mined_projector_hidden=8, mined_out=3,
                  mined_predictor_hidden=12)
    widths = [(m.in_features, m.out_features) for m in method.predictor_m.modules()
              if isinstance(m, nn.Linear)]
    assert widths == [(3, 12), (12, 3)]


def test_batch_norm_false_builds_heads_without_batch_norm() -> None:
    method = MYOW(LinearEncoder(), **HEADS, **MINED)
    with_bn = MYOW(LinearEncoder(), **{**HEADS, "batch_norm": True}, **MINED)
    heads = ("online_projector", "predictor", "online_projector_m", "predictor_m")
    for name in heads:
        assert not any(isinstance(m, nn.BatchNorm1d) for m in getattr(method, name).modules())
        assert any(isinstance(m, nn.BatchNorm1d) for m in getattr(with_bn, name).modules())


@pytest.mark.parametrize("k", [0, -2])
def test_myow_refuses_k_below_one(k: int) -> None:
    with pytest.raises(ValueError, match=r"MYOW k: expected int >= 1"):
        MYOW(LinearEncoder(), **HEADS, **MINED, k=k)
