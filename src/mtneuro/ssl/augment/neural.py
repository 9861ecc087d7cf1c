"""Augmentations for neural population vectors, batched and vectorised.

Every function takes a whole batch ``x`` of shape (B, neurons) (firing rates in
Hz, before z-scoring, as in MYOW's neural transforms) and a ``torch.Generator``;
nothing loops over samples. Following MYOW (Azabou et al. 2021,
arXiv 2102.10106), views of a time bin are made by

1. a *temporal neighbour*: another bin of the same trial at most ``k`` bins away
   (:func:`sample_temporal_neighbours`);
2. *randomised neuron dropout*: each sample draws its own rate ``p ~ U[0, max_p]``
   and silences each neuron with probability ``p``;
3. *pepper*: a sparse constant ``c`` added to a random subset of neurons;
4. *Gaussian noise* of std ``sigma``;
5. z-scoring with statistics of the training bins (:func:`zscore_statistics`).

Each transform returns the floating dtype it was given (float16 / bfloat16 rates stay
float16 / bfloat16; the random draws are made in float32 and the sum rounded once).

>>> g = torch.Generator().manual_seed(0)
>>> aug = NeuralAugment(mean=torch.zeros(3), std=torch.ones(3))
>>> aug(torch.ones(4, 3), g).shape
torch.Size([4, 3])
"""

from __future__ import annotations

import torch
from torch import Tensor

#: Delta degrees of freedom of the z-scoring std: 1 (Bessel-corrected), as the MYOW reference's
#: ``x.std(dim=0)`` (torch's default; nerdslab/myow-neuro ``myow/data/monkey_neural_dataset.py``
#: and ``rodent_neural_dataset.py`` ``get_mean_std``, the ``Normalize`` of ``train_monkey.py`` /
#: ``train_mouse.py`` and of their linear evaluation).
ZSCORE_DDOF = 1


def zscore_statistics(rates: Tensor) -> tuple[Tensor, Tensor]:
    """Per-neuron mean and std (ddof :data:`ZSCORE_DDOF`) of training rates.

    The one place the z-scoring convention lives: every encoder's input, learned or given,
    is scaled with these (:class:`NeuralAugment`, ``mtneuro.tasks.neural.frozen.zscore_rates``).

    Args:
        rates: (B, N) firing rates of the training bins only (B >= 2).

    Returns:
        ``(mean, std)``, each (N,); a constant neuron has std 0.
    """
    return rates.mean(dim=0), rates.std(dim=0, correction=ZSCORE_DDOF)


def _same_dtype(out: Tensor, x: Tensor) -> Tensor:
    """``out`` in ``x``'s floating dtype: float32 noise and masks must not promote float16 /
    bfloat16 rates (integer rates become float, as any added noise makes them)."""
    return out.to(x.dtype) if x.is_floating_point() else out


def _applied(n: int, apply_p: float, generator: torch.Generator | None, device: torch.device) -> Tensor:
    """(n, 1) float mask: 1 for the samples the transform applies to (each with prob. ``apply_p``)."""
    return (torch.rand(n, 1, generator=generator, device=device) < apply_p).to(torch.float32)


def randomized_dropout(
    x: Tensor, max_p: float, *, apply_p: float = 1.0, generator: torch.Generator | None = None
) -> Tensor:
    """Silence neurons with a dropout rate drawn per sample.

    Args:
        x: (B, N) firing rates.
        max_p: each sample's rate is ``p ~ U[0, max_p]``.
        apply_p: probability that a sample is transformed at all.

    Returns:
        (B, N) rates with dropped entries set to 0: a new tensor, or ``x`` itself where
        nothing can be dropped (``max_p`` or ``apply_p`` 0), as the other augmentations.
    """
    if max_p <= 0 or apply_p <= 0:
        return x
    b = x.shape[0]
    rate = torch.rand(b, 1, generator=generator, device=x.device) * max_p
    drop = torch.rand(x.shape, generator=generator, device=x.device) < rate
    drop &= _applied(b, apply_p, generator, x.device).bool()
    return x.masked_fill(drop, 0.0)


def pepper_noise(
    x: Tensor, p: float, c: float, *, apply_p: float = 1.0, generator: torch.Generator | None = None
) -> Tensor:
    """Add the constant ``c`` to each neuron with probability ``p`` (sparse additive noise).

    Args:
        x: (B, N) firing rates.
        p: fraction of neurons receiving ``c``.
        c: the added value, in the units of ``x``.
        apply_p: probability that a sample is transformed at all.
    """
    if p <= 0 or c == 0 or apply_p <= 0:
        return x
    hit = (torch.rand(x.shape, generator=generator, device=x.device) < p).to(x.dtype)
    return _same_dtype(x + c * hit * _applied(x.shape[0], apply_p, generator, x.device), x)


