"""Findings F5-F7 of the Python API walk-through: a missing required argument, a tensor of the
wrong dtype and a ``z_step`` of the wrong type are named in one line; ``mtneuro.models``
lists its lazy segmentation names; a slice of ``Results`` is still a ``Results``; an empty
task list is refused."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from toy_task import MeanBrightness

import mtneuro
import mtneuro.models
from mtneuro.api import Results
from mtneuro.data.spec import ZRange
from mtneuro.data.tiles import block_starts
from mtneuro.errors import ConfigError
from mtneuro.models import create_encoder
from mtneuro.registry import Registry

SEGMENTATION_NAMES = ["SEGMENTATION_MODELS", "create_segmentation_model", "input_side",
                      "list_segmentation_models"]




def test_a_missing_required_argument_is_named() -> None:
    # was: TypeError: MLPEncoder.__init__() missing 1 required keyword-only argument
    with pytest.raises(ConfigError, match=r"^encoder 'mlp': missing required argument "
                                          r"'in_dim'$") as info:
        create_encoder("mlp")
    assert isinstance(info.value, TypeError)  # as the bare error was: callers catching it work
    with pytest.raises(ConfigError, match=r"^encoder 'mlp': missing required argument "
                                          r"'in_dim'$"):
        create_encoder("mlp", in_dim=None)  # None means "the default": there is none
    assert create_encoder("mlp", in_dim=5).out_dim > 0


def test_several_missing_arguments_are_all_named_and_unknown_ones_come_first() -> None:
    things: Registry[tuple] = Registry("thing")
    things.register("pair")(lambda a, *, b, c=3: (a, b, c))
    with pytest.raises(ConfigError, match=r"^thing 'pair': missing required arguments "
                                          r"'a', 'b'$"):
        things.create("pair")
    with pytest.raises(ConfigError, match=r"^thing 'pair': unknown argument 'd'"):
        things.create("pair", d=1)
    assert things.create("pair", a=1, b=2) == (1, 2, 3)


@pytest.mark.parametrize("name", ["resnet-tiny", "resnet18"])
@pytest.mark.parametrize(("dtype", "fix"), [(torch.float64, "x.to(torch.float32)"),
                                            (torch.uint8, "x.to(torch.float32) / 255")])
def test_an_encoder_names_a_wrong_input_dtype(name: str, dtype: torch.dtype, fix: str) -> None:
    # was: RuntimeError: expected scalar type Double but found Float, from a convolution
    encoder = create_encoder(name).eval()
    kind = "ResNet" if name == "resnet-tiny" else "TorchvisionResNet18"
    message = (f"{kind} expects float32 images in [0, 1], got dtype "
               f"{str(dtype).removeprefix('torch.')} (convert with {fix})")
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        encoder(torch.zeros(1, 1, 8, 8, dtype=dtype))


def test_a_float64_module_takes_float64_and_names_its_dtype_otherwise() -> None:
    encoder = create_encoder("resnet-tiny").eval().double()
    assert encoder(torch.zeros(1, 1, 8, 8, dtype=torch.float64)).dtype == torch.float64
    with pytest.raises(ValueError, match=r"expects float64 \(the module's dtype\), got dtype "
                                         r"int32"):
        encoder(torch.zeros(1, 1, 8, 8, dtype=torch.int32))


@pytest.mark.parametrize("z_step", ["2", 2.0, True, 0])
def test_z_step_of_a_wrong_type_or_value_is_named(z_step: object) -> None:
    # was: TypeError: '<' not supported between instances of 'str' and 'int'
    with pytest.raises(ConfigError, match=rf"^z_step: expected int >= 1, got {z_step!r}$"):
        block_starts(ZRange(0, 16), 1, z_step)  # type: ignore[arg-type]


def test_z_step_takes_a_numpy_int() -> None:
    assert block_starts(ZRange(0, 16), 4, np.int64(2)).tolist() == [0, 8]


def test_models_lists_its_lazy_segmentation_names() -> None:
    assert set(SEGMENTATION_NAMES) <= set(mtneuro.models.__all__)
    assert set(SEGMENTATION_NAMES) <= set(dir(mtneuro.models))
    assert set(mtneuro.models.__all__) <= set(dir(mtneuro.models))
    assert "unet" in mtneuro.models.list_segmentation_models("2d")
    assert mtneuro.models.input_side("unet") is not None


def test_a_slice_of_results_is_results(toy, tmp_path: Path) -> None:
    results = mtneuro.evaluate(MeanBrightness(), tasks="toy/easy", preset="quick",
                               seeds=[0, 1], out=tmp_path)
    part = results[0:1]
    assert isinstance(part, Results) and len(part) == 1 and part[0] is results[0]
    assert isinstance(results[::-1], Results) and results[::-1][0] is results[1]
    assert [row["n"] for row in part.table(published=False)] == [1]  # the table works on it


@pytest.mark.parametrize("tasks", [[], ()])
def test_an_empty_task_list_is_refused(tasks: list[str], tmp_path: Path) -> None:
    # was: an empty Results, as if the encoder had been scored on nothing
    with pytest.raises(ConfigError, match=r"^tasks: expected at least one task name"):
        mtneuro.evaluate(MeanBrightness(), tasks=tasks, out=tmp_path)
    assert not any(tmp_path.iterdir())
