"""What a researcher bringing their own encoder is told when it does not fit (found by a
walkthrough of docs/bring_your_own_encoder.md): every mistake is one line that names the
fix, and the encoder's own errors never escape as a traceback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from cli_probe import invoke
from torch import nn

from mtneuro.cli.preflight import check_image_encoder
from mtneuro.errors import CheckpointError, ConfigError, DataError
from mtneuro.models import resolve_encoder
from mtneuro.models.checkpoint import ONE_CHANNEL, load_encoder
from mtneuro.registry import ON_PATH, dotted_module
from mtneuro.tasks.features import extract_features

MODULE = '''
from torch import nn


class RGB(nn.Module):  # an ImageNet-style encoder: three input channels, out_dim declared
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.out_dim = 4

    def forward(self, x):
        return self.conv(x).mean(dim=(2, 3))


def build_rgb():
    return RGB()


def build_needing_a_dependency():
    import no_such_dependency_xyz  # noqa: F401
'''


@pytest.fixture
def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    package = tmp_path / "byo_pkg_msgs"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "encoders.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


class _Raises(nn.Module):
    out_dim = 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise ValueError("boom in forward")


def test_an_error_in_the_encoders_forward_is_one_line_naming_the_batch() -> None:
    images = np.zeros((3, 1, 8, 8), dtype=np.uint8)
    with pytest.raises(DataError) as info:
        extract_features(_Raises(), images, batch_size=2)
    message = str(info.value)
    assert message.startswith("encoder _Raises: forward on a batch of shape (2, 1, 8, 8) "
                              "raised ValueError: boom in forward")
    assert message.endswith(ONE_CHANNEL) and "\n" not in message


def test_a_three_channel_encoder_declaring_out_dim_fails_task1_in_one_line(
        user_module: Path) -> None:
    # with out_dim declared no dummy forward runs first: the task's own forward fails
    outcome = invoke(["task1", "--method", "encoder", "--quick", "--seeds", "0", "--z-step", "64",
                      "--encoder", "byo_pkg_msgs.encoders:build_rgb", "--out", "run"],
                     user_module)
    assert outcome.code == 2, outcome.err
    assert len(outcome.err_lines) == 1 and "Traceback" not in outcome.err
    assert "forward on a probe batch of random pixels (2, 1, 64, 64)" in outcome.err
    assert "3 channels" in outcome.err
    assert "x.expand(-1, 3, -1, -1)" in outcome.err


def test_a_whole_pickled_model_is_refused_with_the_state_dict_route(tmp_path: Path) -> None:
    from mtneuro.models import create_encoder

    model = create_encoder("resnet-tiny", widths=(4, 8))
    torch.save(model, tmp_path / "whole.pt")
    with pytest.raises(CheckpointError) as info:
        load_encoder(tmp_path / "whole.pt")
    message = str(info.value)
    assert "holds pickled Python objects, which mtneuro never unpickles" in message
    assert "save model.state_dict() instead and load it inside a module:callable" in message
    assert "damaged" not in message
    torch.save(model.state_dict(), tmp_path / "bare.pt")
    with pytest.raises(DataError, match="a bare state_dict names no architecture: load it "
                                        "inside a module:callable"):
        load_encoder(tmp_path / "bare.pt")
    (tmp_path / "junk.pt").write_bytes(b"hello")
    with pytest.raises(CheckpointError, match="the file is damaged") as junk:
        load_encoder(tmp_path / "junk.pt")
    assert "pickled Python objects" not in str(junk.value)


@pytest.mark.parametrize(("text", "module"), [
    ("mypkg/encoders.py", "mypkg.encoders"), ("./enc.py", "enc"),
    ("a\\b\\c.py", "a.b.c"), ("mypkg/sub/", "mypkg.sub")])
def test_dotted_module_is_the_import_name_of_a_relative_file(text: str, module: str) -> None:
    assert dotted_module(text) == module


@pytest.mark.parametrize("check", [resolve_encoder, check_image_encoder])
def test_a_python_file_given_as_an_encoder_is_told_the_module_form(
        user_module: Path, monkeypatch: pytest.MonkeyPatch, check) -> None:
    monkeypatch.chdir(user_module)
    with pytest.raises(ConfigError, match=r"name the module as Python imports it, not its "
                                          r"file: byo_pkg_msgs\.encoders:build_rgb \("):
        check("byo_pkg_msgs/encoders.py:build_rgb")
    # an existing .py file is a module to import, not a checkpoint to unpickle
    with pytest.raises(ConfigError, match=r"a Python file is no encoder; give its module and "
                                          r"the callable .*, byo_pkg_msgs\.encoders:CALLABLE"):
        check("byo_pkg_msgs/encoders.py")


def test_a_module_off_the_path_is_told_about_pythonpath_a_missing_dependency_is_not(
        user_module: Path) -> None:
    with pytest.raises(ConfigError) as off_path:
        resolve_encoder("not_on_path_pkg_xyz.encoders:build")
    assert str(off_path.value).endswith(f"(No module named 'not_on_path_pkg_xyz'); {ON_PATH}")
    with pytest.raises(ConfigError) as dependency:
        resolve_encoder("byo_pkg_msgs.encoders:build_needing_a_dependency")
    assert "no_such_dependency_xyz" in str(dependency.value)
    assert ON_PATH not in str(dependency.value)


def test_task3_card_says_a_user_encoder_is_normalised_only_as_it_declares() -> None:
    from mtneuro.tasks.protocol import task3_card
    from mtneuro.tasks.registry import get_task

    task = get_task("task3")
    user = task3_card(task.make_config("quick", {"method": "encoder", "encoder": "x:y"}))
    ssl = task3_card(task.make_config("quick", {"method": "byol"}))
    assert ("encoder inputs normalised with the mean / std the encoder declares, if any "
            "(reference: [0, 1] intensities, annots/latents.py:23-39)") in user["deviations"]
    assert ("encoder inputs normalised with the encoder's mean / std (reference: [0, 1] "
            "intensities, annots/latents.py:23-39)") in ssl["deviations"]


def test_the_result_line_names_the_encoder_it_scored() -> None:
    from mtneuro.vocab import method_label

    assert method_label({"method": "encoder", "encoder": "mypkg.enc:build"}) == (
        "encoder (mypkg.enc:build)")
    assert method_label({"method": "pca", "encoder": None}) == "pca"


def test_an_encoder_made_for_another_input_size_is_told_the_size_not_the_channels() -> None:
    # t3walk F6: a forward that needs 64 x 64 fails on task 3's 32 x 32 crops; the RGB advice
    # sent the user the wrong way
    import torch
    from torch import nn

    from mtneuro.errors import DataError
    from mtneuro.tasks.features import _forward

    class Fixed64(nn.Module):
        input_spec = {"size": 64}

        def __init__(self) -> None:
            super().__init__()
            self.linear = nn.Linear(64 * 64, 8)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.linear(x.flatten(1))

    with pytest.raises(DataError, match=r"it declares input size 64 but this task feeds 32 x 32 "
                                        r"inputs") as info:
        _forward(Fixed64(), torch.zeros(2, 1, 32, 32))
    assert "RGB" not in str(info.value)
    _forward(Fixed64(), torch.zeros(2, 1, 64, 64))  # the size it declares: no error


def test_a_3d_block_whose_depth_differs_from_the_declared_size_gets_no_size_hint() -> None:
    # the declared size is in-plane: a 64 x 64 block 8 slices deep is at the encoder's own
    # size, so its failure is about channels or values, not about taking other sizes
    import torch
    from torch import nn

    from mtneuro.errors import DataError
    from mtneuro.tasks.features import _forward

    class RgbOnly3d(nn.Module):
        input_spec = {"size": 64, "spatial_dims": 3}

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.shape[1] != 3:
                raise ValueError("expected 3 channels")
            return x.flatten(1)

    with pytest.raises(DataError) as info:
        _forward(RgbOnly3d(), torch.zeros(2, 1, 8, 64, 64))
    assert "declares input size" not in str(info.value)
    assert "one-channel" in str(info.value)
    with pytest.raises(DataError, match=r"declares input size 64 but this task feeds 32 x 32"):
        _forward(RgbOnly3d(), torch.zeros(2, 1, 8, 32, 32))
