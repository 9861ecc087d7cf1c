"""A PCA / NMF run whose decomposition kept fewer components than asked says so on its card
(the card of the config, as a dry run shows it, names only the request)."""

from __future__ import annotations

import pytest

from mtneuro.tasks.protocol import components_used

CAPPED = ("components {} used of the {} asked for: PCA keeps at most one fewer than the "
          "training samples (centred, they span no more) and the pixels, NMF at most the "
          "training samples and the pixels")


def test_only_a_cap_below_the_request_is_a_deviation():
    assert components_used(256, [{"n_components": 80}]) == [CAPPED.format(80, 256)]
    assert components_used(256, [{"n_components": 80}, {"n_components": 96}]) == [
        CAPPED.format("80, 96", 256)]
    assert components_used(256, [{"n_components": 256}]) == []
    # one seed below the request is enough: its run departed from it
    assert components_used(256, [{"n_components": 256}, {"n_components": 80}]) == [
        CAPPED.format("80, 256", 256)]
    assert components_used(32, [{"accuracy": 0.5}]) == []  # an encoder run: no decomposition


@pytest.mark.parametrize("task", ["task1", "task3"])
def test_a_run_with_few_training_samples_names_the_components_it_used(task):
    if task == "task1":  # 20 training tiles, 4 crops each: 80 samples
        from mtneuro.tasks.region import run
        from mtneuro.tasks.region_task import TASK1 as TASK
        values = {"z_step": 64}
    else:
        from mtneuro.tasks.semantic_probe import run
        from mtneuro.tasks.semantic_task import TASK3 as TASK
        values = {"n_components": 5000}
    config = TASK.make_config(None, {"method": "pca", "quick": True, "seeds": [0], **values})
    result = run(config)
    used = result.metrics["per_seed"][0]["n_components"]
    asked = values.get("n_components", 256)
    assert 0 < used < asked
    if task == "task1":  # PCA of 80 crops: 79 components (centred, they span 79 dimensions)
        assert used == 79
    assert result.card["deviations"][-1] == CAPPED.format(used, asked)
    assert CAPPED.format(used, asked) not in TASK.protocol_card(config)["deviations"]
