"""Known answers for task 1's config checks and the shared accuracy / weighted-F1 scores
(mutation audit of mtneuro.tasks.region_config and scores)."""

from __future__ import annotations

import pytest

from mtneuro.errors import ConfigError
from mtneuro.tasks.region_task import TASK1
from mtneuro.tasks.scores import accuracy_and_f1


@pytest.mark.parametrize("values, field", [({"batch_size": 1}, "batch_size"),
                                           ({"momentum": 1.0}, "momentum"),
                                           ({"probe_cs": [1.0, 0.0]}, "probe_cs"),
                                           ({"probe_cs": [-1.0]}, "probe_cs")])
def test_task1_refuses_values_outside_their_range(values, field):
    # batch 1 breaks BatchNorm; momentum 1 never forgets; C must be > 0 for logistic regression
    with pytest.raises(ConfigError, match=field):
        TASK1.make_config(None, values)
    assert TASK1.make_config(None, {"batch_size": 2, "momentum": 0.0, "probe_cs": [0.5]})


def test_a_class_only_predicted_counts_against_precision_not_support():
    # class 2 is predicted once and never true: accuracy 2/3; F1 class 0 = 2/3 (support 2),
    # class 1 = 1 (support 1), class 2 weighs 0: (2 * 2/3 + 1) / 3 = 7/9
    scores = accuracy_and_f1([0, 0, 1], [0, 2, 1])
    assert scores == {"accuracy": pytest.approx(2 / 3), "f1_weighted": pytest.approx(7 / 9)}
