"""Task 3 walkthrough fixes: penalties checked with the config, 3d components over thinned
slices warned and carded, the in-sample R² a fit reaches on noise, and a setting no method
reads (t3walk F1-F4)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from mtneuro.errors import ConfigError
from mtneuro.tasks.protocol import SUBVOLUME_NOTE, task3_card, trains_on_setting
from mtneuro.tasks.semantic_probe import in_sample_chance
from mtneuro.tasks.semantic_task import TASK3


@pytest.mark.parametrize("alphas", [[0, 1], [], [1.0, -2.0]])
def test_penalties_are_checked_with_the_config_naming_the_file(tmp_path, alphas) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(f"method: pca\nalphas: {alphas}\n")
    with pytest.raises(ConfigError, match=rf"^{path}: alphas: expected a non-empty list of "
                                          "penalties, each > 0"):
        TASK3.make_config("quick", {}, path)


def test_3d_components_over_thinned_slices_are_warned_and_carded(monkeypatch) -> None:
    from mtneuro.tasks import semantic_probe

    thinned = TASK3.make_config("quick", {"method": "pca", "connectivity": "3d"})
    line = ("cell components 3d over every 8th slice join cells 8 slices apart (reference: 3d "
            "over consecutive slices, annots/features.py:19-20)")
    assert line in task3_card(thinned, "bossdb")["deviations"]
    consecutive = TASK3.make_config("quick", {"method": "pca", "connectivity": "3d",
                                              "z_step": 1})
    assert not any("slices apart" in d for d in task3_card(consecutive, "bossdb")["deviations"])

    class Stop(Exception):
        pass

    def stop(*_: object, **__: object) -> None:
        raise Stop

    monkeypatch.setattr(semantic_probe, "load_task3_data", stop)
    with pytest.warns(UserWarning, match=r"^cell components 3d over every 8th slice join cells "
                                         r"8 slices apart .*; connectivity 2d keeps cells within "
                                         r"their slice$"), pytest.raises(Stop):
        semantic_probe.run_task3(thinned)


def test_the_in_sample_chance_level_is_what_least_squares_fits_to_noise() -> None:
    assert in_sample_chance(511, 720) == pytest.approx(511 / 719)
    assert in_sample_chance(4096, 720) == 1.0
    rng = np.random.default_rng(0)
    n, dims = 400, 100
    fits = [LinearRegression().fit(x := rng.normal(size=(n, dims)), y := rng.normal(size=n))
            .score(x, y) for _ in range(20)]
    assert np.mean(fits) == pytest.approx(in_sample_chance(dims, n), abs=0.02)


def test_a_setting_only_runs_that_train_on_it_are_carded_with_its_sub_volumes() -> None:
    def card(method: str, **values: object) -> list[str]:
        config = TASK3.make_config("quick", {"method": method, "setting": "roi-c3", **values})
        return task3_card(config, "bossdb")["deviations"]

    for method, used in (("pca", False), ("nmf", False), ("supervised", True), ("byol", True)):
        config = TASK3.make_config("quick", {"method": method, "setting": "roi-c3"})
        assert trains_on_setting(config) is used
        assert (SUBVOLUME_NOTE in card(method)) is used, method
    given = TASK3.make_config("quick", {"method": "byol", "setting": "roi-c3",
                                        "encoder": "resnet-tiny"})
    assert not trains_on_setting(given)


def test_a_setting_that_changes_nothing_is_warned_before_the_data_is_read(monkeypatch) -> None:
    from mtneuro.tasks import semantic_probe

    class Stop(Exception):
        pass

    def stop(*_: object, **__: object) -> None:
        raise Stop

    monkeypatch.setattr(semantic_probe, "load_task3_data", stop)
    config = TASK3.make_config("quick", {"method": "pca", "setting": "roi-c3"})
    with pytest.warns(UserWarning, match=r"^setting roi-c3 not used: method pca trains nothing "
                                         r"on a setting's tiles"), pytest.raises(Stop):
        semantic_probe.run_task3(config)


def test_the_quick_supervised_card_names_its_small_encoder_and_short_training() -> None:
    quick = task3_card(TASK3.make_config("quick", {"method": "supervised"}), "bossdb")
    assert "supervised encoder backbone resnet-tiny (reference resnet18, the published row's " \
           "ResNet-18)" in quick["deviations"]
    assert "supervised encoder trained 8 epochs (the resized recipe: 30)" in quick["deviations"]
    full = task3_card(TASK3.make_config(None, {"method": "supervised"}), "bossdb")
    assert not any("backbone" in d or "epochs (the" in d for d in full["deviations"])


def test_the_cli_line_gives_the_in_sample_and_held_out_r2_as_recorded(tmp_path, capsys) -> None:
    import json

    from mtneuro.cli.main import main

    main(["task3", "--method", "pca", "--quick", "--seeds", "0", "--z-step", "64", "--out",
          str(tmp_path / "t3")])
    line = capsys.readouterr().out.strip().splitlines()[-1]
    metrics = json.loads((tmp_path / "t3" / "metrics.json").read_text())["metrics"]
    in_sample, held_out = line.split("in-sample R²", 1)[1].split("held-out R²", 1)
    for feature in metrics["features"]:  # each value where its column says, to 3 decimals
        assert f"{feature} {metrics['r2_in_sample_reference'][feature]['mean']:.3f}" in in_sample
        assert f"{feature} {metrics['r2_test'][feature]['mean']:.3f}" in held_out


def test_cards_name_the_pixel_baselines_and_mixup_choices_the_reference_lacks() -> None:
    from mtneuro.tasks.region_protocol import task1_card
    from mtneuro.tasks.region_task import TASK1

    def deviations(method: str, setting: str = "roi-c1") -> list[str]:
        config = TASK3.make_config(None, {"method": method, "setting": setting})
        return task3_card(config, "bossdb")["deviations"]

    exact = [d for d in deviations("pca") if d.startswith("PCA by an exact SVD")]
    assert exact and "randomized solver" in exact[0]
    assert not any(d.startswith("PCA by an exact SVD") for d in deviations("nmf"))
    # 128-px crops have more pixels than the exact solver's limit: scikit-learn's auto ran
    wide = TASK3.make_config(None, {"method": "pca", "pixel_input_size": 256})
    assert not any(d.startswith("PCA by an exact SVD")
                   for d in task3_card(wide, "bossdb")["deviations"])
    # roi-c3's published pixel rows differ from roi-c1's; ours are one computation
    assert any("roi-c3 is the roi-c1 computation" in d for d in deviations("nmf", "roi-c3"))
    assert not any("is the roi-c1 computation" in d for d in deviations("nmf"))
    assert any(d.startswith("no mixup script was released")
               for d in deviations("supervised-mixup"))
    assert not any("mixup" in d for d in deviations("supervised"))
    nmf_task1 = task1_card(TASK1.make_config(None, {"method": "nmf"}), "bossdb")["deviations"]
    assert any(d.startswith("NMF initialised with nndsvda") for d in nmf_task1)
