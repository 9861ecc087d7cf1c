"""benchmarks/neural_mining.py: label agreement of the k nearest admissible neighbours."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "neural_mining.py"
spec = importlib.util.spec_from_file_location("neural_mining", SCRIPT)
mining = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mining)


def directions(labels: list[int]) -> torch.Tensor:
    """Unit vectors at the reach angles of ``labels``: cosine neighbours share the angle."""
    angle = torch.tensor(labels, dtype=torch.float64) * (2 * np.pi / 8)
    return torch.stack([angle.cos(), angle.sin()], dim=1)


def test_clustered_features_agree_fully_and_the_exclusion_is_respected():
    label = torch.tensor([0, 0, 0, 2, 2, 2])
    features = directions(label.tolist()) + 0.01 * torch.arange(6.0)[:, None]
    nothing = torch.zeros(6, 6, dtype=torch.bool)
    assert mining.label_agreement(features, label, nothing, 2, 8) == {
        "same": 1.0, "within_one": 1.0}
    # each bin may not mine the other two bins of its label: its neighbours are 90 degrees off
    same_label = label[:, None] == label[None, :]
    out = mining.label_agreement(features, label, same_label, 2, 8)
    assert out == {"same": 0.0, "within_one": 0.0}


def test_neighbouring_directions_count_as_within_one_across_the_wrap():
    label = torch.tensor([0, 7, 4, 3])  # 0 and 7 are neighbours (315 -> 0 degrees)
    features = directions(label.tolist())
    out = mining.label_agreement(features, label, torch.zeros(4, 4, dtype=torch.bool), 1, 8)
    assert out == {"same": 0.0, "within_one": 1.0}


def test_sleep_states_report_only_the_same_label():
    label = torch.tensor([0, 0, 1, 1, 2])
    features = torch.tensor([[1.0, 0], [1, 0.1], [0, 1], [0.1, 1], [-1, 0]])
    out = mining.label_agreement(features, label, torch.zeros(5, 5, dtype=torch.bool), 1, 3)
    assert out == {"same": pytest.approx(4 / 5)}  # the lone state-2 bin has no partner


def test_chance_is_the_sum_of_squared_label_frequencies():
    label = np.array([0, 0, 1, 1, 1, 1, 2, 2])  # frequencies 1/4, 1/2, 1/4
    assert mining.chance(label, 3) == {"same": pytest.approx(1 / 16 + 1 / 4 + 1 / 16)}
    uniform = np.arange(8)
    out = mining.chance(uniform, 8)
    assert out["same"] == pytest.approx(1 / 8)
    assert out["within_one"] == pytest.approx(3 / 8)


def test_summary_row_averages_seeds_at_the_mining_step_and_the_last_step():
    measured = [("raw", 0, 0.3), ("raw", 0, 0.3), ("untrained", 0, 0.2),
                ("myow", 300, 0.6), ("myow", 300, 0.8), ("myow", 1000, 0.9), ("myow", 1000, 1.0),
                ("byol", 300, 0.5), ("byol", 600, 0.7)]  # two seeds of raw and myow
    rows = [{"method": m, "step": step, "same": same} for m, step, same in measured]
    row = mining.summary("rec", {"same": 0.125}, rows, 300)
    assert row == ("| rec | 0.125 | 0.300 | 0.200 | byol 0.500 (300) -> 0.700 "
                   "| myow 0.700 (300) -> 0.950 |")
    # no checkpoint at the mining step: the first one after it
    row = mining.summary("rec", {"same": 0.125}, rows, 450)
    assert row.endswith("| byol 0.700 (600) -> 0.700 | myow 0.950 (1000) -> 0.950 |")
