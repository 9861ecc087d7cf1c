"""Step counts from epochs, and the mining-exclusion window's edge."""

import numpy as np
import torch

from mtneuro.tasks.neural.config import NeuralConfig, resolve
from mtneuro.tasks.neural.run import make_augment
from mtneuro.tasks.neural.train import ViewSampler, total_steps


def test_an_epoch_counts_a_partial_last_batch_as_a_step():
    config = resolve(NeuralConfig(data="x", method="byol", epochs=3, batch_size=64), "reach")
    assert total_steps(config, 130) == 9  # ceil(130 / 64) = 3 steps per pass
    assert total_steps(config, 128) == 6
    assert total_steps(config, 20) == 3  # batch capped at the 20 bins: one step per pass


def test_a_numeric_exclusion_window_includes_its_edge():
    """``mine_exclude="150"``: a candidate exactly 150 recorded bins away is excluded, 151
    is not."""
    config = resolve(NeuralConfig(data="x", method="myow"), "sleep")
    rates = torch.ones(400, 3)
    zeros = torch.zeros(400, dtype=torch.long)
    sampler = ViewSampler(rates, zeros, zeros, make_augment(rates.numpy(), config), 3, "150")
    mask = sampler.exclusion(torch.tensor([0]), torch.tensor([150, 151, 1]))
    assert mask.tolist() == [[True, False, True]]
    mask = sampler.exclusion(torch.tensor([399]), torch.tensor([249, 248]))
    assert mask.tolist() == [[True, False]]



def test_a_numeric_exclusion_window_spares_other_trials():
    """A number of bins excludes only the anchor's own trial's close bins: a bin of the
    next trial one recorded bin away stays minable."""
    config = resolve(NeuralConfig(data="x", method="myow"), "sleep")
    rates = torch.ones(10, 3)
    trial = torch.tensor([0] * 5 + [1] * 5)
    sampler = ViewSampler(rates, trial, trial, make_augment(rates.numpy(), config), 3, "3")
    mask = sampler.exclusion(torch.tensor([4]), torch.tensor([5, 3, 1, 0]))
    assert mask.tolist() == [[False, True, True, False]]

def test_myow_mined_weight_is_zero_for_the_first_mined_start_fraction_then_ramps():
    from mtneuro.tasks.neural.train import schedule

    config = resolve(NeuralConfig(data="x", method="myow", steps=40, mined_start=0.5,
                                  mined_warmup_steps=5, mined_weight=0.5), "reach")
    weights = [schedule(step, 40, config)["mined_weight"] for step in range(40)]
    assert weights[:21] == [0.0] * 21  # BYOL only up to step 20 (the ramp starts at 0 there)
    np.testing.assert_allclose(weights[21:26], [0.1, 0.2, 0.3, 0.4, 0.5])
    assert weights[26:] == [0.5] * 14
