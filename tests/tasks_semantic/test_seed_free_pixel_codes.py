"""Task 3 fits a pixel decomposition once for every seed only where no seed changes it
(PCA by an exact SVD), and seeds that embed alike share the probe's fits: the same numbers
as fitting each seed on its own (perf audit: 3 seeds of the quick PCA run fitted 3 times)."""

from __future__ import annotations

import numpy as np
import pytest

from mtneuro.tasks.baselines import EXACT_PCA_LIMIT, PixelDecomposition
from mtneuro.tasks.registry import get_task

IMAGES = np.random.default_rng(0).random((40, 1, 12, 12)).astype(np.float32)


@pytest.mark.parametrize("method", ["pca", "nmf"])
def test_uses_seed_says_whether_two_seeds_fit_different_codes(method):
    fits = [PixelDecomposition(method, 8, seed=seed, max_iter=50).fit(IMAGES) for seed in (0, 1)]
    same = np.array_equal(fits[0].transform(IMAGES), fits[1].transform(IMAGES))
    assert fits[0].uses_seed(40, 144) is (not same)
    assert fits[0].uses_seed(40, 144) is (method == "nmf")
    big = EXACT_PCA_LIMIT + 1  # the randomized solver draws from the seed
    assert PixelDecomposition("pca", 8).uses_seed(big, big)


@pytest.mark.parametrize(("method", "seeds_agree"), [("pca", True), ("nmf", False)])
def test_every_seed_scores_as_when_fitted_alone(method, seeds_agree):
    task = get_task("task3")
    together = task.execute(task.make_config("quick", {"method": method, "seeds": [0, 1]}))
    alone = task.execute(task.make_config("quick", {"method": method, "seeds": [1]}))
    per_seed = together.metrics["per_seed"]
    assert per_seed[1]["r2_test"] == alone.metrics["per_seed"][0]["r2_test"]
    assert (per_seed[0]["r2_test"] == per_seed[1]["r2_test"]) is seeds_agree
