"""Finite float32 rates of any size z-score to finite values: the z-scoring statistics are
taken in float64 (float32 sums and squares overflowed from ~1e36 / ~1.8e19 Hz), and what
still cannot be a float32 z-score is refused naming the recording and its neurons."""

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from mtneuro.data.neural import load_recording
from mtneuro.errors import DataError
from mtneuro.tasks.neural import NeuralConfig, fit_neural
from mtneuro.tasks.neural import splits as S
from mtneuro.tasks.neural.config import resolve
from mtneuro.tasks.neural.frozen import encoder_features, zscore_rates
from mtneuro.tasks.neural.run import learn_features

#: Chewie's largest rate is 190 Hz: times this, 1.9e38, still a finite float32.
SCALE = np.float32(1e36)


def _edited(reach_slice, tmp_path, edit) -> str:
    """``reach_slice`` with ``edit`` applied to its firing_rates, as a new recording."""
    with np.load(reach_slice) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["firing_rates"] = edit(arrays["firing_rates"].astype(np.float32))
    assert np.isfinite(arrays["firing_rates"]).all()
    path = tmp_path / "edited-bin0.10.npz"
    np.savez(path, **arrays)
    return str(path)


def _raw_z(data: str) -> tuple[np.ndarray, list]:
    rec = load_recording(data)
    config = resolve(NeuralConfig(data=data, method="raw"), "reach")
    z, _, spec, _ = learn_features(rec, S.trial_split(rec.trial), config)
    return z, spec["live_neurons"]


def test_a_recording_scaled_by_a_constant_z_scores_as_the_original(reach_slice, tmp_path):
    z, live = _raw_z(str(reach_slice))
    z_scaled, live_scaled = _raw_z(_edited(reach_slice, tmp_path, lambda r: r * SCALE))
    assert live_scaled == live
    np.testing.assert_allclose(z_scaled, z, rtol=0, atol=1e-4)


@pytest.mark.parametrize("method", ["raw", "pca"])
def test_raw_and_pca_on_a_scaled_recording_score_as_on_the_original(reach_slice, tmp_path,
                                                                      method):
    """Same features up to float rounding: the same readout, the same accuracy."""
    scaled = _edited(reach_slice, tmp_path, lambda r: r * SCALE)
    original = fit_neural(NeuralConfig(data=str(reach_slice), method=method)).metrics
    metrics = fit_neural(NeuralConfig(data=scaled, method=method)).metrics
    for key in ("accuracy", "delta_accuracy"):
        assert metrics[key] == pytest.approx(original[key], abs=1.5 / metrics["n_test"])


def test_a_user_encoder_reads_a_scaled_recording_as_the_original(reach_slice, tmp_path):
    rec = load_recording(str(reach_slice))
    bins = S.trial_split(rec.trial)["train"]
    z = zscore_rates(rec.rates, bins)
    z_scaled = zscore_rates(rec.rates * SCALE, bins)
    torch.testing.assert_close(z_scaled, z, rtol=0, atol=1e-4)


def test_one_huge_rate_is_z_scored_without_numpy_warnings(reach_slice, tmp_path):
    """A single 3e38 Hz value is valid float32: its neuron is kept with a finite std, and
    nothing NumPy computes overflows (no RuntimeWarning lines on stderr)."""
    def one_huge(rates):
        rates[3, 5] = 3e38
        return rates

    data = _edited(reach_slice, tmp_path, one_huge)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        outcome = fit_neural(NeuralConfig(data=data, method="raw"))
    assert 5 in outcome.input_spec["live_neurons"]
    assert np.isfinite(outcome.input_spec["std"]).all()
    assert np.isfinite(outcome.metrics["accuracy"])


def _overflowing(rates):
    """Neuron 4 at -3.4e38 Hz except in a tenth of the bins, at +3.4e38: its mean is about
    -2.7e38, so those bins lie 6.1e38 Hz from it, past float32 whatever the std."""
    rates[:, 4] = -3.4e38
    rates[::10, 4] = 3.4e38
    return rates


@pytest.mark.parametrize("method", ["raw", "supervised"])
def test_z_scores_past_float32_are_refused_naming_the_recording_and_neuron(
        reach_slice, tmp_path, method):
    """One DataError line, not a traceback from PCA / the SVD, nor a NaN loss blamed on
    the learning rate."""
    data = _edited(reach_slice, tmp_path, _overflowing)
    with pytest.raises(DataError, match=r"edited-bin0\.10: .*neuron\(s\) 4 .*rescale"):
        fit_neural(NeuralConfig(data=data, method=method,
                                **({"steps": 2} if method == "supervised" else {})))


def test_a_user_encoder_given_z_scores_past_float32_is_refused_naming_the_neuron(
        reach_slice, tmp_path):
    rec = load_recording(_edited(reach_slice, tmp_path, _overflowing))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(DataError, match=r"edited-bin0\.10: .*neuron\(s\) 4 "):
            encoder_features(rec, S.trial_split(rec.trial), nn.Identity())


def test_a_saved_encoder_fed_z_scores_past_float32_is_refused_without_numpy_warnings(
        reach_slice):
    """A saved encoder's own statistics applied to rates far outside them."""
    rec = load_recording(str(reach_slice))
    encoder = nn.Identity()
    std = np.ones(rec.n_neurons)
    std[2] = 1e-38  # rates of tens of Hz then lie ~1e39 stds away
    encoder.input_spec = {"kind": "reach", "live_neurons": list(range(rec.n_neurons)),
                          "mean": [0.0] * rec.n_neurons, "std": std.tolist()}
    assert rec.rates[:, 2].max() > 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(DataError, match=r"neuron\(s\) 2 "):
            encoder_features(rec, S.trial_split(rec.trial), encoder)
