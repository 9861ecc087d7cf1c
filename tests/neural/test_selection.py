"""Early stopping by validation: the monitor keeps the best checkpoint, and never reads test bins."""

import numpy as np
import pytest
import torch
from torch import nn

from mtneuro.data.neural import RECORDINGS
from mtneuro.tasks.neural import NeuralConfig, fit_neural
from mtneuro.tasks.neural.select import ValidationMonitor, reach_scorer

FAST = {"steps": 30, "batch_size": 64, "warmup_steps": 2, "select_every": 5}


def test_monitor_keeps_and_restores_the_best_checkpoint():
    """Features that encode the whole angle score best; the monitor must restore exactly those weights."""
    rng = np.random.default_rng(0)
    angle = rng.integers(0, 8, 300) * np.pi / 4
    x = torch.from_numpy(np.stack([np.cos(angle), np.sin(angle)], 1).astype(np.float32))
    monitor = ValidationMonitor(x[:200], x[200:], reach_scorer(angle[:200], angle[200:]))
    encoder = nn.Linear(2, 2, bias=False)
    cos_only, full, nothing = torch.diag(torch.tensor([1.0, 0.0])), torch.eye(2), torch.zeros(2, 2)
    with torch.no_grad():
        for step, weight in ((10, cos_only), (20, full), (30, nothing)):
            encoder.weight.copy_(weight)
            monitor(step, encoder)
    assert monitor.best_step == 20 and monitor.best["accuracy"] == 1.0
    assert [h["step"] for h in monitor.history] == [10, 20, 30]
    assert monitor.history[0]["accuracy"] < 0.7  # cos alone cannot tell 45 degrees from -45
    monitor.restore(encoder)
    assert torch.equal(encoder.weight, full)


@pytest.fixture(scope="module")
def reach_pair(packaged_data, tmp_path_factory):
    """The first 40 trials of Chewie day 1, and a copy whose test trials are garbage."""
    with np.load(packaged_data / RECORDINGS["chewie-1"][0]) as npz:
        arrays = {k: npz[k][npz["trial"] < 40] for k in npz.files}
    folder = tmp_path_factory.mktemp("poison")
    clean = folder / "clean-bin0.10.npz"
    np.savez(clean, **arrays)
    test = arrays["trial"] >= 36  # trial split of 40 trials: 32 train, 4 val, 4 test
    poisoned = dict(arrays)
    # garbage, not NaN: a recording with NaN rates is refused when it is read
    poisoned["firing_rates"] = np.where(test[:, None], 1e6, arrays["firing_rates"]).astype(np.float32)
    poisoned["label"] = np.where(test, (arrays["label"] + 3) % 8, arrays["label"])
    bad = folder / "poisoned-bin0.10.npz"
    np.savez(bad, **poisoned)
    relabelled = folder / "relabelled-bin0.10.npz"
    np.savez(relabelled, **{**arrays, "label": poisoned["label"]})
    return clean, bad, relabelled


@pytest.fixture(scope="module")
def sleep_pair(shared_data, tmp_path_factory):
    """The first 1,200 bins of mouse CA1, and a copy whose test block is garbage."""
    rates = np.load(shared_data / RECORDINGS["mouse-ca1"][0])[:, :1200]
    states = np.load(shared_data / RECORDINGS["mouse-ca1"][1])[:1200]
    test = np.arange(1200) >= 960  # block split: the last 20% of bins
    paths = []
    relabelled_states = np.where(test, 2.0, states)
    for name, r, s in (("clean", rates, states),
                       ("poisoned", np.where(test[None, :], 10**6, rates), relabelled_states),
                       ("relabelled", rates, relabelled_states)):
        folder = tmp_path_factory.mktemp(name)
        np.save(folder / "x_fr_bins_n_4full.npy", r)
        np.save(folder / "x_behav_states_n_4full.npy", s)
        paths.append(folder / "x_fr_bins_n_4full.npy")
    return paths


CHOSEN = ("selected_step", "penalty")


