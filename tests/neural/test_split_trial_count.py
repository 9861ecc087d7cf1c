"""Too few trials for a split by trials: one line naming the file, its trial count and the
option to change (it said ``split: 1 trials are too few ...`` naming no file, and
``split.folds: expected int in [3, 9], got 10`` for a --folds the user never typed); the
option it names gives a split that runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cli_capture import run

from mtneuro.errors import ConfigError, DataError
from mtneuro.tasks.neural.config import NeuralConfig
from mtneuro.tasks.neural.run import fit_neural


def _trials(path: Path, trials: int, bins: int = 4) -> str:
    """``trials`` trials of ``bins`` bins whose labels cycle through 0..3 (kind stated)."""
    rng = np.random.default_rng(0)
    label = np.arange(trials * bins) % 4
    np.savez(path, firing_rates=rng.poisson(3.0 + 3.0 * np.eye(4, 6)[label]).astype(np.float32),
             trial=np.repeat(np.arange(trials), bins), label=label, kind=np.array("reach"))
    return str(path)


def _refusal(**config) -> str:
    with pytest.raises(ConfigError) as err:
        fit_neural(NeuralConfig(method="raw", **config))
    assert "\n" not in str(err.value)
    return str(err.value)


def test_one_trial_names_the_file_and_what_any_split_by_trials_needs(tmp_path):
    path = _trials(tmp_path / "one.npz", trials=1, bins=40)
    assert _refusal(data=path) == (
        f"split trial: {path} has 1 trial (its trial array), too few for any split by trials "
        "(trial: at least 6; kfold: at least 3); number the trials of its bins in its trial "
        "array")


def test_the_default_folds_beyond_the_trials_is_called_the_default(tmp_path):
    path = _trials(tmp_path / "nine.npz", trials=9)
    assert _refusal(data=path, split="kfold") == (
        f"split kfold: the default --folds 10 is more than the 9 trials in {path}; pass "
        "--folds 9 or fewer (folds: 9 in a config or params)")
    given = _refusal(data=path, split="kfold", folds=12)
    assert given.startswith("split kfold: --folds 12 is more than the 9 trials in ")
    # the way out it names runs
    assert fit_neural(NeuralConfig(data=path, method="raw", split="kfold", folds=9)
                      ).metrics["n_folds"] == 9


def test_too_few_trials_for_the_trial_split_names_kfold_as_the_way_out(tmp_path):
    path = _trials(tmp_path / "five.npz", trials=5)
    message = _refusal(data=path)
    assert message.startswith(f"split trial: {path} has 5 trials, too few for 80/10/10 % ")
    assert "pass --split kfold --folds 5 (split: kfold, folds: 5 in a config or params)" in message
    assert fit_neural(NeuralConfig(data=path, method="raw", split="kfold", folds=5)
                      ).metrics["n_test"] == 20


def test_the_command_line_says_it_in_one_line_and_leaves_no_folder(tmp_path, capsys):
    path = _trials(tmp_path / "nine.npz", trials=9)
    code, _, err = run(["neural", "--data", path, "--method", "raw", "--split", "kfold",
                        "--out", str(tmp_path / "run")], capsys)
    assert code == 2 and err.strip().splitlines() == [(
        f"error: split kfold: the default --folds 10 is more than the 9 trials in {path}; "
        "pass --folds 9 or fewer (folds: 9 in a config or params)")]
    assert not (tmp_path / "run").exists()


def test_a_fold_training_on_one_class_is_named_with_its_trials_and_the_way_out(tmp_path):
    # classes in blocks of trials (0 0 0 1 1 1): 3 folds of 2 trials train the first fold
    # on trials 4 and 5, class 1 only
    path = tmp_path / "blocks.npz"
    label = np.repeat([0, 1], 12)
    np.savez(path, firing_rates=np.random.default_rng(0).poisson(3.0 + 3.0 * label[:, None],
                                                                 (24, 5)).astype(np.float32),
             trial=np.repeat(np.arange(6), 4), label=label, kind=np.array("classes"))
    with pytest.raises(DataError) as err:
        fit_neural(NeuralConfig(data=str(path), method="raw", split="kfold", folds=3))
    assert str(err.value) == (
        "blocks: fold 1 of 3 (--split kfold): its training bins (2 trials of 6) hold one class "
        "only (1); a decoder needs two or more; pass more --folds (at most 6, the trial count: "
        "each fold then trains on more trials) or --split trial")
    # the way out it names runs
    assert fit_neural(NeuralConfig(data=str(path), method="raw", split="kfold", folds=6)
                      ).metrics["n_folds"] == 6
