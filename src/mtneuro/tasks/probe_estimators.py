"""Probes of frozen features as scikit-learn estimators: :class:`LinearProbe`, :class:`RidgeProbe`.

* :class:`LinearProbe`: multinomial logistic regression on standardised features;
  the inverse regularisation ``C`` is chosen on a validation set when one is given,
  else by stratified k-fold cross-validation on the training set.
* :class:`RidgeProbe`: multi-output ridge regression of standardised targets from
  standardised features; one ``alpha`` per target chosen by k-fold cross-validation
  over contiguous blocks (or caller-given groups) of the training samples, all
  alphas of a fold solved at once from one SVD.

In cross-validation each fold standardises its features with the mean and std of its
own training rows, as ``GridSearchCV(make_pipeline(StandardScaler(), model))`` does: a
scaler fitted on all training rows would let each fold's validation rows set the scale,
hence the penalty, of every feature, and make the CV score of each strength slightly
optimistic. The final model is standardised on all training rows. (The MTNeuro
reference has no such probe: task 1 trains a linear head by SGD / Adam,
``scripts/task1_ssl.py:212-221``; task 3 scores an unregularised in-sample
``LinearRegression``, ``scripts/task3_main.py:99-128``, which
:mod:`mtneuro.tasks.semantic_probe` reproduces with scikit-learn itself.)

Both derive from ``sklearn.base.BaseEstimator``: ``get_params`` / ``set_params``, ``clone``,
``Pipeline``, ``GridSearchCV`` and a ``repr`` of the arguments set (``LinearProbe(cv=5)``).
``__init__`` stores its arguments unchanged, ``fit`` validates them, learned state ends in
``_`` and ``fit`` returns ``self``; use before ``fit`` raises sklearn's ``NotFittedError``.
They live apart from :mod:`mtneuro.tasks.probe` (which re-exports them on first use) because
``sklearn.base`` takes about a second to import, and the task configs import that module for
its default strengths, so ``mtneuro bench --dry-run`` would pay it for nothing.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError

from mtneuro.errors import ConfigError, DataError
from mtneuro.tasks.probe import (
    DEFAULT_ALPHAS,
    DEFAULT_CS,
    Standardizer,
    contiguous_folds,
    r2_scores,
    ridge_solutions,
    single_thread_blas,
)

__all__ = ["LinearProbe", "RidgeProbe", "check_fitted"]


def check_fitted(estimator: Any, attribute: str) -> None:
    """Raise sklearn's ``NotFittedError`` (a ``ValueError`` and ``AttributeError``) naming
    ``estimator``'s class when ``fit`` has not set ``attribute`` yet."""
    if not hasattr(estimator, attribute):
        raise NotFittedError(f"{type(estimator).__name__} is not fitted; call fit first")


