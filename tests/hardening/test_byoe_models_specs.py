"""An encoder spec with a dot where the colon goes gets the ``module:callable`` it means, and
a module given in memory comes back from resolving it as it was given."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from mtneuro.errors import ConfigError
from mtneuro.models import resolve_encoder
from mtneuro.models.user import OUT_DIM_PROBE


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


def test_resolving_a_module_in_memory_adds_nothing_to_it() -> None:
    # evaluate(module) left out_dim and _mtneuro_out_dim_probe on the caller's module
    torch.manual_seed(0)
    module = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.Dropout(0.5),
                           nn.AdaptiveAvgPool2d(1), nn.Flatten()).train()
    module[1].eval()  # a frozen BatchNorm inside a training module: its flag is kept too
    before = dict(vars(module))
    modes = [m.training for m in module.modules()]
    encoder, _ = resolve_encoder(module)
    assert encoder.out_dim == 4 and getattr(encoder, OUT_DIM_PROBE) == (2, 1, 64, 64)
    assert vars(module) == before and not hasattr(module, "out_dim")
    assert [m.training for m in module.modules()] == modes
    # the copy shares the weights: nothing of the module is duplicated
    assert next(encoder.parameters()) is next(module.parameters())


def test_a_module_declaring_out_dim_comes_back_itself() -> None:
    module = nn.Linear(3, 2)
    module.out_dim, module.input_spec = 2, {"in_dim": 3}
    assert resolve_encoder(module)[0] is module


def test_the_command_lines_check_gives_the_colon_spec_too(dotted_module: str) -> None:
    """``mtneuro task1 --encoder pkg.build`` is refused by the CLI's own check before the
    encoder resolves; it must give the same suggestion (and a typo still gets its name)."""
    from mtneuro.cli.preflight import check_image_encoder

    with pytest.raises(ConfigError, match=rf"^--encoder '{dotted_module}\.build_small': did you "
                                          rf"mean '{dotted_module}:build_small'\? expected"):
        check_image_encoder(f"{dotted_module}.build_small", "--encoder")
    with pytest.raises(ConfigError, match=r"^--encoder 'RESNET18': did you mean 'resnet18'\?"):
        check_image_encoder("RESNET18", "--encoder")
