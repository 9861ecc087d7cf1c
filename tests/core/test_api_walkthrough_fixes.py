"""Known answers of a walkthrough of the public API: class labels out of range, column-vector
labels, a class of one sample in the probe's cross-validation, and empty or rounded values."""

import warnings

import numpy as np
import pytest
import torch

from mtneuro.errors import ConfigError, DataError
from mtneuro.ssl.losses import normalized_mse
from mtneuro.stats import classification_intervals, mean_interval
from mtneuro.tasks.probe import DEFAULT_CS, LinearProbe, RidgeProbe
from mtneuro.tasks.scores import accuracy_and_f1, classification_metrics


@pytest.mark.parametrize(("y_true", "y_pred", "message"), [
    # before: the 2 moved the sample to another row, confusion [[0, 0], [1, 2]]
    ([0, 1, 1], [2, 1, 1], (r"y_pred: expected class indices in 0\.\.1 \(n_classes=2\), "
                            r"got 2 at index 0")),
    # before: the -1 was counted as a 1 of the row above, confusion [[1, 1], [0, 1]]
    ([1, 1, 0], [-1, 1, 0], r"y_pred: expected class indices in 0\.\.1 .*got -1 at index 0"),
    # before: "cannot reshape array of size 8"
    ([0, 1], [0, 5], r"y_pred: .* got 5 at index 1"),
    ([0, 3, 1], [0, 1, 1], r"y_true: .* got 3 at index 1"),
    ([0, 1, 1], [0, 1], (r"y_true and y_pred: expected two 1-D arrays of one length, "
                         r"got shapes \(3,\) and \(2,\)")),
])
def test_classification_metrics_refuses_labels_out_of_range_or_of_unequal_length(
        y_true, y_pred, message):
    with pytest.raises(DataError, match=message):
        classification_metrics(y_true, y_pred, 2)


def test_classification_intervals_refuses_a_label_out_of_range_instead_of_an_index_error():
    with pytest.raises(DataError, match=r"y_pred: expected class indices in 0\.\.1 .*got 2"):
        classification_intervals([0, 1, 1], [2, 1, 1], 2, unit="tiles")


def test_accuracy_and_f1_refuses_a_negative_label_and_a_column_of_labels():
    with pytest.raises(DataError, match=r"y_true: .* got -1 at index 2"):
        accuracy_and_f1(np.array([0, 1, -1]), np.array([0, 1, 1]))
    # before: (3, 1) == (3,) broadcast to a (3, 3) table, accuracy 1/3 instead of 1
    with pytest.raises(DataError, match=r"got shapes \(3, 1\) and \(3,\)"):
        accuracy_and_f1(np.array([[0], [1], [1]]), np.array([0, 1, 1]))


def _two_blobs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    return np.eye(2, 4)[y] * 3.0 + rng.normal(0, 0.5, (n, 4)), y


def test_linear_probe_score_refuses_a_column_of_labels_and_a_wrong_length():
    x, y = _two_blobs(40, seed=0)
    xt, yt = _two_blobs(100, seed=1)
    probe = LinearProbe(Cs=(1.0,)).fit(x, y)
    assert probe.score(xt, yt) > 0.95
    # before: 0.504 (each prediction compared with every label)
    with pytest.raises(DataError, match=r"y: expected shape \(100,\) .*got \(100, 1\)"):
        probe.score(xt, yt[:, None])
    with pytest.raises(DataError, match=r"y: expected shape \(100,\) .*got \(99,\)"):
        probe.score(xt, yt[:99])


def test_probes_refuse_features_of_another_width_naming_the_fitted_one():
    x, y = _two_blobs(40, seed=0)
    linear = LinearProbe(Cs=(1.0,)).fit(x, y)
    ridge = RidgeProbe(cv=2).fit(x, y.astype(float))
    expected = r"x: expected 4 features \(columns\) as fitted, got shape \(40, 3\)"
    for predict in (linear.predict, linear.predict_proba, ridge.predict):
        with pytest.raises(DataError, match=expected):  # before: a numpy broadcast error
            predict(x[:, :3])
    with pytest.raises(DataError, match=r"x_val: expected 4 features"):
        LinearProbe(Cs=(0.1, 1.0)).fit(x, y, x[:, :3], y)


@pytest.mark.parametrize("cv", [1, 0, "a", 2.5, True])
def test_linear_probe_refuses_a_cv_that_is_not_an_int_of_at_least_two(cv):
    x, y = _two_blobs(40, seed=0)
    with pytest.raises(ConfigError, match=r"cv: expected int >= 2, got "):
        LinearProbe(cv=cv).fit(x, y)


def test_a_class_of_one_sample_falls_back_to_c_one_with_a_warning_naming_it():
    # 40 samples of two classes and ONE of a third: no stratified split can hold class 2.
    # Before: every CV score NaN and the first candidate taken silently, C = 0.001.
    rng = np.random.default_rng(0)
    y = np.array([0] * 20 + [1] * 20 + [2])
    x = np.eye(3, 5)[y] + rng.normal(0, 0.5, (41, 5))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        probe = LinearProbe(Cs=DEFAULT_CS).fit(x, y)
    assert probe.C_ == 1.0 and np.isnan(probe.scores_).all()
    [warning] = caught
    assert "class 2 has 1 training sample" in str(warning.message)
    assert warning.filename == __file__  # points at the caller's fit, not the probe
    from sklearn.linear_model import LogisticRegression

    reference = LogisticRegression(C=1.0, max_iter=1000).fit(probe.standardizer_(x), y)
    np.testing.assert_allclose(probe.model_.coef_, reference.coef_)
    # without 1.0 among the candidates: the nearest on a log scale
    with pytest.warns(UserWarning, match=r"C = 10\.0"):
        assert LinearProbe(Cs=(1e-3, 1e-2, 10.0)).fit(x, y).C_ == 10.0


def test_mean_interval_of_no_samples_says_so():
    with pytest.raises(ValueError, match="mean_interval: no samples"):
        mean_interval([], unit="images")  # before: "cannot reshape array of size 0"


def test_normalized_mse_docstring_allows_rounding_below_zero():
    x = torch.randn(8, 16, generator=torch.Generator().manual_seed(0))
    assert abs(float(normalized_mse(x, x))) < 1e-6
    assert "up to rounding" in normalized_mse.__doc__  # the value can be a few ulps below 0
