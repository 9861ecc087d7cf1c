"""Audit: an encoder file lacking a key, or of the wrong type, is refused in one line."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from mtneuro.checkpoint_io import save_state
from mtneuro.errors import CheckpointError
from mtneuro.models.checkpoint import FORMAT, load_encoder, read_state_dict, save_encoder
from mtneuro.models.registry import create_encoder


def saved_payload(tmp_path: Path) -> dict:
    torch.manual_seed(0)
    encoder = create_encoder("resnet-tiny", in_channels=1, widths=(4, 8))
    path = save_encoder(tmp_path / "good.pt", encoder, name="resnet-tiny",
                        kwargs={"in_channels": 1, "widths": [4, 8]})
    return torch.load(path, weights_only=True)


@pytest.mark.parametrize(("damage", "message"), [
    (lambda p: p.pop("input"), r"lacks keys \['input'\]"),
    (lambda p: p.pop("out_dim"), r"lacks keys \['out_dim'\]"),
    (lambda p: p.update(meta=[1, 2]), r"'meta' must be dict, got list"),
    (lambda p: p.update(out_dim=True), r"'out_dim' must be int, got bool"),
])
def test_a_damaged_encoder_file_is_a_one_line_checkpoint_error(tmp_path: Path, damage, message):
    payload = saved_payload(tmp_path)
    assert payload["format"] == FORMAT
    damage(payload)
    path = tmp_path / "damaged.pt"
    save_state(path, payload)
    with pytest.raises(CheckpointError, match=message) as err:
        load_encoder(path)
    assert "\n" not in str(err.value) and str(path) in str(err.value)


class CompiledLike(nn.Module):
    """Holds the module as ``_orig_mod``, as torch.compile's wrapper does (keys gain
    ``_orig_mod.``), without the seconds torch.compile's import costs."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self._orig_mod = module


def test_a_compiled_encoder_is_saved_as_the_plain_one(tmp_path: Path):
    torch.manual_seed(0)
    encoder = create_encoder("resnet-tiny", in_channels=1, widths=(4, 8))
    assert next(iter(CompiledLike(encoder).state_dict())).startswith("_orig_mod.")
    path = save_encoder(tmp_path / "enc.pt", CompiledLike(encoder), name="resnet-tiny",
                        kwargs={"in_channels": 1, "widths": [4, 8]})
    loaded = load_encoder(path)
    assert loaded.state_dict().keys() == encoder.state_dict().keys()
    for name, value in encoder.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], value), name


@pytest.mark.parametrize("nested", [False, True], ids=["bare", "under-state_dict"])
def test_a_weights_file_is_read_bare_or_under_state_dict(tmp_path: Path, nested: bool):
    weights = {"layer.weight": torch.arange(6.0).view(2, 3), "layer.bias": torch.ones(2)}
    path = tmp_path / "weights.pt"
    torch.save({"state_dict": weights, "epoch": 3} if nested else weights, path)
    read = read_state_dict(path)
    assert read.keys() == weights.keys()
    assert all(torch.equal(read[k], v) for k, v in weights.items())
