"""Fast smoke runs of every method on small slices of the real recordings, and the CLI."""

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from mtneuro.data.neural import RECORDINGS
from mtneuro.tasks.neural import NeuralConfig, fit_neural

FAST = {"steps": 15, "batch_size": 64, "warmup_steps": 2}


@pytest.fixture(scope="module")
def sleep_slice(shared_data, tmp_path_factory):
    """The first 3,000 bins of mouse CA1 as a new rodent pair."""
    folder = tmp_path_factory.mktemp("sleep")
    rates = np.load(shared_data / RECORDINGS["mouse-ca1"][0])[:, :3000]
    states = np.load(shared_data / RECORDINGS["mouse-ca1"][1])[:3000]
    np.save(folder / "x_fr_bins_n_4full.npy", rates)
    np.save(folder / "x_behav_states_n_4full.npy", states)
    return folder / "x_fr_bins_n_4full.npy"


@pytest.mark.parametrize("method", ["myow", "byol", "supervised", "pca", "raw"])
def test_each_method_on_a_reach_slice(reach_slice, method):
    out = fit_neural(NeuralConfig(data=str(reach_slice), method=method, **FAST))
    m = out.metrics
    assert m["method"] == method and m["kind"] == "reach" and m["split"] == "trial"
    assert 0.0 <= m["accuracy"] <= m["delta_accuracy"] <= 1.0
    assert m["n_train"] + m["n_val"] + m["n_test"] == out.recording.n_bins
    assert out.test_pred.shape == out.test_label.shape == (m["n_test"],)
    if method in ("myow", "byol", "supervised"):
        assert m["steps"] == 15 and len(out.curve) > 1 and np.isfinite(out.curve[-1]["loss"])
        if method == "myow":
            assert "mined_loss" in out.curve[-1]


def test_myow_is_deterministic_given_the_seed(reach_slice):
    cfg = NeuralConfig(data=str(reach_slice), method="myow", seed=3, **FAST)
    a, b = fit_neural(cfg), fit_neural(cfg)
    assert a.metrics["accuracy"] == b.metrics["accuracy"]
    x = torch.randn(4, a.encoder.in_dim)
    with torch.no_grad():
        assert torch.equal(a.encoder(x), b.encoder(x))


def test_kfold_pools_every_bin_once(reach_slice):
    out = fit_neural(NeuralConfig(data=str(reach_slice), method="raw", split="kfold", folds=4))
    m = out.metrics
    assert m["n_folds"] == 4 and len(m["folds"]) == 4
    with np.load(reach_slice) as npz:
        assert m["n_test"] == npz["trial"].size
        # every bin once, each with its own trial (the bins of a fold stay in recorded order)
        assert sorted(zip(out.test_trial, out.test_label)) == sorted(zip(npz["trial"], npz["label"]))
    # the per-bin hits kept for paired comparisons are the ones the pooled metrics average
    for key in ("accuracy", "delta_accuracy", "mean_angular_error"):
        assert out.test_per_bin[key].shape == (m["n_test"],)
        assert np.mean(out.test_per_bin[key]) == pytest.approx(m[key])
    assert (out.test_per_bin["accuracy"] <= out.test_per_bin["delta_accuracy"]).all()
    # in the same order as the predictions: within pi/8 of a target is nearest to it
    assert np.array_equal(out.test_per_bin["accuracy"], out.test_pred == out.test_label)


@pytest.mark.parametrize("method,split", [("myow", "block"), ("raw", "random"), ("supervised", "block")])
def test_sleep_slice(sleep_slice, method, split):
    m = fit_neural(NeuralConfig(data=str(sleep_slice), method=method, split=split, **FAST)).metrics
    assert m["kind"] == "sleep" and m["split"] == split
    assert 0.0 <= m["f1_weighted"] <= 1.0 and 0.0 <= m["accuracy"] <= 1.0
    if split == "random":
        assert "reference" in m["split_label"]


