"""Every SSL pre-training card names what mtneuro's code does unlike MTNeuro's released code,
whatever the config: the projector / predictor heads' biases, and (MYOW) that a query's own
tile is never mined. Known answers, with the reference lines they cite."""

from __future__ import annotations

from mtneuro.tasks.protocol import pretraining_deviations, task3_card
from mtneuro.tasks.region_task import TASK1
from mtneuro.tasks.semantic_task import TASK3

HEADS = ("pre-training projector / predictor heads Linear without bias, BatchNorm, ReLU, Linear "
         "with bias (reference: Linear with bias, BatchNorm, ReLU, Linear without bias, "
         "self_supervised/models/mlp/mlp3.py:20-23, "
         "self_supervised/trainer/byol_trainer.py:352-354)")
OWN_TILE = ("MYOW never mines a query's own tile: it is excluded from the candidates (reference: "
            "no exclusion, self_supervised/models/ssl/myow_factory.py:55-77 gets no mask, "
            "self_supervised/trainer/myow_trainer.py:459-503; its pool, a separately shuffled "
            "batch of the same training tiles, may hold the query's own, "
            "scripts/task1_ssl.py:56-58,127,173)")
BOSSDB = {"source": "bossdb"}


def test_the_paper_pretraining_card_names_the_heads_and_the_own_tile_exclusion() -> None:
    assert pretraining_deviations(TASK1.make_config(None, {"method": "byol", **BOSSDB})) == [HEADS]
    for method in ("myow", "myow-merged"):
        config = TASK1.make_config(None, {"method": method, **BOSSDB})
        assert pretraining_deviations(config) == [HEADS, OWN_TILE], method
    # the quick preset's pre-training is the same code
    quick = pretraining_deviations(TASK1.make_config("quick", {"method": "myow"}))
    assert quick[:2] == [HEADS, OWN_TILE]
    # task 3 pre-trains on the fly with the same code
    task3 = task3_card(TASK3.make_config(None, {"method": "myow"}), "bossdb")["deviations"]
    assert HEADS in task3 and OWN_TILE in task3
    # a given encoder's pre-training is not this run's: not judged
    given = TASK1.make_config(None, {"method": "myow", "encoder": "enc.pt", **BOSSDB})
    assert not any(line in (HEADS, OWN_TILE) for line in pretraining_deviations(given))


def test_myow_merged_is_not_carded_for_head_sizes_it_does_not_build() -> None:
    """Review W: the merged layout has no second projector, yet its card listed the quick
    preset's ``mined_out 64`` and ``mined_projector_hidden 128`` as departures."""
    from mtneuro.tasks.protocol import pretraining_deviations
    from mtneuro.tasks.region_task import TASK1

    merged = pretraining_deviations(TASK1.make_config("quick", {"method": "myow-merged"}))
    cascaded = pretraining_deviations(TASK1.make_config("quick", {"method": "myow"}))
    assert not [d for d in merged if "mined_out" in d or "mined_projector_hidden" in d]
    assert [d for d in cascaded if d.startswith("pre-training mined_out 64")]


def test_a_given_pretrain_checkpoint_names_what_it_was_trained_on(tmp_path) -> None:
    """Own-data walkthrough: a MYOW encoder pre-trained on a user's volume file sat as "myow"
    beside the published MYOW row, its card saying only that it was loaded."""
    import numpy as np

    from mtneuro.cli.main import main

    volume = tmp_path / "v.npy"
    np.save(volume, np.random.default_rng(0).integers(0, 256, (17, 64, 128), dtype=np.uint8))
    out = tmp_path / "pt"
    main(["pretrain", "--quick", "--source", "volume", "--source-param", f"path={volume}",
          "--source-param", "tile=64", "--epochs", "1", "--batch-size", "4", "--quiet",
          "--out", str(out)])
    encoder = str(out / "encoder.pt")
    config = TASK1.make_config("quick", {"method": "myow", "encoder": encoder})
    assert pretraining_deviations(config) == [
        f"encoder loaded from {encoder} (pre-trained with myow for 1 epochs on source volume "
        f"(path={volume}, tile=64, z_step=16), 4 images): its pre-training is not checked here"]
    # a module:callable, or a file without that record: as before
    other = TASK1.make_config("quick", {"method": "myow", "encoder": "pkg:build"})
    assert pretraining_deviations(other) == [
        "encoder loaded from pkg:build: its pre-training is not checked here"]
