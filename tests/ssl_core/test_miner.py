"""The kNN miner equals brute-force nearest neighbours and respects exclusions."""

from __future__ import annotations

import pytest
import torch

from mtneuro.ssl import knn_mine


def _brute_force_nn(query, pool, banned):
    out = []
    for i in range(query.shape[0]):
        best, best_j = -2.0, -1
        for j in range(pool.shape[0]):
            if banned[i, j]:
                continue
            c = torch.nn.functional.cosine_similarity(query[i], pool[j], dim=0).item()
            if c > best:
                best, best_j = c, j
        out.append(best_j)
    return torch.tensor(out)


def test_k1_equals_brute_force_with_exclusions():
    g = torch.Generator().manual_seed(0)
    query, pool = torch.randn(12, 5, generator=g), torch.randn(20, 5, generator=g)
    exclude = torch.rand(12, 20, generator=g) < 0.3
    got = knn_mine(query, pool, k=1, exclude=exclude, generator=g)
    assert torch.equal(got, _brute_force_nn(query, pool, exclude))
    assert torch.equal(
        knn_mine(query, pool, k=1),
        _brute_force_nn(query, pool, torch.zeros(12, 20, dtype=torch.bool)),
    )


def test_self_index_excludes_itself():
    x = torch.randn(10, 4)
    got = knn_mine(x, x, k=1, self_index=True)
    assert (got != torch.arange(10)).all()
    banned = torch.eye(10, dtype=torch.bool)
    assert torch.equal(got, _brute_force_nn(x, x, banned))
    # Explicit positions: query i sits at pool position i + 3.
    pool = torch.cat([torch.randn(3, 4), x])
    got = knn_mine(x, pool, k=1, self_index=torch.arange(10) + 3)
    assert (got != torch.arange(10) + 3).all()


def test_never_returns_an_excluded_index_and_draws_among_top_k():
    g = torch.Generator().manual_seed(1)
    query, pool = torch.randn(64, 8, generator=g), torch.randn(40, 8, generator=g)
    exclude = torch.rand(64, 40, generator=g) < 0.5
    sim = torch.nn.functional.normalize(query, dim=1) @ torch.nn.functional.normalize(pool, dim=1).T
    top3 = sim.masked_fill(exclude, -9).topk(3, dim=1).indices
    seen = torch.zeros(64, 3, dtype=torch.bool)
    for _ in range(30):
        got = knn_mine(query, pool, k=3, exclude=exclude, generator=g)
        assert not exclude[torch.arange(64), got].any()
        hit = top3 == got[:, None]
        assert hit.any(dim=1).all()
        seen |= hit
    assert seen.float().mean() > 0.95  # every one of the k neighbours gets drawn


def test_fewer_valid_candidates_than_k():
    query, pool = torch.randn(3, 4), torch.randn(6, 4)
    exclude = torch.ones(3, 6, dtype=torch.bool)
    exclude[0, 2] = False  # row 0: a single admissible candidate
    exclude[1, [1, 4]] = False  # row 1: two
    exclude[2, :] = False  # row 2: all
    for seed in range(10):
        got = knn_mine(
            query, pool, k=5, exclude=exclude, generator=torch.Generator().manual_seed(seed)
        )
        assert got[0] == 2 and got[1] in (1, 4)


def test_row_without_candidates_is_an_error():
    exclude = torch.zeros(3, 4, dtype=torch.bool)
    exclude[1] = True
    with pytest.raises(ValueError, match=r"queries \[1\] have no admissible candidate"):
        knn_mine(torch.randn(3, 2), torch.randn(4, 2), k=1, exclude=exclude)


def test_deterministic_per_generator():
    query, pool = torch.randn(16, 4), torch.randn(30, 4)
    a = knn_mine(query, pool, k=4, generator=torch.Generator().manual_seed(7))
    b = knn_mine(query, pool, k=4, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, b)


def test_bad_self_index_is_an_error():
    x = torch.randn(4, 3)
    with pytest.raises(ValueError, match=r"indices in \[0, 4\)"):
        knn_mine(x, x, k=1, self_index=torch.tensor([0, 1, 2, 4]))
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        knn_mine(x, x, k=1, self_index=torch.tensor([0, 1]))
