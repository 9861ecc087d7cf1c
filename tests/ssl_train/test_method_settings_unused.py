"""``mtneuro pretrain`` names the settings its method has no use for: BYOL ignores MYOW's,
MYOW-merged its second projector's sizes (as it names those its source ignores)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mtneuro.cli.main import main
from mtneuro.errors import ConfigError
from mtneuro.tasks.pretrain.config import PretrainConfig, make_config, settings_not_used

#: What BYOL leaves unread: the mined branch's heads, the mining, its loss term and pool.
BYOL_UNUSED = ("mined_projector_hidden", "mined_out", "k", "mine_space", "loss_mix",
               "mined_weight", "mined_rampup_epochs", "mining_view", "pool_size")
LISTED = "(metrics.json lists them in settings_not_used)"


def _warnings_of(args: list[str], tmp_path: Path, capsys, monkeypatch) -> list[str]:
    """The ``not used`` lines ``mtneuro pretrain args`` prints, stopped before training
    (the warnings come from the config alone)."""
    import mtneuro.tasks.pretrain.run as pretrain_module

    def stop(config: PretrainConfig) -> None:
        raise ConfigError("stop after the config")

    monkeypatch.setattr(pretrain_module, "run_pretrain", stop)
    with pytest.raises(SystemExit) as exit_info:
        main(["pretrain", *args, "--out", str(tmp_path / "run")])
    assert exit_info.value.code == 2  # the stop above, after the warnings
    return [line for line in capsys.readouterr().err.splitlines() if "not used" in line]


def _config_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return str(path)


def test_settings_not_used_adds_the_methods_after_the_sources() -> None:
    assert settings_not_used(make_config("quick", {"method": "byol"})) == BYOL_UNUSED
    assert settings_not_used(make_config("quick", {"method": "myow-merged"})) == (
        "mined_projector_hidden", "mined_out")
    assert settings_not_used(make_config("quick", {"method": "myow"})) == ()
    assert settings_not_used(make_config("quick", {"method": "byol", "source": "digits"})) == (
        "setting", "z_step", "crop", *BYOL_UNUSED)


def test_the_lists_match_what_the_run_passes_to_each_method() -> None:
    from mtneuro.ssl.myow import CASCADED_ONLY
    from mtneuro.tasks.pretrain import config as config_module
    from mtneuro.tasks.pretrain import run

    fields = PretrainConfig.__dataclass_fields__
    # build_method's MYOW arguments (run reads config's), plus the trainer's settings it
    # overrides for BYOL
    assert run.MYOW_METHOD_ARGS is config_module.MYOW_METHOD_ARGS
    assert set(config_module.MYOW_ONLY) == {*run.MYOW_METHOD_ARGS, "mined_weight",
                                            "mined_rampup_epochs", "mining_view", "pool_size"}
    byol = make_config("quick", {"method": "byol", "pool_size": 4, "mined_weight": 0.5})
    assert (run.train_settings(byol).pool_size, run.train_settings(byol).mined_weight) == (0, 0)
    assert config_module.CASCADED_ONLY == tuple(k for k in CASCADED_ONLY if k in fields)


def test_byol_names_a_given_myow_setting_and_not_the_presets(tmp_path, capsys, monkeypatch):
    given = ["--method", "byol", "--config",
             _config_file(tmp_path, "mined_weight: 0.5\npool_size: 4\n")]
    assert _warnings_of(["--quick", *given], tmp_path, capsys, monkeypatch) == [
        f"warning: mined_weight, pool_size not used: method byol does no MYOW mining {LISTED}"]
    # the presets' MYOW values (the default's mining_view "third" too) are not "given"
    for preset in (["--quick"], []):
        assert _warnings_of([*preset, "--method", "byol"], tmp_path, capsys, monkeypatch) == []


def test_merged_names_its_missing_second_projector_and_myow_does_not(
        tmp_path, capsys, monkeypatch):
    given = ["--quick", "--config", _config_file(tmp_path, "mined_out: 512\nk: 2\n")]
    assert _warnings_of([*given, "--method", "myow-merged"], tmp_path, capsys, monkeypatch) == [
        f"warning: mined_out not used: method myow-merged has no second projector {LISTED}"]
    assert _warnings_of([*given, "--method", "myow"], tmp_path, capsys, monkeypatch) == []


def test_each_reason_is_its_own_warning(tmp_path, capsys, monkeypatch):
    text = "crop: 48\nmined_weight: 0.5\nmining_view: third\n"
    args = ["--quick", "--method", "byol", "--source", "digits",
            "--config", _config_file(tmp_path, text)]
    assert _warnings_of(args, tmp_path, capsys, monkeypatch) == [
        f"warning: crop not used: source digits brings its own images and view size {LISTED}",
        f"warning: mined_weight, mining_view not used: method byol does no MYOW mining {LISTED}"]


def test_the_record_lists_every_setting_the_method_leaves_unused(tmp_path, capsys):
    out = tmp_path / "run"
    main(["pretrain", "--quick", "--method", "byol", "--epochs", "1", "--quiet",
          "--config", _config_file(tmp_path, "mined_weight: 0.5\n"), "--out", str(out)])
    assert capsys.readouterr().err.count("mined_weight not used: method byol") == 1
    record = json.loads((out / "metrics.json").read_text())
    assert record["settings_not_used"] == list(BYOL_UNUSED)  # given or not
