"""One z-scoring of rates for every encoder: learned and user-supplied encoders see their
input scaled alike (ddof 1, the MYOW reference's ``x.std(dim=0)``), from learning bins only."""

import numpy as np
import pytest
import torch
from torch import nn

from mtneuro.data.neural import load_recording
from mtneuro.errors import ConfigError
from mtneuro.ssl.augment.neural import zscore_statistics
from mtneuro.tasks.neural import NeuralConfig, fit_neural
from mtneuro.tasks.neural import run as R
from mtneuro.tasks.neural import splits as S
from mtneuro.tasks.neural.config import resolve
from mtneuro.tasks.neural.frozen import encoder_features, zscore_rates
from mtneuro.tasks.neural.run import learn_features, make_augment


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


def _saved_spec(rec, live, kind="reach", **extra):
    rates = rec.rates[:, live]
    return {"kind": kind, "live_neurons": list(live), "mean": rates.mean(0).tolist(),
            "std": rates.std(0, ddof=1).tolist(), **extra}


def test_an_encoder_mtneuro_neural_saved_reads_its_own_neurons_as_trained(reach_slice):
    """``mtneuro neural``'s encoder.pt keeps only the neurons live in its learning bins and
    their statistics: it gets those, whatever the task's own z-scoring would give."""
    rec = load_recording(str(reach_slice))
    split = S.trial_split(rec.trial)
    live = [0, 2, 3]
    encoder = nn.Identity()
    encoder.input_spec = _saved_spec(rec, live, recording_neurons=rec.n_neurons)
    given, spec = encoder_features(rec, split, encoder)
    spec_in = encoder.input_spec
    expected = (rec.rates[:, live] - np.asarray(spec_in["mean"])) / np.asarray(spec_in["std"])
    np.testing.assert_allclose(given, expected, rtol=1e-5, atol=1e-6)
    assert spec["neurons"] == 3 and spec["live_neurons"] == live


@pytest.mark.parametrize(("change", "message"), [
    ({"recording_neurons": 999}, "trained on 3 neurons of a recording with 999 neurons"),
    ({"kind": "sleep"}, "trained on a sleep recording, not on a reach one"),
    ({"live_neurons": [0, 2, 10_000]}, "with at least 10001 neurons"),
])
def test_a_saved_neural_encoder_on_another_recording_is_refused(reach_slice, change, message):
    rec = load_recording(str(reach_slice))
    encoder = nn.Identity()
    spec = _saved_spec(rec, [0, 2, 3])
    if "live_neurons" in change:
        spec["live_neurons"] = change["live_neurons"]
    else:
        spec.update(change)
    encoder.input_spec = spec
    with pytest.raises(ConfigError, match=message):
        encoder_features(rec, S.trial_split(rec.trial), encoder)


def test_a_neural_runs_encoder_file_is_read_out_on_its_recording(tmp_path):
    """The file ``mtneuro neural`` writes is scored by ``mtneuro.evaluate`` on the recording
    it was trained on (it failed: 162 kept neurons against the recording's 174)."""
    import mtneuro
    from mtneuro.cli.main import main

    main(["neural", "--data", "chewie-1", "--method", "byol", "--steps", "20", "--no-refit",
          "--out", str(tmp_path / "run")])
    results = mtneuro.evaluate(str(tmp_path / "run" / "encoder.pt"), tasks=["neural/chewie-1"])
    (row,) = results.results
    assert row.method == "encoder" and 0.0 <= row.metrics["accuracy"] <= 1.0
    assert row.metrics["n_test"] == 79


def test_a_kfold_runs_encoder_file_says_it_is_the_last_folds(tmp_path):
    from mtneuro.checkpoint_io import load_state
    from mtneuro.cli.main import main

    main(["neural", "--data", "chewie-1", "--method", "byol", "--steps", "10", "--split", "kfold",
          "--folds", "3", "--no-refit", "--out", str(tmp_path / "run")])
    meta = load_state(tmp_path / "run" / "encoder.pt", what="encoder")["meta"]
    assert meta["fold"] == "last of 3"
