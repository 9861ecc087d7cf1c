"""The paper suite trains the neural encoders as long as the MYOW reference code does, and the
protocol card never calls a different length the reference's.

The reference's epochs are floor(training + validation bins / 512) batches (``drop_last``):
one an epoch on chewie-1 (~805 bins), 16 on mouse CA1 (8,640 bins); mtneuro's ``epochs`` are
ceil(training bins / batch_size) steps, so the same epoch count is another training length.
"""

from __future__ import annotations

import pytest

from mtneuro.bench.suite import load_suite
from mtneuro.tasks.neural import NeuralConfig
from mtneuro.tasks.neural.config import resolve
from mtneuro.tasks.neural.train import total_steps
from mtneuro.tasks.protocol import neural_card

#: (recording, kind, mtneuro's first-pass training bins, reference's SSL bins, epochs)
REFERENCE_RUNS = [("chewie-1", "reach", 734, 805, 10000), ("mouse-ca1", "sleep", 6048, 8640, 800)]


@pytest.mark.parametrize(("data", "kind", "n_train", "n_reference", "epochs"), REFERENCE_RUNS)
def test_paper_suite_trains_the_reference_number_of_steps(data, kind, n_train, n_reference,
                                                          epochs):
    entries = [e for e in load_suite("paper").grid if e.task == "neural" and e.setting == data]
    assert len(entries) == 1
    config = resolve(NeuralConfig(data=data, method="myow", **entries[0].params), kind)
    assert total_steps(config, n_train) == epochs * (n_reference // 512)


def test_card_names_the_training_length_when_epochs_match_the_reference_count():
    for params in ({"epochs": 10000}, {"steps": 10000}, {}):
        deviations = neural_card(NeuralConfig(data="chewie-1", method="byol", **params))
        training = [d for d in deviations["deviations"] if d.startswith("training:")]
        assert len(training) == 1, deviations
        assert "floor(training + validation bins / 512)" in training[0]
    by_epochs = neural_card(NeuralConfig(data="chewie-1", method="byol", epochs=10000))
    assert "10000 epochs of ceil(training bins / 512) steps" in by_epochs["deviations"][0]
