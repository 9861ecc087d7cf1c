"""Pixel baselines of MTNeuro: PCA and NMF of flattened (resized) images.

The reference (``MTNeuro/annots/latents.py``) flattens resized images and keeps 256
components of ``sklearn`` PCA or NMF; a linear classifier or regressor is then fitted
on the components (:class:`mtneuro.tasks.probe.LinearProbe` /
:class:`mtneuro.tasks.probe.RidgeProbe`). Resizing and cropping are the task's
protocol; these transformers take the images they are given.

Components: ``n_components`` (default 256) is capped at ``min(n_samples - 1, n_pixels)``
for PCA and ``min(n_samples, n_pixels)`` for NMF. Centred data of n samples span at most
n - 1 dimensions, so a PCA component beyond them carries no training variance (std ~1e-7):
a standardising probe scaled it up until it decided every prediction (task 1 at chance
with 144 crops and 144 components). For NMF more components than samples or pixels only
add redundant factors. The number actually used is ``n_components_``. Well below that cap, NMF
factors already become near-duplicates when they are many for the samples (256 of
544 crops: cond(H H^T) ~ 1e12); ``transform`` of unseen images then returns codes that
depend on the solver's path, so a held-out readout fails (task 3's quick preset keeps
fewer components for this reason).
NMF starts from ``init="nndsvda"`` (an SVD-based start, from a randomized SVD seeded by
``seed``; the reference uses ``"random"``, which converges more slowly to a comparable
factorisation).

:class:`PixelDecomposition` is a scikit-learn transformer (``BaseEstimator``,
``TransformerMixin``): ``clone``, ``get_params`` / ``set_params``, a ``Pipeline`` step before a
probe; ``inverse_transform`` maps codes back to flattened pixels.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import NMF, PCA
from sklearn.exceptions import ConvergenceWarning

from mtneuro.errors import ConfigError, DataError
from mtneuro.registry import check_choice
from mtneuro.tasks.probe import single_thread_blas
from mtneuro.tasks.probe_estimators import check_fitted
from mtneuro.vocab import EXACT_PCA_LIMIT, PIXEL_METHODS


def flatten_images(images: np.ndarray) -> np.ndarray:
    """``(N, ...)`` uint8 (scaled by 1/255) or float images -> float32 ``(N, P)`` in [0, 1]."""
    images = np.asarray(images)
    if images.ndim < 2 or images.shape[0] == 0:
        raise DataError(f"images: expected a non-empty (N, ...) array, got shape {images.shape}")
    flat = images.reshape(images.shape[0], -1)
    if flat.dtype == np.uint8:
        return flat.astype(np.float32) / 255.0
    return flat.astype(np.float32)


@contextmanager
def _quiet_convergence() -> Iterator[None]:
    """Silence NMF's max_iter warning: a capped factorisation is still valid, only less tight."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


class PixelDecomposition(TransformerMixin, BaseEstimator):
    """PCA or NMF of flattened images, a scikit-learn transformer.

    Args:
        method: ``"pca"`` or ``"nmf"``.
        n_components: requested components (capped, see the module docstring).
        seed: random state of the decomposition.
        max_iter: NMF iterations (PCA ignores it).

    Images are ``(N, ...)`` arrays, flattened per image: uint8 ones are divided by 255;
    any other dtype is taken as given (cast to float32, not rescaled: pass floats in
    [0, 1] to match uint8 tiles). NMF needs them non-negative.

    Attributes (after fit): ``n_components_``, ``model_``, ``n_features_in_`` (pixels per
    image, as scikit-learn names it).
    """

    def __init__(
        self, method: str = "pca", n_components: int = 256, seed: int = 0, max_iter: int = 300
    ) -> None:
        self.method, self.n_components, self.seed, self.max_iter = (
            method,
            n_components,
            seed,
            max_iter,
        )

    def fit(self, images: np.ndarray, y: object = None) -> PixelDecomposition:
        """Fit the decomposition to ``images`` ``(N, ...)``; ``y`` is ignored (a ``Pipeline``
        passes its targets to every step)."""
        check_choice("baseline method", self.method, PIXEL_METHODS)
        if not isinstance(self.n_components, (int, np.integer)) or self.n_components < 1:
            raise ConfigError(f"n_components: expected int >= 1, got {self.n_components!r}")
        x = flatten_images(images)
        samples = x.shape[0] - 1 if self.method == "pca" else x.shape[0]
        self.n_components_ = int(max(1, min(self.n_components, samples, x.shape[1])))
        if self.method == "pca":
            # an exact SVD beats sklearn's randomized solver (its "auto" choice here) by
            # an order of magnitude when hundreds of components of a few thousand pixels are kept
            solver = "full" if _exact_pca(*x.shape) else "auto"
            self.model_ = PCA(
                n_components=self.n_components_, svd_solver=solver, random_state=self.seed
            )
        else:
            self.model_ = NMF(
                n_components=self.n_components_,
                init="nndsvda",
                max_iter=self.max_iter,
                random_state=self.seed,
            )
        with _quiet_convergence(), single_thread_blas():
            self.model_.fit(x)
        self.n_features_in_ = int(x.shape[1])
        return self

    def uses_seed(self, n_samples: int, n_pixels: int) -> bool:
        """Whether ``seed`` changes the fit of ``n_samples`` images of ``n_pixels`` pixels:
        always for NMF (its ``nndsvda`` start comes from a randomized SVD seeded by it), and
        for PCA only with the randomized solver. An exact SVD draws nothing: every seed fits
        the same components, so a caller may fit once for all of them."""
        return self.method == "nmf" or not _exact_pca(n_samples, n_pixels)

    def transform(self, images: np.ndarray) -> np.ndarray:
        """Components of ``images``: float ``(N, n_components_)``."""
        check_fitted(self, "model_")
        x = flatten_images(images)
        expected = self.model_.n_features_in_
        if x.shape[1] != expected:
            raise DataError(
                f"images: expected {expected} pixels per image (as fitted), got {x.shape[1]}"
            )
        with _quiet_convergence(), single_thread_blas():
            return self.model_.transform(x)

    def fit_transform(self, images: np.ndarray, y: object = None) -> np.ndarray:
        return self.fit(images).transform(images)

    def inverse_transform(self, codes: np.ndarray) -> np.ndarray:
        """Flattened pixels ``(N, n_pixels)`` of ``codes`` ``(N, n_components_)``: the mean
        plus the codes times the components (PCA), the codes times the factors (NMF)."""
        check_fitted(self, "model_")
        codes = np.asarray(codes)
        if codes.ndim != 2 or codes.shape[1] != self.n_components_:
            raise DataError(f"codes: expected (N, {self.n_components_}) as fitted, "
                            f"got shape {codes.shape}")
        with single_thread_blas():
            return self.model_.inverse_transform(codes)


def _exact_pca(n_samples: int, n_pixels: int) -> bool:
    """PCA by an exact SVD (else sklearn's choice, randomized at these sizes)."""
    return min(n_samples, n_pixels) <= EXACT_PCA_LIMIT
