"""The probes and pixel baselines are scikit-learn estimators: clone, repr, grid search,
pipelines, NotFittedError, inverse_transform; each with a known answer."""

from __future__ import annotations

import numpy as np
import pytest
from fresh_python import run_fresh
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mtneuro.errors import DataError
from mtneuro.tasks.baselines import PixelDecomposition
from mtneuro.tasks.probe import LinearProbe, RidgeProbe


def _separable(seed: int, n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    return 6.0 * np.eye(3, 8)[y] + rng.standard_normal((n, 8)), y


ESTIMATORS = [
    LinearProbe(Cs=[0.1, 1.0], cv=4, max_iter=50, seed=3),
    RidgeProbe(alphas=(1.0, 10.0), cv=3),
    PixelDecomposition("nmf", n_components=7, seed=2, max_iter=20),
]


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_clone_and_set_params_keep_every_argument(estimator):
    copy = clone(estimator)
    assert type(copy) is type(estimator) and copy is not estimator
    params = copy.get_params()
    assert params == estimator.get_params()
    changed = {"cv": 7} if "cv" in params else {"max_iter": 7}
    assert copy.set_params(**changed) is copy and copy.get_params() == {**params, **changed}
    assert estimator.get_params() == params  # the original is untouched


def test_repr_names_the_arguments_given():
    assert repr(LinearProbe()) == "LinearProbe()"
    assert repr(LinearProbe(cv=5)) == "LinearProbe(cv=5)"
    assert repr(RidgeProbe(alphas=(1.0,), cv=3)) == "RidgeProbe(alphas=(1.0,), cv=3)"
    assert repr(PixelDecomposition("nmf", n_components=8)) == (
        "PixelDecomposition(method='nmf', n_components=8)")


def test_grid_search_over_cs_scores_one_on_separable_classes():
    x, y = _separable(0)
    xt, yt = _separable(1)
    search = GridSearchCV(LinearProbe(), {"Cs": [[1e-2], [1.0]]}, cv=3).fit(x, y)
    assert is_classifier(LinearProbe()) and not is_regressor(RidgeProbe())
    assert search.best_score_ == 1.0
    assert search.score(xt, yt) == 1.0


def test_pipeline_of_scaler_and_ridge_probe_recovers_an_exact_linear_target():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((80, 5)) * [1.0, 10.0, 0.1, 3.0, 1.0]
    y = x @ np.array([1.0, -2.0, 0.5, 0.0, 3.0]) + 4.0
    pipe = make_pipeline(StandardScaler(), RidgeProbe(alphas=(1e-8,), cv=4)).fit(x, y)
    np.testing.assert_allclose(pipe.predict(x), y, atol=1e-6)
    assert pipe.score(x, y) == pytest.approx(1.0, abs=1e-12)


def test_pipeline_of_pixel_pca_and_linear_probe_separates_images():
    x, y = _separable(2)
    images = (x - x.min()).reshape(-1, 2, 4)  # (N, 2, 4) "images", non-negative
    pipe = make_pipeline(PixelDecomposition("pca", n_components=4), LinearProbe(Cs=(1.0,)))
    assert pipe.fit(images, y).score(images, y) == 1.0


@pytest.mark.parametrize(("estimator", "method"), [
    (LinearProbe(), "predict"), (LinearProbe(), "predict_proba"), (RidgeProbe(), "predict"),
    (PixelDecomposition(), "transform"), (PixelDecomposition(), "inverse_transform"),
])
def test_use_before_fit_raises_not_fitted_error(estimator, method):
    name = type(estimator).__name__
    with pytest.raises(NotFittedError, match=rf"^{name} is not fitted; call fit first$"):
        getattr(estimator, method)(np.ones((2, 3)))


def test_inverse_transform_of_pca_rebuilds_rank_k_images():
    rng = np.random.default_rng(0)
    k = 3
    images = 0.5 + 0.1 * rng.standard_normal((30, k)) @ rng.standard_normal((k, 64))
    images = images.reshape(30, 8, 8)
    flat = images.reshape(30, -1)
    full = PixelDecomposition("pca", n_components=k).fit(images)
    np.testing.assert_allclose(full.inverse_transform(full.transform(images)), flat, atol=1e-5)
    fewer = PixelDecomposition("pca", n_components=k - 1).fit(images)
    assert np.abs(fewer.inverse_transform(fewer.transform(images)) - flat).max() > 1e-2


def test_inverse_transform_of_nmf_is_codes_times_factors_and_checks_the_width():
    images = np.random.default_rng(1).random((12, 4, 4))
    model = PixelDecomposition("nmf", n_components=3, max_iter=50).fit(images)
    codes = model.transform(images)
    np.testing.assert_allclose(model.inverse_transform(codes), codes @ model.model_.components_,
                               rtol=1e-6)
    with pytest.raises(DataError, match=r"expected \(N, 3\) as fitted, got shape \(12, 2\)"):
        model.inverse_transform(codes[:, :2])


def test_probe_module_stays_free_of_sklearn_until_an_estimator_is_used():
    # the task configs import mtneuro.tasks.probe for DEFAULT_CS / DEFAULT_ALPHAS, so every
    # `mtneuro bench --dry-run` would pay sklearn.base's import if the module imported it
    code = ("import sys; import mtneuro.tasks.probe as p; assert 'sklearn' not in sys.modules; "
            "from sklearn.base import BaseEstimator; "
            "assert issubclass(p.LinearProbe, BaseEstimator); "
            "assert issubclass(p.RidgeProbe, BaseEstimator)")
    run_fresh(code)


def test_pixel_decomposition_records_its_input_pixels_as_n_features_in_() -> None:
    images = np.random.default_rng(0).integers(0, 256, size=(6, 1, 3, 4), dtype=np.uint8)
    assert PixelDecomposition("pca", n_components=2).fit(images).n_features_in_ == 12
