"""A frozen probe's seeds share one extraction per set of weights: a checkpoint or in-memory
encoder gives every seed the same weights, so its features are extracted once per run; an
encoder whose weights the seed draws is extracted again for each seed."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pytest
import torch
from torch import nn

from mtneuro.tasks import region
from mtneuro.tasks.encoders import FrozenEncoders
from mtneuro.tasks.region import run_task1
from mtneuro.tasks.region_task import TASK1
from mtneuro.tasks.volume import SplitData


class _Linear(nn.Module):
    out_dim = 4
    input_spec: ClassVar[dict] = {"spatial_dims": 2, "in_channels": 1}

    def __init__(self) -> None:
        super().__init__()
        self.project = nn.Linear(1, 4)
        self.register_buffer("offset", torch.zeros(4), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.project(x.mean(dim=(2, 3))) + self.offset


def _counting(calls: list[str], name: str, value: float):
    def extract() -> np.ndarray:
        calls.append(name)
        return np.full((2, 4), value)
    return extract


def test_the_same_weights_are_extracted_once_and_other_weights_again():
    torch.manual_seed(0)
    frozen = FrozenEncoders(None, 2)
    encoder, calls = _Linear(), []
    first = frozen.features(encoder, "test", _counting(calls, "a", 1.0))
    copy = _Linear()
    copy.load_state_dict(encoder.state_dict())
    again = frozen.features(copy, "test", _counting(calls, "b", 2.0))
    assert calls == ["a"] and again is first  # a copy's equal weights: the first features
    frozen.features(copy, "train", _counting(calls, "c", 3.0))  # another input set
    with torch.no_grad():
        copy.offset += 1.0  # a non-persistent buffer, which state_dict leaves out
    frozen.features(copy, "test", _counting(calls, "d", 4.0))
    other = frozen.features(_Linear(), "test", _counting(calls, "e", 5.0))  # new random weights
    assert calls == ["a", "c", "d", "e"] and other[0, 0] == 5.0


def _splits() -> dict[str, SplitData]:
    rng = np.random.default_rng(0)
    return {split: SplitData(rng.integers(0, 256, (n, 1, 32, 32), dtype=np.uint8),
                             np.arange(n) % 4, np.arange(n))
            for split, n in (("train", 8), ("val", 4), ("test", 4))}


@pytest.fixture
def extractions(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of images of every extraction task 1 runs."""
    calls: list[int] = []
    real = region.extract_features

    def counted(encoder: nn.Module, images: Any, **kwargs: Any) -> np.ndarray:
        calls.append(len(images))
        return real(encoder, images, **kwargs)

    monkeypatch.setattr(region, "extract_features", counted)
    return calls


def _config(**values: Any) -> Any:
    return TASK1.make_config(None, {"method": "encoder", "seeds": [0, 1, 2],
                                    "protocol": "resized", "input_size": 16, **values})


def test_an_in_memory_encoders_seeds_reuse_its_features(extractions):
    out = run_task1(_config(), _splits(), encoder=_Linear())
    # train, val, test once, not once per seed (val and test tiles are scored as 4 quadrants)
    assert extractions == [8, 16, 16]
    accuracies = [row["accuracy"] for row in out["per_seed"]]
    assert accuracies == [accuracies[0]] * 3
    assert out["accuracy"]["std"] == 0.0


def test_an_encoder_drawn_by_the_seed_is_extracted_for_every_seed(extractions):
    with pytest.warns(UserWarning, match="random weights"):  # a registered name
        run_task1(_config(encoder="resnet-tiny"), _splits())
    assert extractions == [8, 16, 16] * 3
