"""Refit on training + validation: it stops where validation chose and keeps the first pass's choices."""

import copy

import numpy as np
import pytest
import torch

from mtneuro.data.neural import load_recording
from mtneuro.tasks.neural import NeuralConfig, fit_neural
from mtneuro.tasks.neural import splits as S
from mtneuro.tasks.neural.baselines import train_supervised
from mtneuro.tasks.neural.config import resolve
from mtneuro.tasks.neural.run import make_augment
from mtneuro.tasks.neural.train import ViewSampler, train_ssl

FAST = {"steps": 30, "batch_size": 64, "warmup_steps": 2, "select_every": 5}


def _sampler(config: NeuralConfig) -> ViewSampler:
    """120 bins of Poisson rates in 10 trials of 12 bins."""
    gen = torch.Generator().manual_seed(0)
    rates = torch.poisson(torch.full((120, 10), 8.0), generator=gen)
    trial = torch.arange(120) // 12
    return ViewSampler(rates, trial, trial, make_augment(rates.numpy(), config), 2, "trial")


@pytest.mark.parametrize("method", ["myow", "supervised"])
def test_stopping_after_k_steps_is_the_full_run_at_step_k(method):
    """Same schedules, same random draws: a run stopped after 16 of 24 steps has exactly the
    weights the full 24-step run had at step 16 (MYOW mines from step 7)."""
    config = resolve(NeuralConfig(data="x", method=method, steps=24, batch_size=32, warmup_steps=2,
                                  mined_start=0.3, mined_warmup_steps=4), "reach")
    sampler = _sampler(config)
    label = torch.arange(120) % 8
    states = {}

    def grab(step, encoder):
        states[step] = copy.deepcopy(encoder.state_dict())

    def train(**kwargs):
        if method == "supervised":
            return train_supervised(sampler, label, "reach", config, seed=1, n_classes=8, **kwargs)
        return train_ssl(method, sampler, config, seed=1, **kwargs)

    train(every=8, on_checkpoint=grab)
    short = train(stop_after=16)
    assert short.steps == 16 and short.curve[-1]["step"] == 15
    for key, value in short.encoder.state_dict().items():
        assert torch.equal(value, states[16][key]), key
    assert any(not torch.equal(v, states[24][k]) for k, v in short.encoder.state_dict().items())


@pytest.mark.parametrize("stop_after", [0, 25])
def test_stop_after_outside_the_schedule_is_refused(stop_after):
    config = resolve(NeuralConfig(data="x", method="byol", steps=24, batch_size=32), "reach")
    with pytest.raises(ValueError, match=r"stop_after: expected an int in \[1, 24\], got"):
        train_ssl("byol", _sampler(config), config, seed=0, stop_after=stop_after)


@pytest.mark.parametrize("method", ["myow", "raw"])
def test_refit_learns_from_training_and_validation_with_the_first_pass_choices(reach_slice, method):
    first, refit = (fit_neural(NeuralConfig(data=str(reach_slice), method=method, refit=r, **FAST))
                    for r in (False, True))
    rec = load_recording(str(reach_slice))
    split = S.trial_split(rec.trial)
    for out, bins in ((first, split["train"]), (refit, np.union1d(split["train"], split["val"]))):
        live = rec.rates[bins].std(axis=0) > 0
        np.testing.assert_allclose(out.input_spec["mean"], rec.rates[bins][:, live].mean(axis=0), rtol=1e-5)
    assert refit.metrics["refit"] and not first.metrics["refit"]
    for key in ("selected_step", "penalty", "steps") + tuple(k for k in first.metrics if k.startswith("val_")):
        assert refit.metrics[key] == first.metrics[key], key
    if method == "myow":
        assert refit.curve[-1]["step"] == refit.metrics["selected_step"] - 1
        assert refit.selection == first.selection
    assert not np.array_equal(refit.test_features, first.test_features)