def test_reach_split_on_sleep_recording_is_a_config_error(sleep_slice):
    from mtneuro.errors import ConfigError

    with pytest.raises(ConfigError, match="split"):
        fit_neural(NeuralConfig(data=str(sleep_slice), method="raw", split="trial"))


def test_cli_writes_metrics_encoder_and_plots(reach_slice, tmp_path):
    from mtneuro.cli.neural import neural

    out = tmp_path / "run"
    res = CliRunner().invoke(neural, ["--data", str(reach_slice), "--method", "myow", "--steps", "15",
                                      "--seed", "1", "--out", str(out)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    metrics = json.loads((out / "metrics.json").read_text())["metrics"]
    for key in ("method", "seed", "accuracy", "delta_accuracy", "n_train", "n_test", "wall_s"):
        assert key in metrics
    assert metrics["seed"] == 1 and metrics["refit"] is True
    assert "then retrained on train + validation; readout on both encoders" in res.output
    # not quiet in a log either: a line every 30 s (none in a run this short)
    assert json.loads((out / "metrics.json").read_text())["config"]["quiet"] is False
    assert metrics["refit_ensemble"] is True
    for png in ("confusion.png", "representation_2d.png", "learning_curve.png"):
        assert (out / png).stat().st_size > 1000

    from mtneuro.models.checkpoint import load_encoder

    # the readout's features: the first pass's encoder, then the retrained one
    encoders = {}
    for name, stage in (("encoder_first_pass.pt", "first pass"), ("encoder.pt", "retrained")):
        encoders[stage] = enc = load_encoder(out / name)
        assert enc.out_dim == 64 and enc.input_spec["kind"] == "reach"
        assert torch.load(out / name, weights_only=True)["meta"]["stage"] == stage
    # z-scored with the training bins' statistics vs training + validation's
    assert encoders["first pass"].input_spec["mean"] != encoders["retrained"].input_spec["mean"]


def test_cli_no_refit_keeps_the_first_pass(reach_slice, tmp_path, monkeypatch):
    from mtneuro.cli.neural import neural
    from mtneuro.report import record

    out = tmp_path / "run"
    encoder_there = []  # metrics.json marks the run finished: the encoder must precede it
    write_result = record.write_result
    monkeypatch.setattr(record, "write_result", lambda result, to, extra=None: (
        encoder_there.append((to / "encoder.pt").is_file()), write_result(result, to, extra)))
    res = CliRunner().invoke(neural, ["--data", str(reach_slice), "--method", "byol", "--steps", "10",
                                      "--no-refit", "--out", str(out)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert encoder_there == [True]
    assert json.loads((out / "metrics.json").read_text())["metrics"]["refit"] is False
    assert "retrained" not in res.output
    assert (out / "encoder.pt").is_file() and not (out / "encoder_first_pass.pt").exists()


def test_cli_several_seeds_mean_and_std(sleep_slice, tmp_path):
    from mtneuro.cli.neural import neural

    out = tmp_path / "seeds"
    # the seeds in each of the ways every command accepts them (given once, repeated)
    res = CliRunner().invoke(neural, ["--data", str(sleep_slice), "--method", "pca", "--split", "random",
                                      "--seeds", "0", "--seeds", "1", "2", "--out", str(out)],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    metrics = json.loads((out / "metrics.json").read_text())["metrics"]
    assert metrics["seed"] == [0, 1, 2] and len(metrics["per_seed"]) == 3
    per = [r["f1_weighted"] for r in metrics["per_seed"]]
    assert metrics["f1_weighted"] == pytest.approx(np.mean(per))
    assert metrics["f1_weighted_std"] == pytest.approx(np.std(per, ddof=1))
    assert (out / "seed-2" / "metrics.json").is_file()


def test_a_diverging_run_stops_and_names_the_learning_rate(reach_slice):
    from mtneuro.errors import TrainingError

    with pytest.raises(TrainingError, match=r"loss is nan at step \d+; lower the learning rate "
                                            r"\(NeuralConfig lr, 1e\+30 here\)"):
        fit_neural(NeuralConfig(data=str(reach_slice), method="byol", lr=1e30, **FAST))
