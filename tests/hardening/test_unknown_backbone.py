"""An unknown pre-training ``backbone`` is named as such, with close names, before its
``backbone_params`` are blamed ("encoder 'resnet-nope' cannot be built with them")."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_probe import invoke

from mtneuro.cli.preflight import check_backbone
from mtneuro.errors import ConfigError
from mtneuro.tasks.pretrain.config import make_config


def test_an_unknown_backbone_is_named_with_close_names() -> None:
    config = make_config("quick", {"backbone": "resnet-nope"})
    with pytest.raises(ConfigError) as info:
        check_backbone(config, "pretrain.")
    message = str(info.value)
    assert message.startswith("pretrain.backbone: unknown encoder 'resnet-nope' (did you mean "
                              "'resnet-tiny'")
    assert "backbone_params" not in message and "cannot be built" not in message


def test_pretrain_names_the_unknown_backbone_of_a_config_file(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("backbone: resnet-nope\n")
    outcome = invoke(["pretrain", "--quick", "--config", "c.yaml", "--out", "run"], tmp_path)
    assert outcome.code == 2 and len(outcome.err_lines) == 1, outcome.err
    assert "backbone: unknown encoder 'resnet-nope' (did you mean" in outcome.err
    assert "cannot be built with them" not in outcome.err
