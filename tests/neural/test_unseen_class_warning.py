"""A test class absent from the bins a classifier readout is fitted on can never be
predicted: the run says so, naming the class and its test bins."""

import dataclasses
import warnings

import numpy as np
import pytest

from mtneuro.data.neural import load_recording
from mtneuro.tasks.neural import NeuralConfig, fit_neural
from mtneuro.tasks.neural.splits import trial_split

#: 1,000 bins, block split: train up to bin 560 - guard, validation up to 800, test after.
WAKE_NREM = np.r_[np.full(300, 0), np.full(500, 1)]


def run_warnings(path, **config):
    """The unseen-class warnings of a raw run (block split unless ``config`` says)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit_neural(NeuralConfig(data=path, method="raw", **{"split": "block", **config}))
    return [str(w.message) for w in caught if "no method can predict" in str(w.message)]


def test_rem_only_in_the_test_block_is_named_with_its_bins(write_sleep):
    path = write_sleep(np.r_[WAKE_NREM, np.full(80, 1), np.full(120, 2)])
    with pytest.warns(UserWarning) as caught:
        fit_neural(NeuralConfig(data=path, method="raw", split="block"))
    lines = [str(w.message) for w in caught if "no method can predict" in str(w.message)]
    assert lines == [("x: REM: 120 test bins, none in the training or "
                      "validation bins (the readout's): no method can predict it")]
    assert "\n" not in lines[0]


def test_a_class_met_in_validation_counts_only_where_the_readout_is_refitted(write_sleep):
    # REM in bins 600-649 (validation) and 900-959 (test), never in training
    states = np.r_[np.full(300, 0), np.full(300, 1), np.full(50, 2), np.full(250, 1),
                   np.full(60, 2), np.full(40, 0)]
    path = write_sleep(states)
    assert run_warnings(path, refit=True) == []  # the refitted readout is fitted on REM bins
    assert run_warnings(path, refit=False) == [
        ("x: REM: 60 test bins, none in the training bins: no method can "
         "predict it")]


def test_only_a_classifier_readout_warns(reach_slice, tmp_path):
    """A sleep state absent from training is named; a reach direction is
    not: the reach readout regresses the angle, so it can still point at an absent one."""
    with np.load(reach_slice) as npz:
        arrays = {key: npz[key] for key in npz.files}
    split = trial_split(arrays["trial"])
    absent = arrays["label"][split["test"]][0]
    learnt = np.union1d(split["train"], split["val"])
    label = arrays["label"]
    label[learnt] = np.where(label[learnt] == absent, (absent + 1) % 8, label[learnt])
    path = tmp_path / "reach-absent-bin0.10.npz"
    np.savez(path, **arrays)
    assert run_warnings(str(path), split="trial") == []
    from mtneuro.tasks.neural.unseen import unseen_class_warning

    rec = load_recording(str(path))
    assert absent not in rec.label[learnt] and unseen_class_warning(rec, split, refit=True) is None
    # the same absence in a sleep recording is named
    as_sleep = dataclasses.replace(rec, kind="sleep")
    assert unseen_class_warning(as_sleep, split, refit=True).startswith(
        f"reach-absent-bin0.10: {rec.class_names[absent]}: ")


def _late_class(path):
    """20 trials of 4 bins, classes 0 and 1 alternating, then class 2 in trials 18 and 19:
    the trial split's test trials, absent from its training and validation trials."""
    label = np.repeat(np.r_[np.arange(18) % 2, 2, 2], 4)
    rates = np.random.default_rng(0).poisson(3.0 + 4.0 * np.eye(3, 5)[label]).astype(np.float32)
    np.savez(path, firing_rates=rates, trial=np.repeat(np.arange(20), 4), label=label,
             kind=np.array("classes"), class_names=np.array(["rest", "walk", "novel"]))
    return str(path)


def test_an_unseen_class_is_a_note_of_the_record_and_its_report_once_per_run(tmp_path, capsys):
    import html
    import json

    from cli_capture import run

    from mtneuro.cli.main import main

    out = tmp_path / "run"
    code, _, err = run(["neural", "--data", _late_class(tmp_path / "late.npz"), "--method",
                        "raw", "--seeds", "0", "1", "--out", str(out)], capsys)
    assert code == 0, err
    line = ("late: novel: 8 test bins, none in the training or validation bins (the "
            "readout's): no method can predict it")
    for record in ("metrics.json", "seed-0/metrics.json", "seed-1/metrics.json"):
        notes = json.loads((out / record).read_text(encoding="utf-8"))["notes"]
        assert notes.count(line) == 1, (record, notes)
    main(["report", str(out)])
    capsys.readouterr()
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.count(html.escape(line)) == 1
    assert (out / "leaderboard.md").read_text(encoding="utf-8").count(line) == 1


def test_a_kfold_run_names_the_fold_of_each_unseen_class(tmp_path):
    outcome = fit_neural(NeuralConfig(data=_late_class(tmp_path / "late.npz"), method="raw",
                                      split="kfold", folds=10))
    # the last fold tests trials 18 and 19; trial 18 validates fold 9, beside class 0 and 1
    assert outcome.notes == [("late, fold 10 of 10: novel: 8 test bins, none in the training "
                              "or validation bins (the readout's): no method can predict it")]
