"""An encoder spec with a dot where the colon goes gets the ``module:callable`` it means."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtneuro.errors import ConfigError
from mtneuro.models import resolve_encoder


@pytest.fixture
def dotted_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "byoe_models_dotted.py").write_text(
        "from torch import nn\n\n\ndef build_small():\n"
        "    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    return "byoe_models_dotted"


def test_a_dot_for_the_colon_is_answered_with_the_colon_spec(dotted_module: str) -> None:
    with pytest.raises(ConfigError, match=rf"^encoder '{dotted_module}\.build_small': did you "
                                          rf"mean '{dotted_module}:build_small'\? expected a "
                                          "checkpoint file, 'module:callable'"):
        resolve_encoder(f"{dotted_module}.build_small")
    from mtneuro.models.user import colon_spec  # new with the hint

    assert colon_spec(f"{dotted_module}.build_small") == f"{dotted_module}:build_small"


@pytest.mark.parametrize("spec", ["byoe_models_dotted.missing", "no_such_module_xyz.build",
                                  "resnet", "a..b", "runs-1.x"])
def test_no_suggestion_without_an_importable_module_having_the_name(
        dotted_module: str, spec: str) -> None:
    from mtneuro.models.user import colon_spec

    assert colon_spec(spec) is None
