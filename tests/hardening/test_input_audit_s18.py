"""Input checks found missing by the session-18 input audit: each bad value is refused where
the config is built (or the argument given), in one line naming the key and the value, not
deep inside a run or as another key's message."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import pytest
import torch
from cli_probe import check, invoke
from torch import nn

from mtneuro.errors import ConfigError


def test_an_unknown_task2_model_is_named_where_the_config_is_built(tmp_path: Path) -> None:
    from mtneuro.tasks.segmentation.config import task2_config

    with pytest.raises(ConfigError, match=r"^model: expected one of unet, .*got 'unett' "
                                          r"\(did you mean 'unet'\?\)"):
        task2_config(None, model="unett")
    # a suite entry without a preset passed the dry run and failed its cell at run time
    (tmp_path / "s.yaml").write_text("name: s\nseeds: [0]\ngrid:\n"
                                     "  - {task: task2, setting: 2d-4class, methods: [unett]}\n")
    check(tmp_path, ["bench", "--suite", "s.yaml", "--dry-run", "--out", "o"],
          "s.yaml: grid[0].methods", "got 'unett'")


@pytest.mark.parametrize("key", ["projector_hidden", "projector_out", "predictor_hidden",
                                 "mined_projector_hidden", "mined_out"])
def test_a_head_width_below_one_is_named_by_its_own_key(key: str) -> None:
    # all were refused later as "head hidden_dim: expected int >= 1"
    from mtneuro.tasks.pretrain.config import make_config

    with pytest.raises(ConfigError, match=rf"^{key}: expected int > 0, got -5$"):
        make_config("quick", {key: -5})


class _NoFeatures(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.new_zeros(x.shape[0], 0)


def test_an_encoder_of_no_features_is_refused_before_a_probe_fits() -> None:
    from mtneuro.models.user import infer_out_dim

    with pytest.raises(ConfigError, match=r"encoder 'mine': expected output \(B, D\) with "
                                          r"D >= 1 .*got \(2, 0\)"):
        infer_out_dim(_NoFeatures(), {"in_channels": 1, "size": 16, "spatial_dims": 2},
                      spec="mine")


@pytest.mark.parametrize("weight, mix", [(-1.0, "normalised"), (-0.99, "normalised"),
                                         (math.nan, "normalised"), (1.5, "convex")])
def test_myow_refuses_a_mined_weight_its_loss_mix_cannot_take(weight: float, mix: str) -> None:
    # -1 divided by zero; -0.99 gave a loss of -13; convex 1.5 a negative BYOL weight
    from mtneuro.models import create_encoder
    from mtneuro.ssl.myow import create_method

    torch.manual_seed(0)
    method = create_method("myow", create_encoder("resnet-tiny", in_channels=1, widths=(4, 8)),
                           projector_hidden=8, projector_out=4, predictor_hidden=8,
                           mined_projector_hidden=8, mined_out=4, loss_mix=mix)
    x = torch.rand(4, 1, 8, 8)
    with pytest.raises(ConfigError, match=r"mined_weight: expected a float in \[0, "):
        method(x, x, pool=x, mined_weight=weight)
    assert torch.isfinite(method(x, x, pool=x, mined_weight=0.5)["loss"])


def test_a_non_finite_class_weight_is_named_as_such(tmp_path: Path) -> None:
    # was "expected str or list of float, got [nan, 1.0, 1.0, 1.0]", a list of floats
    check(tmp_path, ["task2", "--model", "unet", "--quick", "--class-weights", "nan,1,1,1",
                     "--out", "o"], "train.class_weights[0]: expected a finite float, got nan")


@pytest.mark.parametrize("yaml_text, needles", [
    ("name: s\nseeds: [0]\ngrid:\n  - {task: task1, setting: roi-c1, methods: [pca], "
     "preset: quik}\n", ("s.yaml: grid[0].preset: unknown task1 preset 'quik'",
                         "did you mean 'quick'")),
    ("name: s\nseeds: [0]\nsource: phantm\ngrid:\n  - {task: task1, setting: roi-c1, "
     "methods: [pca]}\n", ("s.yaml: source: unknown source 'phantm'", "did you mean 'phantom'")),
])
def test_a_suite_names_a_bad_preset_or_source_with_its_file_and_place(
        tmp_path: Path, yaml_text: str, needles: tuple[str, ...]) -> None:
    (tmp_path / "s.yaml").write_text(yaml_text)
    check(tmp_path, ["bench", "--suite", "s.yaml", "--dry-run", "--out", "o"], *needles)


def test_more_neural_threads_than_cpus_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    from mtneuro.tasks.neural.train import compute_threads

    monkeypatch.setenv("OMP_NUM_THREADS", "2")  # the CPUs this process may use, as set
    with pytest.warns(UserWarning, match="threads 8: more than the 2 CPU"):
        with compute_threads(8):
            pass
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # none within the CPUs
        with compute_threads(2):
            pass


def test_task1_backbone_is_checked_for_supervised_runs_and_named_unused_otherwise(
        tmp_path: Path) -> None:
    from mtneuro.tasks.region_unused import complete_task1, unused_settings
    from mtneuro.tasks.region_config import Task1Config

    config = Task1Config(method="pca", backbone="foo")
    assert any(line.startswith("backbone not used: read only by supervised training")
               for line in unused_settings(config, ["backbone"]))
    with pytest.raises(ConfigError, match=r"^backbone: unknown encoder 'foo'; valid: "):
        complete_task1(Task1Config, {"method": "supervised", "backbone": "foo"})


def test_running_out_of_memory_is_one_line_with_what_to_lower(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A setting too big for the machine (task-1 input_size 100000 tried to allocate 5.4 TB)
    is no bug: one line, not a traceback."""
    from mtneuro.report import html

    def too_big(*args: object, **kwargs: object) -> None:
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:127] DefaultCPUAllocator: can't "
                           "allocate memory: you tried to allocate 5440000000000 bytes.")

    (tmp_path / "run").mkdir()
    monkeypatch.setattr(html, "build_report", too_big)
    outcome = invoke(["report", "run"], tmp_path)
    assert outcome.code == 1 and len(outcome.err_lines) == 1, outcome.err
    assert outcome.err.startswith("error: out of memory ([enforce fail") and (
        "lower the batch size or the input / crop size" in outcome.err)
