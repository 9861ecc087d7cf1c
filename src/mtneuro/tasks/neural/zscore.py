"""The neural task's z-scoring of float32 rates, valid for every finite recording.

Rates are float32 (:mod:`mtneuro.data.neural`). Statistics taken in float32 overflow long
before the rates do: a sum of a few hundred rates near 1e36 Hz, or a square from about
1.8e19 Hz, is inf in float32, so the mean became inf and every z-score NaN (PCA, the
readout and training then failed far from the cause, training's message blaming the
learning rate). So the statistics are taken in float64 and cast back (on the catalogued
recordings, whose float32 sums are exact, bit for bit the float32 statistics); the rates
and z-scores stay float32. What still cannot be a float32 z-score is refused naming the
neurons (:func:`checked_zscores`).
"""

from __future__ import annotations

import numpy as np
import torch

from mtneuro.data.neural import NeuralRecording
from mtneuro.errors import DataError
from mtneuro.ssl.augment.neural import zscore_statistics

#: Neurons named in full in an error; the rest are counted.
_NAMED = 8


def varying(rates: np.ndarray) -> np.ndarray:
    """(N,) True for the neurons whose rate is not the same in every bin of ``rates`` (B, N).

    Compared, not computed: a float32 std over large rates overflowed (with NumPy's
    RuntimeWarnings), and a NaN std silently dropped its neuron.
    """
    return rates.max(axis=0) > rates.min(axis=0)


def learning_statistics(rates: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`~mtneuro.ssl.augment.neural.zscore_statistics` of the learning bins' rates
    (B, N), taken in float64 and returned in the rates' floating dtype (float32 for a loaded
    recording) as ``(mean, std)``, each (N,).

    Only this (B, N) copy is float64. A std may still round to inf in float32 when a
    neuron's rates span nearly the whole float32 range; :func:`checked_zscores` refuses it.
    """
    given = torch.from_numpy(rates)
    dtype = given.dtype if given.is_floating_point() else torch.float32
    mean, std = zscore_statistics(given.double())
    return mean.to(dtype), std.to(dtype)


def checked_zscores(z: torch.Tensor, std: torch.Tensor, recording: NeuralRecording | str,
                    neurons: np.ndarray) -> torch.Tensor:
    """``z`` (bins, N) if every z-score and every std (N,) is finite.

    Args:
        recording: the recording, or its name, for the message (read only to raise).
        neurons: (N,) the recording's neuron (0-based) of each column of ``z``.

    Raises:
        DataError: naming the recording and the neurons whose z-scores or std are NaN or
            inf in float32 (an inf std would silently zero its neuron).
    """
    bad = (~torch.isfinite(z).all(dim=0) | ~torch.isfinite(std)).numpy()
    if not bad.any():
        return z
    name = recording if isinstance(recording, str) else recording.name
    which = [int(n) for n in np.asarray(neurons)[bad]]
    named = ", ".join(map(str, which[:_NAMED]))
    more = f" and {len(which) - _NAMED} more" if len(which) > _NAMED else ""
    raise DataError(
        f"{name}: the z-scored rates of neuron(s) {named}{more} (0-based) are NaN or inf in "
        "float32: their rates span more than float32 holds, or lie that many learning-bin "
        "stds from their mean; rescale the recording's rates (e.g. divide by a constant)")
