"""The quick supervised task-1 card lists every part of its recipe that the released script
does not have, precise BatchNorm statistics included (docs/protocols.md: "All of this is
listed in its cards"); it used to leave that one out."""

from __future__ import annotations

from mtneuro.tasks.region_protocol import resolve_recipe, task1_card
from mtneuro.tasks.region_task import TASK1


def test_the_quick_supervised_card_names_its_batchnorm_statistics() -> None:
    config = TASK1.make_config("quick", {"method": "supervised", "seeds": [0]})
    assert resolve_recipe(config).recalibrate_bn
    recipe_line = next(d for d in task1_card(config)["deviations"] if d.startswith("SGD lr"))
    assert "BatchNorm statistics recomputed on the training tiles each epoch" in recipe_line
    assert "running BatchNorm statistics, last epoch" in recipe_line  # the reference's side