def gaussian_noise(
    x: Tensor, std: float, *, apply_p: float = 1.0, generator: torch.Generator | None = None
) -> Tensor:
    """Add i.i.d. Gaussian noise of standard deviation ``std`` to the samples it applies to.

    The noise is drawn in float32 (the same draws whatever ``x``'s dtype) and the result is
    returned in ``x``'s floating dtype.
    """
    if std <= 0 or apply_p <= 0:
        return x
    noise = torch.randn(x.shape, generator=generator, device=x.device) * std
    return _same_dtype(x + noise * _applied(x.shape[0], apply_p, generator, x.device), x)


def segment_bounds(segment: Tensor) -> tuple[Tensor, Tensor]:
    """First and one-past-last position of every bin's segment (trial).

    Args:
        segment: (N,) segment id per bin; bins of a segment are contiguous.

    Returns:
        ``(start, end)``, each (N,) int64: the bins of ``i``'s segment are ``start[i] .. end[i] - 1``.
    """
    n = segment.shape[0]
    pos = torch.arange(n, device=segment.device)
    new = torch.ones(n, dtype=torch.bool, device=segment.device)
    new[1:] = segment[1:] != segment[:-1]
    start = torch.cummax(torch.where(new, pos, torch.zeros_like(pos)), dim=0).values
    last = torch.ones(n, dtype=torch.bool, device=segment.device)
    last[:-1] = new[1:]
    # one-past-last, propagated backwards from each segment's last bin
    end_at = torch.where(last, pos + 1, torch.full_like(pos, n + 1))
    end = torch.flip(torch.cummin(torch.flip(end_at, [0]), dim=0).values, [0])
    return start, end


def sample_temporal_neighbours(
    index: Tensor,
    start: Tensor,
    end: Tensor,
    k: int,
    *,
    generator: torch.Generator | None = None,
) -> Tensor:
    """For each anchor bin, a bin of the same segment at most ``k`` bins away (uniform).

    Args:
        index: (B,) anchor positions.
        start, end: (N,) segment bounds from :func:`segment_bounds`.
        k: maximum offset in bins (0 returns the anchors).

    Returns:
        (B,) int64 positions ``j`` with ``start[i] <= j < end[i]`` and ``|j - i| <= k``.
    """
    lo = torch.maximum(start[index], index - k)
    hi = torch.minimum(end[index] - 1, index + k)
    u = torch.rand(index.shape, generator=generator, device=index.device)
    offset = torch.floor(u * (hi - lo + 1).to(u.dtype)).long()
    return lo + torch.minimum(offset, hi - lo)


class NeuralAugment:
    """Dropout, pepper and noise, then z-scoring: one random view of a batch.

    Args:
        mean, std: (N,) z-scoring statistics of the training bins (:func:`zscore_statistics`);
            zero std is treated as 1.
        dropout_p: maximum per-sample dropout rate.
        dropout_apply_p: probability of dropout per sample.
        pepper_p, pepper_c, pepper_apply_p: pepper noise (see :func:`pepper_noise`).
        noise_std, noise_apply_p: Gaussian noise in the units of the rates (Hz).

    Defaults are MYOW's monkey-reach values.
    """

    def __init__(
        self,
        *,
        mean: Tensor,
        std: Tensor,
        dropout_p: float = 0.2,
        dropout_apply_p: float = 1.0,
        pepper_p: float = 0.3,
        pepper_c: float = 1.5,
        pepper_apply_p: float = 0.5,
        noise_std: float = 1.5,
        noise_apply_p: float = 0.5,
    ) -> None:
        self.mean = mean
        self.std = torch.where(std > 0, std, torch.ones_like(std))
        self.dropout_p = dropout_p
        self.dropout_apply_p = dropout_apply_p
        self.pepper_p = pepper_p
        self.pepper_c = pepper_c
        self.pepper_apply_p = pepper_apply_p
        self.noise_std = noise_std
        self.noise_apply_p = noise_apply_p

    def normalize(self, x: Tensor) -> Tensor:
        """(B, N) rates -> z-scores (no randomness), in ``x``'s floating dtype."""
        return _same_dtype((x - self.mean) / self.std, x)

    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """(B, N) rates in Hz -> (B, N) augmented z-scores."""
        x = randomized_dropout(x, self.dropout_p, apply_p=self.dropout_apply_p, generator=generator)
        x = pepper_noise(x, self.pepper_p, self.pepper_c, apply_p=self.pepper_apply_p, generator=generator)
        x = gaussian_noise(x, self.noise_std, apply_p=self.noise_apply_p, generator=generator)
        return self.normalize(x)