@pytest.mark.parametrize(("method", "refit"), [("myow", False), ("supervised", False), ("myow", True),
                                               ("raw", True)])
def test_poisoned_test_split_changes_no_choice_reach(reach_pair, method, refit):
    """With ``refit`` the encoder compared is the one retrained on training + validation."""
    clean, bad = (fit_neural(NeuralConfig(data=str(p), method=method, refit=refit, **FAST))
                  for p in reach_pair[:2])
    _same_choices(clean, bad)
    # the garbage did reach the test features
    assert not np.allclose(bad.test_features, clean.test_features)


@pytest.mark.parametrize("refit", [False, True])
def test_poisoned_test_split_changes_no_choice_sleep(sleep_pair, refit):
    clean, bad = (fit_neural(NeuralConfig(data=str(p), method="byol", refit=refit, **FAST))
                  for p in sleep_pair[:2])
    _same_choices(clean, bad)
    assert (bad.test_label == 2).all() and not (clean.test_label == 2).all()


@pytest.mark.parametrize(("method", "refit"), [("myow", True), ("supervised", False),
                                               ("raw", True), ("pca", True)])
def test_test_labels_change_the_scores_and_nothing_else_reach(reach_pair, method, refit):
    """Only the labels of the test trials differ: every prediction must be bit-identical (a
    final readout fitted on test bins would move them) and the scores must not be."""
    clean, relabelled = (fit_neural(NeuralConfig(data=str(p), method=method, refit=refit, **FAST))
                         for p in (reach_pair[0], reach_pair[2]))
    assert np.array_equal(clean.test_pred, relabelled.test_pred)
    assert clean.metrics["accuracy"] != relabelled.metrics["accuracy"]


@pytest.mark.parametrize("method", ["byol", "raw"])
def test_test_labels_change_the_scores_and_nothing_else_sleep(sleep_pair, method):
    clean, relabelled = (fit_neural(NeuralConfig(data=str(p), method=method, refit=True, **FAST))
                         for p in (sleep_pair[0], sleep_pair[2]))
    assert np.array_equal(clean.test_pred, relabelled.test_pred)
    assert clean.metrics["accuracy"] != relabelled.metrics["accuracy"]


def _same_choices(clean, bad) -> None:
    """Selections and validation scores equal; the test split really differed."""
    for key in CHOSEN + tuple(k for k in clean.metrics if k.startswith("val_")):
        assert clean.metrics[key] == bad.metrics[key], key
    if clean.encoder is None:  # raw rates: the features are the z-scores of train (+ val) statistics
        assert clean.input_spec == bad.input_spec
        return
    assert clean.selection == bad.selection and len(clean.selection) == FAST["steps"] // FAST["select_every"]
    assert 0 < clean.metrics["selected_step"] <= FAST["steps"]
    # with the refit ensemble the first-pass encoder feeds the readout too
    pairs = [(clean.encoder, bad.encoder)]
    if clean.first_pass is not None:
        pairs.append((clean.first_pass[0], bad.first_pass[0]))
    with torch.no_grad():
        for clean_encoder, bad_encoder in pairs:
            x = torch.randn(5, clean_encoder.in_dim)
            assert torch.equal(clean_encoder(x), bad_encoder(x))
    assert (clean.first_pass is None) == (bad.first_pass is None)
    assert clean.metrics["accuracy"] != bad.metrics["accuracy"] or not np.array_equal(
        clean.test_pred, bad.test_pred)


def test_myow_keeps_only_checkpoints_trained_with_mining(reach_pair):
    """Mining starts at step 20 and reaches full weight at 25: earlier checkpoints are scored, never kept."""
    config = NeuralConfig(data=str(reach_pair[0]), method="myow", mined_start=0.5, mined_warmup_steps=5,
                          **{**FAST, "steps": 40})
    out = fit_neural(config)
    assert [h["step"] for h in out.selection] == list(range(5, 45, 5))
    assert out.metrics["selected_step"] >= 25 and out.kept_step == out.metrics["selected_step"]
