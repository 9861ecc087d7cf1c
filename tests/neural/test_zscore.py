"""One z-scoring of rates for every encoder: learned and user-supplied encoders see their
input scaled alike (ddof 1, the MYOW reference's ``x.std(dim=0)``), from learning bins only."""

import numpy as np
import pytest
import torch
from torch import nn

from mtneuro.data.neural import load_recording
from mtneuro.ssl.augment.neural import zscore_statistics
from mtneuro.tasks.neural import NeuralConfig, fit_neural
from mtneuro.tasks.neural import run as R
from mtneuro.tasks.neural import splits as S
from mtneuro.tasks.neural.config import resolve
from mtneuro.tasks.neural.run import encoder_features, learn_features, make_augment, zscore_rates


def test_statistics_are_the_reference_sample_std():
    """myow-neuro's ``get_mean_std`` is torch's ``x.std(dim=0)``: Bessel-corrected."""
    rates = torch.tensor([[1.0, 5.0], [3.0, 5.0], [8.0, 5.0]])
    mean, std = zscore_statistics(rates)
    np.testing.assert_allclose(mean.numpy(), [4.0, 5.0])
    np.testing.assert_allclose(std.numpy(), [np.std([1.0, 3.0, 8.0], ddof=1), 0.0], rtol=1e-6)


@pytest.mark.parametrize("refit", [False, True])
def test_a_user_encoder_gets_the_input_a_learned_encoder_gets(reach_slice, refit):
    """An identity user encoder's features are the raw method's (the learned path's z-scores)
    exactly, on the neurons the learned path keeps; the others are 0."""
    rec = load_recording(str(reach_slice))
    split = S.trial_split(rec.trial)
    config = resolve(NeuralConfig(data=str(reach_slice), method="raw"), "reach")
    learned, _, spec, _ = learn_features(rec, split, config, refit=refit)
    given, _ = encoder_features(rec, split, nn.Identity(), refit=refit)
    live = np.asarray(spec["live_neurons"])
    np.testing.assert_array_equal(given[:, live], learned)
    assert not np.delete(given, live, axis=1).any()
    bins = S.learning_bins(split, refit)
    np.testing.assert_allclose(given[bins][:, live].std(axis=0, ddof=1), 1.0, rtol=1e-5)
    augment = make_augment(rec.rates[bins][:, live], config)  # the training views' z-scoring
    np.testing.assert_array_equal(augment.normalize(torch.from_numpy(rec.rates[:, live])), learned)


def test_statistics_come_from_the_given_bins_only():
    """Rates outside ``bins`` (test bins) change nothing of the bins' own z-scores."""
    rng = np.random.default_rng(0)
    rates = rng.poisson(5.0, (50, 4)).astype(np.float32)
    rates[:, 3] = 0.0
    rates[40:, 3] = 7.0  # silent in the bins, firing outside: 0, not a huge z-score
    bins = np.arange(40)
    poisoned = rates.copy()
    poisoned[40:, :3] = 1e6
    z, z_poisoned = zscore_rates(rates, bins), zscore_rates(poisoned, bins)
    torch.testing.assert_close(z[:40], z_poisoned[:40], rtol=0, atol=0)
    assert torch.all(z[:, 3] == 0)


@pytest.mark.parametrize("refit", [False, True])
def test_a_refit_rescales_a_user_encoder_input_as_it_does_raw_rates(reach_slice, monkeypatch,
                                                                    refit):
    """With ``refit`` the readout is refitted on training + validation bins; a user encoder's
    input is then z-scored from those bins, as the raw rates and a retrained encoder's are."""
    calls = []
    real = R.encoder_features

    def recording(rec, split, encoder, *, refit=False):
        calls.append(refit)
        return real(rec, split, encoder, refit=refit)

    monkeypatch.setattr(R, "encoder_features", recording)
    fit_neural(NeuralConfig(data=str(reach_slice), refit=refit), encoder=nn.Identity())
    assert calls == ([False, True] if refit else [False])
