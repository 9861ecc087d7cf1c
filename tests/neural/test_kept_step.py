"""The step kept on a flat validation score, and what the refit does with it."""

from types import SimpleNamespace

import numpy as np
import pytest

from mtneuro.tasks.neural import NeuralConfig, fit_neural
from mtneuro.tasks.neural import run as R
from mtneuro.tasks.neural import splits as S
from mtneuro.tasks.neural.config import resolve

FAST = {"steps": 30, "batch_size": 64, "warmup_steps": 2, "select_every": 5}


def _flat_scorer(angle_train, angle_val):
    """Every checkpoint scores the same: ties keep the earliest eligible one."""
    def score(f_train, f_val):
        return (0.5,), {"accuracy": 0.5}
    return score


@pytest.fixture
def flat_validation(monkeypatch):
    monkeypatch.setattr(R, "reach_scorer", _flat_scorer)


def test_a_flat_score_keeps_the_first_checkpoint_and_the_refit_stops_there(reach_slice,
                                                                          flat_validation):
    out = fit_neural(NeuralConfig(data=str(reach_slice), method="byol", refit=True, **FAST))
    assert [h["step"] for h in out.selection] == [5, 10, 15, 20, 25, 30]
    assert out.kept_step == 5 and out.metrics["selected_step"] == 5
    assert out.metrics["steps"] == 30
    assert out.curve[-1]["step"] == 4  # the refit trained 5 steps of the 30-step schedule


def test_myow_keeps_the_first_checkpoint_with_the_mined_loss_at_full_weight(reach_slice,
                                                                          flat_validation):
    """Mining starts at step 20 (half of 40) and ramps over 5 steps (weights 0.1-0.4 at
    steps 21-24): 25, the step at which the weight reaches full, is the first checkpoint
    that may be kept, so a flat score keeps 25 (not 20)."""
    config = NeuralConfig(data=str(reach_slice), method="myow", refit=False, mined_start=0.5,
                          mined_warmup_steps=5, **{**FAST, "steps": 40})
    out = fit_neural(config)
    assert out.kept_step == 25 and out.metrics["selected_step"] == 25


def test_pca_axes_come_from_training_bins_only():
    """Changing the test bins' rates changes no training or validation bin's PCA features."""
    rng = np.random.default_rng(0)
    trial = np.arange(200) // 10
    rates = rng.poisson(5.0, size=(200, 12)).astype(np.float64)
    rec = SimpleNamespace(rates=rates, trial=trial, kind="reach")
    split = S.trial_split(trial)
    config = resolve(NeuralConfig(data="x", method="pca", rep_dim=3), "reach")
    poisoned = rates.copy()
    poisoned[split["test"]] *= rng.uniform(0, 50, size=(len(split["test"]), 12))
    clean, *_ = R.learn_features(rec, split, config)
    bad, *_ = R.learn_features(SimpleNamespace(**{**vars(rec), "rates": poisoned}), split, config)
    seen = np.union1d(split["train"], split["val"])
    np.testing.assert_allclose(bad[seen], clean[seen], atol=1e-5)
    assert not np.allclose(bad[split["test"]], clean[split["test"]])


def test_pca_keeps_at_most_as_many_components_as_training_bins():
    from mtneuro.tasks.neural.baselines import pca_features

    rng = np.random.default_rng(1)
    z = rng.normal(size=(40, 12))
    assert pca_features(z, np.arange(5), 64).shape == (40, 5)
    assert pca_features(z, np.arange(30), 64).shape == (40, 12)
    assert pca_features(z, np.arange(30), 3).shape == (40, 3)


def test_pca_projects_on_the_exact_principal_axes_of_the_training_bins():
    """Against numpy's SVD, up to each axis's sign: sklearn's "auto" solver chose its
    randomized one for this shape (800 bins, 100 neurons, 64 axes) and missed the trailing
    axes of a flat spectrum."""
    from mtneuro.tasks.neural.baselines import pca_features

    rng = np.random.default_rng(0)
    z = rng.normal(size=(900, 100))
    train = np.arange(800)
    mean = z[train].mean(axis=0)
    _, _, axes = np.linalg.svd(z[train] - mean, full_matrices=False)
    expected = (z - mean) @ axes[:64].T
    got = pca_features(z, train, 64)
    np.testing.assert_allclose(np.abs(got), np.abs(expected), atol=1e-4)