def _as_2d(x: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0:
        raise DataError(
            f"{name}: expected a non-empty (n_samples, n_features) array, got shape {x.shape}"
        )
    if not np.isfinite(x).all():
        raise DataError(f"{name}: contains NaN or inf")
    return x


def _as_fitted_2d(x: np.ndarray, name: str, n_features: int) -> np.ndarray:
    """:func:`_as_2d` with the fitted number of columns: another number would fail as a numpy
    broadcast or matmul error that names neither ``x`` nor the count expected."""
    x = _as_2d(x, name)
    if x.shape[1] != n_features:
        raise DataError(f"{name}: expected {n_features} features (columns) as fitted, "
                        f"got shape {x.shape}")
    return x


def _cv_arg(cv: Any) -> int:
    if isinstance(cv, bool) or not isinstance(cv, (int, np.integer)) or cv < 2:
        raise ConfigError(f"cv: expected int >= 2, got {cv!r}")
    return int(cv)


def _fold_standardised(
    x: np.ndarray, train: np.ndarray, val: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """A CV fold's training and validation rows of ``x``, standardised with the scaler of
    the training rows only (the module docstring says why)."""
    scale = Standardizer(x[train])
    return scale(x[train]), scale(x[val])


class LinearProbe(ClassifierMixin, BaseEstimator):
    """Logistic-regression probe on standardised frozen features.

    Args:
        Cs: candidate inverse regularisation strengths.
        cv: folds (int >= 2) for choosing ``C`` when no validation set is passed to
            :meth:`fit`; fewer when the smallest class has fewer samples. When a class has
            one training sample, no stratified split can run: ``C`` is then the candidate
            nearest scikit-learn's default 1.0 (on a log scale; the first of a tie), with a
            warning naming the class, and ``scores_`` stays NaN.
        max_iter: L-BFGS iterations.
        seed: seed of the cross-validation shuffling.

    Attributes (after fit): ``C_``, ``scores_`` (accuracy per C on validation / CV),
    ``classes_``, ``n_features_in_``, ``model_`` (the fitted ``LogisticRegression``).

    A grid search over ``Cs`` (``GridSearchCV(LinearProbe(), {"Cs": [[0.1], [1.0]]})``) scores
    with :meth:`score`, the accuracy ``ClassifierMixin`` stands for.
    """

    def __init__(
        self, Cs: Sequence[float] = DEFAULT_CS, cv: int = 3, max_iter: int = 1000, seed: int = 0
    ) -> None:
        self.Cs, self.cv, self.max_iter, self.seed = Cs, cv, max_iter, seed

    def _model(self, c: float) -> Any:
        # imported when fitted: sklearn.linear_model adds to sklearn.base's import time
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=c, max_iter=self.max_iter)

    def fit(
        self,
        x: np.ndarray,
        y: np.ndarray,
        x_val: np.ndarray | None = None,
        y_val: np.ndarray | None = None,
    ) -> LinearProbe:
        """Choose ``C`` on ``(x_val, y_val)`` (or by CV on ``x``), then fit on ``x``.

        Args:
            x: ``(n, d)`` training features; y: ``(n,)`` integer labels.
            x_val, y_val: optional validation features and labels.
        """
        with single_thread_blas():
            return self._fit(x, y, x_val, y_val)

    def _fit(
        self, x: np.ndarray, y: np.ndarray, x_val: np.ndarray | None, y_val: np.ndarray | None
    ) -> LinearProbe:
        x = _as_2d(x, "x")
        y = np.asarray(y)
        if len(self.Cs) == 0 or min(self.Cs) <= 0:
            raise ConfigError(f"Cs: expected positive values, got {list(self.Cs)!r}")
        cv = _cv_arg(self.cv)
        if y.shape != (x.shape[0],):
            raise DataError(f"y: expected shape ({x.shape[0]},), got {y.shape}")
        self.classes_ = np.unique(y)
        if self.classes_.size < 2:
            raise DataError(
                f"y: need at least 2 classes to train a classifier, got {self.classes_.tolist()}"
            )
        if (x_val is None) != (y_val is None):  # one alone would silently mean CV instead
            raise DataError("x_val and y_val: give both (C chosen on them) or neither (C by "
                            "cross-validation on the training set)")
        self.n_features_in_ = x.shape[1]
        self.standardizer_ = Standardizer(x)
        xs = self.standardizer_(x)
        best = None
        if len(self.Cs) == 1:
            self.scores_ = np.array([np.nan])
        elif x_val is not None and y_val is not None:
            xv = self.standardizer_(_as_fitted_2d(x_val, "x_val", self.n_features_in_))
            self.scores_ = np.array([self._model(c).fit(xs, y).score(xv, y_val) for c in self.Cs])
        else:
            counts = np.bincount(np.searchsorted(self.classes_, y))
            folds = min(cv, int(counts.min()))
            if folds < 2:
                self.scores_ = np.full(len(self.Cs), np.nan)
                best = self._unscored_c(self.classes_[counts < 2].tolist())
            else:
                from sklearn.model_selection import StratifiedKFold

                split = StratifiedKFold(folds, shuffle=True, random_state=self.seed).split(x, y)
                folds_xy = [(*_fold_standardised(x, tr, te), y[tr], y[te]) for tr, te in split]

                def cv_accuracy(c: float) -> float:
                    return np.mean([self._model(c).fit(xtr, ytr).score(xte, yte)
                                    for xtr, xte, ytr, yte in folds_xy])

                self.scores_ = np.array([cv_accuracy(c) for c in self.Cs])
        if best is None:
            best = 0 if np.isnan(self.scores_).all() else int(np.nanargmax(self.scores_))
        self.C_ = float(self.Cs[best])
        self.model_ = self._model(self.C_).fit(xs, y)
        return self

    def _unscored_c(self, lone_classes: list[Any]) -> int:
        """Index of the candidate nearest scikit-learn's default ``C`` = 1, taken when a
        class of one sample leaves no stratified split: the first candidate would often be
        the strongest penalty (0.001 in :data:`DEFAULT_CS`), far below a fit of the data."""
        best = int(np.argmin(np.abs(np.log(np.asarray(self.Cs, dtype=np.float64)))))
        named = (f"class {lone_classes[0]} has" if len(lone_classes) == 1
                 else f"classes {', '.join(map(str, lone_classes))} have")
        warnings.warn(f"LinearProbe: {named} 1 training sample, too few for stratified "
                      f"cross-validation (2 per class); C = "
                      f"{self.Cs[best]}, the candidate nearest the default 1.0, is used unscored",
                      UserWarning, stacklevel=4)
        return best

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        check_fitted(self, "model_")
        x = _as_fitted_2d(x, "x", self.n_features_in_)
        return self.model_.predict_proba(self.standardizer_(x))

    def predict(self, x: np.ndarray) -> np.ndarray:
        check_fitted(self, "model_")
        return self.model_.predict(self.standardizer_(_as_fitted_2d(x, "x", self.n_features_in_)))

    def score(self, x: np.ndarray, y: np.ndarray) -> float:
        """Accuracy on ``x`` ``(n, d)`` of labels ``y`` ``(n,)``; a column ``(n, 1)`` is refused,
        as :meth:`fit` refuses it (it would broadcast to an ``(n, n)`` comparison)."""
        pred, y = self.predict(x), np.asarray(y)
        if y.shape != pred.shape:
            raise DataError(f"y: expected shape {pred.shape} (one label per row of x), "
                            f"got {y.shape}")
        return float(np.mean(pred == y))


class RidgeProbe(BaseEstimator):
    """Ridge regression of standardised targets from standardised features.

    Args:
        alphas: candidate penalties (on standardised features, so comparable across
            encoders); one is chosen per target by ``cv``-fold cross-validation
            (lowest pooled squared error).
        cv: number of contiguous folds (see :func:`contiguous_folds`).

    Attributes (after fit): ``n_features_in_``, ``alpha_`` (t,), ``cv_mse_`` (n_alphas, t) in
    target std units, ``coef_`` (d, t) and ``intercept_`` (t,) in original units.

    Not a ``RegressorMixin``: its :meth:`score` gives one R^2 per target of a multi-output
    probe and NaN for a constant target, where the mixin promises sklearn's single averaged
    ``r2_score`` (1.0 or 0.0 for a constant target) to tools that treat it as a regressor.
    """

    def __init__(self, alphas: Sequence[float] = DEFAULT_ALPHAS, cv: int = 5) -> None:
        self.alphas, self.cv = alphas, cv

    def fit(self, x: np.ndarray, y: np.ndarray, groups: np.ndarray | None = None) -> RidgeProbe:
        """Fit on ``x`` ``(n, d)``, ``y`` ``(n,)`` or ``(n, t)``; ``groups`` ``(n,)`` (e.g.
        each sample's z slice) define the folds."""
        with single_thread_blas():
            return self._fit(x, y, groups)

    def _fit(self, x: np.ndarray, y: np.ndarray, groups: np.ndarray | None) -> RidgeProbe:
        alphas = np.asarray(self.alphas, dtype=np.float64)
        if alphas.size == 0 or (alphas <= 0).any():
            raise ConfigError(f"alphas: expected positive values, got {list(self.alphas)!r}")
        _cv_arg(self.cv)
        x = _as_2d(x, "x")
        y = np.asarray(y, dtype=np.float64)
        self.n_features_in_ = x.shape[1]
        self.single_output_ = y.ndim == 1
        y = _as_2d(y[:, None] if y.ndim == 1 else y, "y")
        if y.shape[0] != x.shape[0]:
            raise DataError(f"y: expected {x.shape[0]} rows, got {y.shape[0]}")
        self.x_scale_, self.y_scale_ = Standardizer(x), Standardizer(y)
        xs, ys = self.x_scale_(x), self.y_scale_(y)
        mse = np.zeros((alphas.size, y.shape[1]))
        for val in contiguous_folds(x.shape[0], self.cv, groups):
            train = np.ones(x.shape[0], dtype=bool)
            train[val] = False
            x_train, x_val = _fold_standardised(x, train, val)
            # Targets keep the scale of all rows: ridge predictions are linear in the
            # targets, so their scale only sets the units of cv_mse_ (the same factor for
            # every alpha of a target), never the choice; centring is per fold.
            ym = ys[train].mean(axis=0)
            weights = ridge_solutions(x_train, ys[train] - ym, alphas)
            pred = np.einsum("nd,adt->ant", x_val, weights) + ym
            mse += ((pred - ys[val]) ** 2).sum(axis=1)
        self.cv_mse_ = mse / x.shape[0]
        self.alpha_ = alphas[self.cv_mse_.argmin(axis=0)]
        # final fit per target with its own alpha: solve all alphas, keep the chosen one
        weights = ridge_solutions(xs - xs.mean(axis=0), ys - ys.mean(axis=0), alphas)
        w_std = weights[self.cv_mse_.argmin(axis=0), :, np.arange(y.shape[1])].T  # (d, t)
        self.coef_ = w_std / self.x_scale_.scale[:, None] * self.y_scale_.scale[None, :]
        self.intercept_ = (
            self.y_scale_.mean
            + self.y_scale_.scale * ys.mean(axis=0)
            - self.x_scale_.mean @ self.coef_
        )
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predictions in the targets' original units, ``(n,)`` or ``(n, t)``."""
        check_fitted(self, "coef_")
        pred = _as_fitted_2d(x, "x", self.n_features_in_) @ self.coef_ + self.intercept_
        return pred[:, 0] if self.single_output_ else pred

    def score(self, x: np.ndarray, y: np.ndarray) -> float | np.ndarray:
        """Coefficient of determination R^2 (1 - SSE / SST on these samples): a float
        for a probe fitted on one target ``(n,)``, else one per target ``(t,)``."""
        return r2_scores(np.asarray(y, dtype=np.float64), self.predict(x))