@pytest.mark.parametrize("refit", [True, False])
def test_the_protocol_card_says_which_bins_trained_the_encoder(refit):
    from mtneuro.tasks.protocol import neural_card

    deviations = neural_card(NeuralConfig(data="chewie-1", method="myow", refit=refit))["deviations"]
    retrained = [d for d in deviations if "retrained on training + validation" in d]
    only_train = [d for d in deviations if "encoder trained on training bins only" in d]
    assert (len(retrained), len(only_train)) == ((1, 0) if refit else (0, 1))
    assert all("train_monkey.py:83" in d for d in retrained + only_train)
    assert any("readout refitted on training + validation" in d for d in deviations) == refit
    assert any("first-pass encoder's features beside" in d for d in deviations) == refit
    alone = neural_card(NeuralConfig(data="chewie-1", method="myow", refit=refit, refit_ensemble=False))
    assert not any("first-pass encoder's features" in d for d in alone["deviations"])
    assert ("MYOW trains as BYOL for the first 30% of its steps, then ramps the mined weight over "
            "100 steps (reference: mining from the start") in " ".join(deviations)
    from_start = neural_card(NeuralConfig(data="chewie-1", method="myow", mined_start=0.0))
    assert not any("MYOW trains as BYOL" in d for d in from_start["deviations"])


@pytest.mark.parametrize("method", ["myow", "raw"])
def test_refit_ensemble_reads_both_encoders_features(reach_slice, method):
    """Trained methods: the readout's features are the first pass's beside the retrained
    encoder's, exactly as each run alone gives them; raw rates have one set only."""
    runs = {name: fit_neural(NeuralConfig(data=str(reach_slice), method=method, **FAST, **settings))
            for name, settings in (("first", {"refit": False}),
                                   ("retrained", {"refit": True, "refit_ensemble": False}),
                                   ("both", {"refit": True}))}
    both = runs["both"]
    if method == "raw":
        assert both.first_pass is None and not both.metrics["refit_ensemble"]
        np.testing.assert_array_equal(both.test_features, runs["retrained"].test_features)
        return
    d = runs["first"].test_features.shape[1]
    np.testing.assert_array_equal(both.test_features[:, :d], runs["first"].test_features)
    np.testing.assert_array_equal(both.test_features[:, d:], runs["retrained"].test_features)
    assert both.metrics["refit_ensemble"] and both.metrics["penalty"] == runs["first"].metrics["penalty"]
    first_encoder, first_kwargs, first_spec = both.first_pass
    assert first_spec == runs["first"].input_spec and first_kwargs == runs["first"].encoder_kwargs
    for key, value in first_encoder.state_dict().items():
        assert torch.equal(value, runs["first"].encoder.state_dict()[key]), key


def test_a_refit_given_epochs_keeps_the_first_pass_schedule(packaged_data):
    """``epochs`` counts passes over the training bins; the refit's learning bins are more,
    so recomputing would stretch the cosine and mined-loss schedules: it reuses the first
    pass's step count, as a config given that many ``steps`` would."""
    from mtneuro.tasks.neural.run import learn_features
    from mtneuro.tasks.neural.train import total_steps

    rec = load_recording("chewie-1")
    split = S.trial_split(rec.trial)
    by_epochs = resolve(NeuralConfig(data="chewie-1", method="myow", epochs=2, batch_size=256,
                                     warmup_steps=2, select_every=0), "reach")
    steps = total_steps(by_epochs, len(split["train"]))
    assert steps < total_steps(by_epochs, len(S.learning_bins(split, refit=True)))
    by_steps = resolve(NeuralConfig(data="chewie-1", method="myow", steps=steps, batch_size=256,
                                    warmup_steps=2, select_every=0), "reach")
    (a, *_), (b, *_) = (learn_features(rec, split, c, refit=True, stop_after=steps - 1)
                        for c in (by_epochs, by_steps))
    assert np.array_equal(a, b)


def test_mining_exclusion_counts_recorded_bins_across_a_split_gap():
    """Sleep excludes candidates within 150 recorded bins (the reference's neg_k): a training
    bin and a validation bin 4 bins apart across the guard gap are too close to be mined."""
    config = resolve(NeuralConfig(data="x", method="myow", steps=4, batch_size=8), "sleep")
    split = S.block_split(1000, guard=3)
    bins = S.learning_bins(split, refit=True)
    rates = torch.ones(len(bins), 3)
    sampler = ViewSampler(rates, torch.from_numpy(S.segments(bins, np.zeros(1000, int))),
                          torch.zeros(len(bins), dtype=torch.long),
                          make_augment(rates.numpy(), config), 3, "150", torch.from_numpy(bins))
    last_train = int(np.flatnonzero(bins == split["train"][-1])[0])
    first_val = last_train + 1
    assert bins[first_val] - bins[last_train] == 4  # the 3-bin guard between them
    far = int(np.flatnonzero(bins >= bins[last_train] + 151)[0])
    mask = sampler.exclusion(torch.tensor([last_train]), torch.tensor([first_val, far]))
    assert mask.tolist() == [[True, False]]
