"""Issue 17, defects 5 and 6: bad inputs fail in one line (exit 2, no traceback, nothing
written) before any data is loaded, and no questionable input is silently accepted."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from cli_probe import assert_one_line_error, invoke, tree

from mtneuro.data.neural import load_file, load_recording
from mtneuro.errors import DataError

CONFIG_COMMANDS = {
    "pretrain": ["pretrain", "--quick"],
    "task1": ["task1", "--method", "supervised", "--quick"],
    "task3": ["task3", "--method", "pca", "--quick"],
}
SOURCE_COMMANDS = {**CONFIG_COMMANDS, "task2": ["task2", "--model", "unet", "--quick"]}


def check(tmp_path, args, *needles, within_s=None):
    before = tree(tmp_path)
    start = time.perf_counter()
    outcome = invoke([*args, "--out", "run"], tmp_path)
    assert_one_line_error(outcome, *needles)
    assert tree(tmp_path) == before
    if within_s is not None:
        assert time.perf_counter() - start < within_s
    return outcome


@pytest.mark.parametrize("command", list(CONFIG_COMMANDS))
def test_malformed_yaml_is_one_line(tmp_path, command):
    (tmp_path / "bad.yaml").write_text("epochs: [1,\n  seed: {\n")
    check(tmp_path, [*CONFIG_COMMANDS[command], "--config", "bad.yaml"], "not valid YAML",
          "line")


def test_malformed_yaml_suite_is_one_line(tmp_path):
    (tmp_path / "bad.yaml").write_text("cells: [1,\n")
    check(tmp_path, ["bench", "--suite", "bad.yaml"], "not valid YAML")


@pytest.mark.parametrize("command", list(SOURCE_COMMANDS))
def test_unknown_source_param_is_one_line(tmp_path, command):
    check(tmp_path, [*SOURCE_COMMANDS[command], "--source-param", "path=X"], "'path'",
          "takes: seed")


@pytest.mark.parametrize(("args", "needle"), [
    (["pretrain", "--quick", "--seed", "-1"], "seed"),
    (["task1", "--method", "supervised", "--quick", "--seeds", "-1"], "--seeds"),
    (["task2", "--model", "unet", "--quick", "--seeds", "-5,0"], "--seeds"),
    (["neural", "--data", "chewie-1", "--seed", "-3"], "--seed"),
])
def test_negative_seed_is_one_line(tmp_path, args, needle):
    check(tmp_path, args, needle)


def test_seed_beside_seeds_is_an_error(tmp_path):
    check(tmp_path, ["neural", "--data", "chewie-1", "--seed", "3", "--seeds", "0", "1"],
          "--seed and --seeds")


def test_crop_beyond_the_tile_names_the_maximum(tmp_path):
    check(tmp_path, ["task2", "--model", "unet", "--quick", "--crop", "100000"], "256")
    (tmp_path / "big.yaml").write_text("crop: 100000\n")
    check(tmp_path, ["pretrain", "--quick", "--config", "big.yaml"], "crop", "at most 256")


def test_garbage_encoder_weights_file_is_one_line(tmp_path):
    (tmp_path / "junk.pt").write_bytes(b"\x00garbage" * 10)
    check(tmp_path, ["task2", "--model", "unet", "--quick", "--encoder-weights", "junk.pt"],
          "junk.pt", "loads safely")
    torch.save({"epoch": 3}, tmp_path / "nostate.pt")
    check(tmp_path, ["task2", "--model", "unet", "--quick", "--encoder-weights", "nostate.pt"],
          "state dict")


def test_neural_encoder_given_to_an_image_task_is_one_line(tmp_path):
    from mtneuro.models.checkpoint import save_encoder
    from mtneuro.models.registry import create_encoder

    save_encoder(tmp_path / "encoder.pt", create_encoder("mlp", in_dim=12), name="mlp",
                 kwargs={"in_dim": 12}, input_spec={"kind": "reach"})
    for command in ("task1", "task3"):
        check(tmp_path, [command, "--method", "encoder", "--encoder", "encoder.pt", "--quick"],
              "not of images", within_s=30)


def test_nonexistent_data_root_is_an_error_not_a_fallback(tmp_path):
    check(tmp_path, ["neural", "--data", "chewie-1", "--data-root", "missing"], "missing")
    with pytest.raises(DataError, match="not a folder"):
        load_recording("chewie-1", tmp_path / "missing")


def _reach(path, **change):
    rng = np.random.default_rng(0)
    arrays = {"firing_rates": rng.random((40, 5)).astype(np.float32),
              "trial": np.repeat(np.arange(8), 5), "label": np.repeat(np.arange(8), 5)}
    arrays.update(change)
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize(("change", "needle"), [
    ({"firing_rates": np.full((40, 5), np.nan, dtype=np.float32)}, "firing_rates: 200 of 200"),
    ({"firing_rates": np.where(np.eye(40, 5) > 0, np.inf, 1.0)}, "NaN or infinite"),
    ({"label": np.repeat(np.arange(8), 5) + 0.5}, "label: expected integers"),
    ({"firing_rates": np.zeros((0, 5), dtype=np.float32), "trial": np.zeros(0, int),
      "label": np.zeros(0, int)}, "is empty"),
])
def test_bad_recording_arrays_name_the_file_and_key(tmp_path, change, needle):
    path = _reach(tmp_path / "rec.npz", **change)
    with pytest.raises(DataError, match=needle) as err:
        load_file(path)
    assert str(path) in str(err.value)


def test_text_and_object_npz_are_one_line(tmp_path):
    (tmp_path / "text.npz").write_text("firing_rates,label\n1,2\n")
    check(tmp_path, ["neural", "--data", "text.npz", "--method", "raw"], "not a readable NumPy")
    np.savez(tmp_path / "objects.npz", firing_rates=np.array([{"a": 1}, None], dtype=object),
             trial=np.zeros(2), label=np.zeros(2))
    check(tmp_path, ["neural", "--data", "objects.npz", "--method", "raw"], "Python objects")
    _reach(tmp_path / "nan.npz", firing_rates=np.full((40, 5), np.nan, dtype=np.float32))
    check(tmp_path, ["neural", "--data", "nan.npz", "--method", "raw"], "nan.npz", "NaN")


def test_bench_dry_run_checks_what_the_run_would_reject(tmp_path):
    check(tmp_path, ["bench", "--suite", "quick", "--dry-run", "--source-param", "bogus=1"],
          "cell ", "'bogus'")
    check(tmp_path, ["bench", "--suite", "quick", "--dry-run", "--executor-param", "=3"],
          "--executor-param")
    (tmp_path / "afile").write_text("x")
    outcome = invoke(["bench", "--suite", "quick", "--dry-run", "--out", "afile"], tmp_path)
    assert_one_line_error(outcome, "afile")
