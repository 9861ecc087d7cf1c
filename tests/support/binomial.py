"""Tolerances of the statistical audit tests: a seeded generator and a frequency bound.

A check allows ``Z`` standard deviations of the binomial (or sample-mean) law, so a correct
implementation drawing with another seed fails it with probability below 4e-8.
"""

from __future__ import annotations

import math

import torch

Z = 5.5  # two-sided normal tail at 5.5 sd: 3.8e-8


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def near(observed: float, p: float, n: int) -> bool:
    """``observed`` is a Bernoulli(p) frequency over n trials, within Z binomial sd."""
    return abs(observed - p) <= Z * math.sqrt(p * (1 - p) / n)
