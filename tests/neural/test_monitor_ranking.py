"""The validation monitor's ranking of checkpoints (reach: accuracy, then
delta-accuracy, then lower mean angular error; sleep: accuracy, then weighted F1; ties
keep the earlier), on encoders whose validation predictions are known."""

import numpy as np
import torch
from torch import nn

from mtneuro.tasks.neural.select import ValidationMonitor, reach_scorer, sleep_scorer


class Table(nn.Module):
    """Encoder whose checkpoint is a table of features, looked up by the bin index in x[:, 0]."""

    def __init__(self, n: int, d: int) -> None:
        super().__init__()
        self.register_buffer("table", torch.zeros(n, d, dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.table[x[:, 0].long()]


def _run(monitor, encoder, tables):
    for step, table in tables:
        encoder.table.copy_(torch.from_numpy(table))
        monitor(step, encoder)
    return monitor


def _cos_sin(angle):
    return np.stack([np.cos(angle), np.sin(angle)], axis=1)


def test_reach_monitor_ranks_accuracy_then_delta_then_lower_error():
    angle = np.tile(np.arange(8) * np.pi / 4, 34)[:264]  # 200 training, 64 validation bins
    index = torch.arange(264, dtype=torch.float64)[:, None]
    val = angle[200:]
    quarter = np.arange(64) % 4  # validation bins in four groups

    def checkpoint(offsets):
        """Training bins exact; validation bin in group g predicted ``offsets[g]`` off."""
        return _cos_sin(np.r_[angle[:200], val + np.asarray(offsets)[quarter]])

    tables = [
        (10, checkpoint([0, 0, np.pi / 2, np.pi / 2])),  # acc .5, delta .5
        (20, checkpoint([0, 0, 0.17 * np.pi, np.pi / 2])),  # acc .5, delta .75: best
        (30, checkpoint([0, 0.17 * np.pi, 0.17 * np.pi, 0.17 * np.pi])),  # acc .25, delta 1
        (40, checkpoint([0, 0, 0.17 * np.pi, np.pi])),  # as 20, larger error
        (50, checkpoint([0, 0, 0.17 * np.pi, np.pi / 2])),  # tie with 20: earlier kept
    ]
    monitor = ValidationMonitor(index[:200], index[200:], reach_scorer(angle[:200], val))
    _run(monitor, Table(264, 2), tables)
    assert [h["accuracy"] for h in monitor.history] == [0.5, 0.5, 0.25, 0.5, 0.5]
    assert [h["delta_accuracy"] for h in monitor.history] == [0.5, 0.75, 1.0, 0.75, 0.75]
    assert monitor.best_step == 20


def test_sleep_monitor_ranks_accuracy_then_weighted_f1():
    train = np.tile([0, 1, 2], 40)
    val = np.array([0] * 8 + [1] * 2)
    index = torch.arange(130, dtype=torch.float64)[:, None]

    def checkpoint(pred_val):
        return 3.0 * np.eye(3)[np.r_[train, pred_val]]

    tables = [
        (5, checkpoint([1] * 10)),  # acc .2
        (10, checkpoint([0] * 10)),  # acc .8, weighted F1 .71: best
        (15, checkpoint([0] * 5 + [1] * 5)),  # acc .7, weighted F1 .73
        (20, checkpoint([0] * 10)),  # tie with 10: earlier kept
    ]
    monitor = ValidationMonitor(index[:120], index[120:], sleep_scorer(train, val))
    _run(monitor, Table(130, 3), tables)
    acc = [h["accuracy"] for h in monitor.history]
    f1 = [h["f1_weighted"] for h in monitor.history]
    np.testing.assert_allclose(acc, [0.2, 0.8, 0.7, 0.8])
    assert f1[2] > f1[1]
    assert monitor.best_step == 10
