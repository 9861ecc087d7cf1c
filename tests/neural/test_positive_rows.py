"""Temporal positives count rows of a trial, not recorded ``timestep``s (reference fidelity).

The velocity-thresholded reach files drop slow bins, so a trial's consecutive rows can be
several bins apart in time. The MYOW reference draws positives by row offset within the
trial after that drop (``RelativePositioningDataLoader._fast_diag`` over ``num_nodes``;
``timestep`` is only plotting metadata), and so does :class:`ViewSampler`. These tests pin
that choice so a switch to recorded time is deliberate, not accidental.
"""

import numpy as np
import torch

from mtneuro.data.neural import RECORDINGS, load_reach_npz
from mtneuro.tasks.neural import splits as S
from mtneuro.tasks.neural.train import ViewSampler


def _identity(rates: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return rates


def test_positives_span_a_timestep_gap_between_adjacent_rows(tmp_path):
    # trial 0 loses recorded bins 2..4 (below the speed threshold): rows 1 and 2 are 4 bins
    # apart in time but adjacent in the file
    trial = np.array([0, 0, 0, 0, 1, 1, 1])
    timestep = np.array([0, 1, 5, 6, 0, 1, 2])
    n = trial.size
    rates = np.zeros((n, 3), dtype=np.float32)
    rates[:, 0] = np.arange(n)  # a view's first column names its row (identity augment)
    path = tmp_path / "gappy-bin0.10.npz"
    np.savez(path, firing_rates=rates, trial=trial, timestep=timestep, label=np.zeros(n, int))
    rec = load_reach_npz(path)
    assert np.array_equal(rec.timestep, timestep)  # the gap is really in the recording

    bins = np.arange(n)
    k = 1
    sampler = ViewSampler(torch.from_numpy(rec.rates[bins]),
                          torch.from_numpy(S.segments(bins, rec.trial)),
                          torch.from_numpy(rec.trial[bins]), _identity, k, "trial",
                          torch.from_numpy(bins))
    g = torch.Generator().manual_seed(0)
    drawn = set()
    for _ in range(300):
        view_a, view_b, _ = sampler(n, g)
        drawn |= set(zip(view_a[:, 0].long().tolist(), view_b[:, 0].long().tolist()))
    by_rows = {(i, j) for i in range(n) for j in range(n)
               if trial[i] == trial[j] and abs(i - j) <= k}
    assert drawn == by_rows
    assert (1, 2) in drawn and (2, 1) in drawn  # 4 recorded bins apart, still positives


def test_packaged_thresholded_recording_has_within_trial_gaps(packaged_data):
    # the data fact behind the test above: rows of a trial are in time order, but
    # speed-thresholded bins leave holes, so row adjacency is not time adjacency
    with np.load(packaged_data / RECORDINGS["chewie-1"][0]) as npz:
        trial, timestep = npz["trial"], npz["timestep"]
    same = trial[1:] == trial[:-1]
    step = np.diff(timestep)[same]
    assert np.all(step >= 1)
    assert np.any(step > 1)
