"""The refit ensemble's two encoders are two draws: distinct seeds from the run's, reproducible."""

import copy

import numpy as np
import pytest
import torch

from mtneuro.tasks.neural import NeuralConfig, baselines, fit_neural
from mtneuro.tasks.neural import train as T
from mtneuro.tasks.neural.train import member_seed

FAST = {"steps": 30, "batch_size": 64, "warmup_steps": 2, "select_every": 5}


def test_member_seeds_are_distinct_and_deterministic():
    seeds = range(200)
    refit = [member_seed(s, 1) for s in seeds]
    assert [member_seed(s, 0) for s in seeds] == list(seeds)  # the first pass: the run's seed
    assert refit == [member_seed(s, 1) for s in seeds]
    assert len(set(refit)) == len(refit)
    assert not set(refit) & set(range(10_000))  # not another small run seed's first pass
    assert member_seed(0, 2) not in (0, member_seed(0, 1))


@pytest.fixture
def initial_weights(monkeypatch) -> list[dict[str, torch.Tensor]]:
    """The freshly initialised weights of every encoder a run creates, in order."""
    made: list[dict[str, torch.Tensor]] = []
    real = T.make_encoder

    def recording(config, in_dim):
        encoder, kwargs = real(config, in_dim)
        made.append(copy.deepcopy(encoder.state_dict()))
        return encoder, kwargs

    monkeypatch.setattr(T, "make_encoder", recording)  # BYOL / MYOW
    monkeypatch.setattr(baselines, "make_encoder", recording)  # the supervised MLP
    return made


def _equal(a: dict, b: dict) -> bool:
    return all(a[k].shape == b[k].shape and torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("method", ["byol", "supervised"])
def test_the_ensemble_members_start_apart_and_a_seed_reproduces_them(packaged_data, method,
                                                                     initial_weights):
    """On chewie-1 both encoders keep the same 162 neurons, so with one seed they started from
    the same weights; now they do not, and the same run seed gives the same two again."""
    config = NeuralConfig(data="chewie-1", method=method, **FAST)
    runs = [fit_neural(config) for _ in range(2)]
    assert len(initial_weights) == 4  # two runs of two members each
    first_init, refit_init = initial_weights[:2]
    assert all(first_init[k].shape == refit_init[k].shape for k in first_init)  # same neurons
    assert not _equal(first_init, refit_init)
    assert all(_equal(a, b) for a, b in zip(initial_weights[:2], initial_weights[2:4], strict=True))
    a, b = runs
    assert a.metrics["refit_ensemble"]
    np.testing.assert_array_equal(a.test_features, b.test_features)
    assert _equal(a.encoder.state_dict(), b.encoder.state_dict())
    assert _equal(a.first_pass[0].state_dict(), b.first_pass[0].state_dict())
    assert not _equal(a.encoder.state_dict(), a.first_pass[0].state_dict())
    other = fit_neural(NeuralConfig(data="chewie-1", method=method, seed=1, **FAST))
    assert not np.array_equal(other.test_features, a.test_features)
