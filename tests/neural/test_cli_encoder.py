"""``mtneuro neural --encoder SPEC``: a frozen firing-rate encoder read out by the CLI, as
``mtneuro.evaluate`` reads one, with the encoder it read recorded."""

import hashlib
import json
import warnings

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import mtneuro
from mtneuro.cli.neural import neural
from mtneuro.data.neural import load_recording
from mtneuro.errors import ConfigError
from mtneuro.models import resolve_encoder_at_seed
from mtneuro.tasks.neural import NeuralConfig

SCORES = ("accuracy", "delta_accuracy")


def _run(args, out):
    res = CliRunner().invoke(neural, [*args, "--out", str(out)])
    assert res.exit_code == 0, res.output
    return json.loads((out / "metrics.json").read_text()), res.output


@pytest.fixture
def rate_module(tmp_path, monkeypatch, reach_slice):
    """A module ``rate_encoders`` on the path: ``identity`` (the z-scored rates themselves,
    declared by ``in_dim``) and ``random_projection`` (random weights drawn at build time)."""
    neurons = load_recording(str(reach_slice)).n_neurons
    (tmp_path / "rate_encoders.py").write_text(
        "from torch import nn\n\n"
        "def identity():\n"
        "    module = nn.Identity()\n"
        f"    module.input_spec = {{'in_dim': {neurons}}}\n"
        "    return module\n\n"
        "def random_projection():\n"
        f"    module = nn.Linear({neurons}, 8)\n"
        "    module.out_dim = 8\n"
        "    return module\n\n"
        "def undeclared():\n"
        "    return nn.Identity()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    return "rate_encoders"


def test_an_identity_encoder_scores_as_the_raw_rates(reach_slice, rate_module, tmp_path):
    """The readout of an identity encoder is the raw method's readout (both read the same
    z-scored rates): a case whose answer is known."""
    raw, _ = _run(["--data", str(reach_slice), "--method", "raw"], tmp_path / "raw")
    given, printed = _run(["--data", str(reach_slice), "--encoder", f"{rate_module}:identity"],
                          tmp_path / "identity")
    for key in SCORES:
        assert given["metrics"][key] == pytest.approx(raw["metrics"][key], abs=1e-12)
    assert given["method"] == "encoder"
    assert given["config"]["encoder"] == f"{rate_module}:identity"
    assert printed.startswith(f"encoder ({rate_module}:identity) on ")


def test_a_saved_encoder_scores_as_evaluate_scores_it_and_its_file_is_recorded(
        reach_slice, tmp_path):
    """An encoder.pt of ``mtneuro neural`` read back by ``--encoder`` scores what
    ``mtneuro.evaluate`` gives for it, and the record holds the file's SHA-256."""
    _run(["--data", str(reach_slice), "--method", "byol", "--steps", "20"], tmp_path / "byol")
    path = tmp_path / "byol" / "encoder.pt"
    record, _ = _run(["--data", str(reach_slice), "--encoder", str(path)], tmp_path / "read")
    [result] = mtneuro.evaluate(str(path), f"neural/{reach_slice}", preset=None, seeds=0)
    for key in SCORES:
        assert record["metrics"][key] == pytest.approx(result.metrics[key], abs=1e-12)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert record["inputs"]["files"] == {str(path): digest}
    # the encoder read is what is run, not a setting that deviates from the protocol
    assert not any("settings other than" in line for line in record["deviations"])


def test_random_weights_of_a_spec_are_the_same_in_every_run(reach_slice, rate_module,
                                                            tmp_path):
    """A callable drawing random weights is built under seed 0: the seeds' runs and a
    later run read the same weights, whose fingerprint the record keeps."""
    spec = f"{rate_module}:random_projection"
    both, printed = _run(["--data", str(reach_slice), "--encoder", spec, "--seeds", "0", "1"],
                         tmp_path / "a")
    again, _ = _run(["--data", str(reach_slice), "--encoder", spec], tmp_path / "b")
    rows = both["metrics"]["per_seed"]
    assert rows[0]["accuracy"] == rows[1]["accuracy"] == again["metrics"]["accuracy"]
    assert "identical over 2 seeds" in printed
    [weights] = both["inputs"]["encoders"].values()
    torch.manual_seed(0)
    expected = torch.nn.Linear(load_recording(str(reach_slice)).n_neurons, 8)
    from mtneuro.checkpoint_io import content_digest

    assert weights == content_digest(expected.state_dict())


def test_encoder_with_a_method_or_an_image_probe_is_refused_with_a_reason(
        reach_slice, rate_module, tmp_path):
    res = CliRunner().invoke(neural, ["--data", str(reach_slice), "--method", "myow",
                                      "--encoder", f"{rate_module}:identity",
                                      "--out", str(tmp_path / "x")])
    assert "--encoder and --method myow: choose one" in str(res.exception)
    res = CliRunner().invoke(neural, ["--data", str(reach_slice), "--encoder",
                                      f"{rate_module}:undeclared", "--out", str(tmp_path / "y")])
    assert "input_spec = {'in_dim': NEURONS}" in str(res.exception)
    assert not (tmp_path / "y").exists()  # nothing left of a run that could not start
    with pytest.raises(ConfigError, match="encoder: read out by method 'encoder' only, not by "
                                          "method 'myow'"):
        NeuralConfig(data=str(reach_slice), method="myow", encoder=f"{rate_module}:identity")


def test_building_at_a_seed_leaves_the_callers_random_state(rate_module):
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    first, _ = resolve_encoder_at_seed(f"{rate_module}:random_projection")
    assert torch.equal(torch.random.get_rng_state(), before)
    second, _ = resolve_encoder_at_seed(f"{rate_module}:random_projection")
    np.testing.assert_array_equal(first.weight.detach(), second.weight.detach())
    other, _ = resolve_encoder_at_seed(f"{rate_module}:random_projection", seed=1)
    assert not torch.equal(first.weight, other.weight)


def _card(record):
    return record["deviations"], record["notes"]


def test_a_saved_encoder_read_on_its_own_recording_says_whether_it_saw_the_test_bins(
        packaged_data, reach_slice, tmp_path):
    """Same recording and split: a note (its test bins unseen). Another split (kfold tests
    every trial): a deviation, found by the files' SHA-256 though the recording was named
    by catalogue name for training and by path for reading. Another recording: a note."""
    from mtneuro.data.neural import recording_paths

    _run(["--data", "chewie-1", "--data-root", str(packaged_data), "--method", "byol",
          "--steps", "20"], tmp_path / "train")
    saved = str(tmp_path / "train" / "encoder.pt")
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        same, _ = _run(["--data", "chewie-1", "--data-root", str(packaged_data), "--encoder",
                        saved], tmp_path / "same")
    assert not any("optimistic" in str(w.message) for w in said)
    deviations, notes = _card(same)
    assert not any("optimistic" in d for d in deviations)
    assert any("not on the test bins scored here" in n for n in notes)
    (path,) = recording_paths("chewie-1", packaged_data)
    # said when it runs too, not only on the card
    with pytest.warns(UserWarning, match="scored here on the kfold split.*can be optimistic"):
        folds, _ = _run(["--data", str(path), "--encoder", saved, "--split", "kfold"],
                        tmp_path / "folds")
    deviations, _ = _card(folds)
    assert any("scored here on the kfold split" in d and "optimistic" in d for d in deviations)
    other, _ = _run(["--data", str(reach_slice), "--encoder", saved], tmp_path / "other")
    deviations, notes = _card(other)
    assert not any("optimistic" in d for d in deviations)
    assert any("trained by mtneuro neural on recording chewie-1" in n for n in notes)


def test_an_own_recordings_encoder_read_on_another_split_of_it_is_flagged(reach_slice,
                                                                           tmp_path):
    _run(["--data", str(reach_slice), "--method", "byol", "--steps", "20"], tmp_path / "train")
    saved = str(tmp_path / "train" / "encoder.pt")
    with pytest.warns(UserWarning, match="scored here on the kfold split"):
        folds, _ = _run(["--data", str(reach_slice), "--encoder", saved, "--split", "kfold",
                         "--folds", "4"], tmp_path / "folds")
    deviations, _ = _card(folds)
    assert deviations[0].startswith("recording ") and "no reference run" in deviations[0]
    assert any("scored here on the kfold split" in d for d in deviations)


def test_an_ensemble_runs_encoder_read_back_says_it_scores_one_encoder(reach_slice, tmp_path):
    """A run with the refit ensemble scores both its encoders; its encoder.pt read back
    scored otherwise (0.785 against the run's 0.772 on chewie-1) and nothing said why."""
    from mtneuro.tasks.neural.encoder_origin import ENSEMBLE_MEMBER_NOTE

    for name, flags in (("ensemble", []), ("single", ["--no-refit-ensemble"])):
        _run(["--data", str(reach_slice), "--method", "byol", "--steps", "20", *flags],
             tmp_path / name)
    read, printed = _run(["--data", str(reach_slice), "--encoder",
                          str(tmp_path / "ensemble" / "encoder.pt")], tmp_path / "read")
    assert ENSEMBLE_MEMBER_NOTE in read["notes"]
    assert f"note: {ENSEMBLE_MEMBER_NOTE}" in printed.splitlines()
    single, printed = _run(["--data", str(reach_slice), "--encoder",
                            str(tmp_path / "single" / "encoder.pt")], tmp_path / "read-single")
    assert ENSEMBLE_MEMBER_NOTE not in single["notes"] and "note: " not in printed
