"""Mutation audit of the kNN miner: known answers for the draw, the cap on k, banned
entries and argument checks that the brute-force tests do not pin down."""

from __future__ import annotations

import pytest
import torch

from mtneuro.ssl import knn_mine

# Cosines with the query [1, 0]: 1.0 (index 0), 0.6 (index 1), -1.0 (index 2).
QUERY = torch.tensor([[1.0, 0.0]])
POOL = torch.tensor([[2.0, 0.0], [0.6, 0.8], [-3.0, 0.0]])


@pytest.mark.parametrize(("u", "rank"), [(0.0, 0), (0.34, 1), (0.5, 1), (0.9, 2), (0.999, 2)])
def test_the_draw_maps_u_to_the_floor_u_k_th_neighbour(u: float, rank: int) -> None:
    # k equal to the pool size: every candidate is drawable, ranked by cosine, and
    # u in [i/k, (i+1)/k) picks rank i (floor(u * k)).
    got = knn_mine(QUERY, POOL, k=3, uniform=torch.tensor([u]))
    assert got.tolist() == [rank]


def test_k_above_the_pool_size_draws_among_the_whole_pool() -> None:
    got = knn_mine(QUERY, POOL, k=10, uniform=torch.tensor([0.99]))
    assert got.tolist() == [2]


def test_an_opposite_candidate_beats_a_banned_one() -> None:
    # Cosine -1 is the lowest admissible similarity; a banned entry must rank below it
    # even when its own cosine is the highest (index 0 here).
    pool = torch.tensor([[5.0, 0.0], [-1.0, 0.0]])
    exclude = torch.tensor([[True, False]])
    for u in (0.0, 0.5, 0.99):
        got = knn_mine(QUERY, pool, k=2, exclude=exclude, uniform=torch.tensor([u]))
        assert got.tolist() == [1]


def test_low_precision_inputs_are_ranked_in_float32() -> None:
    # In bfloat16 all three candidates normalise to cosine 1.0 with the query (a tie);
    # in float32 the smallest angle (index 2, slope 0.04) is the nearest.
    pool = torch.tensor([[1.0, 0.06], [1.0, 0.05], [1.0, 0.04]], dtype=torch.bfloat16)
    got = knn_mine(QUERY.bfloat16(), pool, k=1)
    assert got.tolist() == [2]


def test_feature_size_mismatch_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(4, 5\)"):
        knn_mine(torch.randn(2, 3), torch.randn(4, 5), k=1)


@pytest.mark.parametrize("k", [0, -1])
def test_k_below_one_is_refused(k: int) -> None:
    with pytest.raises(ValueError, match=r"k: expected int >= 1"):
        knn_mine(QUERY, POOL, k=k)
