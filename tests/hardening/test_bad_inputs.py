"""Issue 17, defects 5 and 6: bad inputs fail in one line (exit 2, no traceback, nothing
written) before any data is loaded, and no questionable input is silently accepted."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from cli_probe import assert_one_line_error, check, invoke, tree

from mtneuro.data.neural import load_file, load_recording
from mtneuro.errors import ConfigError, DataError

CONFIG_COMMANDS = {
    "pretrain": ["pretrain", "--quick"],
    "task1": ["task1", "--method", "supervised", "--quick"],
    "task3": ["task3", "--method", "pca", "--quick"],
}
SOURCE_COMMANDS = {**CONFIG_COMMANDS, "task2": ["task2", "--model", "unet", "--quick"]}


def test_task2_flag_and_set_giving_one_setting_twice_is_an_error(tmp_path):
    # flags win over --set, so one of the two would be dropped without a word
    check(tmp_path, ["task2", "--model", "unet", "--quick", "--epochs", "2", "--set",
                     "train.epochs=1"], "--epochs 2 and --set train.epochs=1: choose one")


@pytest.mark.parametrize("command", list(CONFIG_COMMANDS))
def test_malformed_yaml_is_one_line(tmp_path, command):
    (tmp_path / "bad.yaml").write_text("epochs: [1,\n  seed: {\n")
    check(tmp_path, [*CONFIG_COMMANDS[command], "--config", "bad.yaml"], "not valid YAML",
          "line")


@pytest.mark.parametrize(("args", "text", "needle"), [
    (["task3", "--method", "myow", "--quick"], "pretrain: 7\n", "pretrain: expected a mapping"),
    # not used by supervised, still named
    (["task1", "--method", "supervised", "--quick"], "pretrain: {bogus: 1}\n",
     "c.yaml: pretrain.bogus: unknown key"),  # the file is named, as for a top-level key
])
def test_a_nested_settings_key_given_a_scalar_or_a_typo_is_named(tmp_path, args, text, needle):
    (tmp_path / "c.yaml").write_text(text)
    check(tmp_path, [*args, "--config", "c.yaml"], needle)


def test_a_negative_distance_for_crops_with_few_cells_is_refused(tmp_path):
    (tmp_path / "c.yaml").write_text("few_cells_distance: -5\n")
    check(tmp_path, ["task3", "--method", "pca", "--quick", "--config", "c.yaml"],
          "few_cells_distance: expected float >= 0 (pixels), got -5")


@pytest.mark.parametrize(("pair", "needle"), [
    ("train=5", "--set train: expected train.KEY=VALUE"),
    ("source_params=5", "source_params: expected mapping"),
])
def test_task2_set_of_a_nested_key_to_a_scalar_is_named(tmp_path, pair, needle):
    check(tmp_path, ["task2", "--model", "unet", "--quick", "--set", pair], needle)


def test_merge_keeps_a_wrong_scalar_for_validation_and_refuses_keys_inside_it():
    from mtneuro.tasks.api import merge

    assert merge({"pretrain": 7}, {"pretrain": {"epochs": None}}) == {"pretrain": 7}
    merged = merge({"pretrain": {"epochs": 2}}, {"pretrain": {"epochs": 3, "lr": None}})
    assert merged == {"pretrain": {"epochs": 3}}
    with pytest.raises(ConfigError, match="pretrain: expected a mapping of settings, got 7"):
        merge({"pretrain": 7}, {"pretrain": {"epochs": 3}})


def test_malformed_yaml_suite_is_one_line(tmp_path):
    (tmp_path / "bad.yaml").write_text("cells: [1,\n")
    check(tmp_path, ["bench", "--suite", "bad.yaml"], "not valid YAML", "at line 2, column 1")
    (tmp_path / "binary.yaml").write_bytes(b"\xff\xfename: x\n")  # a traceback before
    check(tmp_path, ["bench", "--suite", "binary.yaml"], "cannot read it as a YAML text file")


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
    # one would be dropped silently (epochs wins in the config)
    check(tmp_path, ["neural", "--data", "chewie-1", "--epochs", "2", "--steps", "100"],
          "--epochs and --steps: choose one")


@pytest.mark.parametrize(("command", "yaml_text", "needles"), [
    (["pretrain", "--quick"], "backbone_params: {nosuch: 3}\n",
     ("backbone_params {'widths': [16, 32, 64, 128], 'nosuch': 3}: encoder 'resnet-tiny' "
      "cannot be built",)),  # the preset's widths, then the file's key
    (["pretrain", "--quick"], "backbone_params: {widths: [-1, 2]}\n",
     ("backbone_params {'widths': [-1, 2]}", "widths: expected a sequence of ints >= 1")),
    (["task1", "--method", "byol", "--quick"], "pretrain: {backbone_params: {nosuch: 3}}\n",
     ("pretrain.backbone_params {'nosuch': 3}",)),
    (["task1", "--method", "byol", "--quick"], "probe_cs: []\n",
     ("probe_cs: expected a non-empty list of floats > 0, got []",)),
])
def test_values_once_checked_only_after_the_data_was_read_fail_first(tmp_path, command,
                                                                       yaml_text, needles):
    (tmp_path / "c.yaml").write_text(yaml_text)
    check(tmp_path, [*command, "--config", "c.yaml"], *needles, within_s=20)


def test_class_weights_must_be_one_per_class_before_any_tile_is_read(tmp_path):
    check(tmp_path, ["task2", "--model", "unet", "--quick", "--class-weights", "1,2"],
          "train.class_weights: expected 4 weights, one per class, got 2", within_s=20)


def test_crop_beyond_the_tile_names_the_maximum(tmp_path):
    check(tmp_path, ["task2", "--model", "unet", "--quick", "--crop", "100000"], "256")
    (tmp_path / "big.yaml").write_text("crop: 100000\n")
    check(tmp_path, ["pretrain", "--quick", "--config", "big.yaml"], "crop", "at most 256")


def test_an_encoder_module_that_cannot_be_imported_fails_before_any_cell_runs(tmp_path):
    missing = "cannot import module 'no_such_pkg.encoders'"
    check(tmp_path, ["task1", "--method", "encoder", "--quick", "--encoder",
                     "no_such_pkg.encoders:build"], missing)
    # the bench's dry run names it too (after its line on which tasks score an encoder)
    dry = invoke(["bench", "--suite", "quick", "--dry-run", "--encoder",
                  "no_such_pkg.encoders:build", "--out", "run"], tmp_path)
    assert dry.code == 2 and dry.err_lines[-1].startswith("error: cell task1-")
    assert missing in dry.err
    check(tmp_path, ["task1", "--method", "encoder", "--quick", "--encoder", "json:no_such"],
          "module 'json' has no attribute 'no_such'")


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


def test_per_channel_input_statistics_of_one_channel_are_numbers():
    """``mtneuro pretrain --source digits`` writes ``mean: [0.31]``: a one-channel encoder."""
    from mtneuro.models.checkpoint import input_normalisation

    digits = {"mean": [0.31], "std": [0.2], "channels": 1}
    assert input_normalisation(digits) == {"mean": 0.31, "std": 0.2}
    assert input_normalisation({"mean": 0.5, "std": 0.25}) == {"mean": 0.5, "std": 0.25}
    assert input_normalisation({}) == {"mean": 0.0, "std": 1.0}
    with pytest.raises(ConfigError, match="input std 'x' is not a number"):
        input_normalisation({"std": "x"})


def test_an_rgb_image_encoder_given_to_an_image_task_is_one_line(tmp_path):
    from mtneuro.models.checkpoint import save_encoder
    from mtneuro.models.registry import create_encoder

    save_encoder(tmp_path / "rgb.pt", create_encoder("resnet18", in_channels=3), name="resnet18",
                 kwargs={"in_channels": 3},
                 input_spec={"spatial_dims": 2, "channels": 3, "mean": [0.4, 0.5, 0.6],
                             "std": [0.2] * 3})
    for command in (["task1", "--method", "encoder"], ["task3", "--method", "encoder"],
                    ["task2", "--model", "ssl-unet"]):
        check(tmp_path, [*command, "--encoder", "rgb.pt", "--quick"], "have 1 channel", within_s=30)


def test_source_params_name_a_missing_one_and_keep_numeric_folder_names(tmp_path, monkeypatch):
    from mtneuro.data.sources import source_params

    outcome = invoke(["data", "info", "--source", "cache"], tmp_path)
    assert_one_line_error(outcome, "source parameter 'root' (--source-param root=...): source "
                                   "'cache' needs it")
    check(tmp_path, ["task1", "--method", "pca", "--quick", "--source", "cache"], "needs it")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "2024").mkdir()
    assert source_params("slice", {"root": 2024}) == {"root": "2024"}  # a folder called 2024
    assert source_params("phantom", {"seed": 3}) == {"seed": 3}  # numbers stay numbers
    for bad in ("abc", 1.5, True):  # caught by bench --dry-run too, before any source opens
        with pytest.raises(ConfigError, match=re.escape(
                f"source parameter seed={bad!r} (--source-param seed=...): source 'phantom' "
                "expects an integer")):
            source_params("phantom", {"seed": bad})
    assert source_params("bossdb", {"seed": None, "timeout": 5}) == {"seed": None, "timeout": 5}
    outcome = invoke(["bench", "--suite", "quick", "--source-param", "seed=abc", "--dry-run",
                      "--out", "b"], tmp_path)
    assert_one_line_error(outcome, "source parameter seed='abc' (--source-param seed=...): "
                                   "source 'phantom' expects an integer")
    outcome = invoke(["data", "info", "--source", "slice", "--source-param", "root=2024"], tmp_path)
    assert "TypeError" not in outcome.err and "Traceback" not in outcome.err


@pytest.mark.parametrize(("source", "params", "needle"), [
    ("phantom", {"seed": -1}, r"phantom seed: expected an integer in \[0, 2\*\*31\), got -1"),
    ("bossdb", {"workers": 0}, "workers: expected int >= 1, got 0"),
    ("bossdb", {"protocol": "ftp"}, "protocol: expected 'http' or 'https'"),
    ("bossdb", {"block_shape": "16,0,512"}, "block_shape: expected 3 positive ints"),
    ("cache", {"root": "c", "memory_mb": -1}, "memory_mb: expected float >= 0, got -1"),
    ("cache", {"root": "c", "upstream": "phantom", "upstream_params": {"seed": 2**31}},
     "phantom seed: expected an integer in"),
])
def test_source_values_out_of_range_fail_before_any_source_opens(tmp_path, monkeypatch, source,
                                                                 params, needle):
    from mtneuro.data.sources import source_params

    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=needle):
        source_params(source, params)  # bossdb: no server is asked; cache: no folder made
    assert tree(tmp_path) == {}


def test_bench_dry_run_names_a_source_value_out_of_range(tmp_path):
    outcome = invoke(["bench", "--suite", "quick", "--source-param", "seed=-1", "--dry-run",
                      "--out", "b"], tmp_path)
    assert_one_line_error(outcome, "phantom seed: expected an integer in [0, 2**31), got -1")
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize(("args", "needle"), [
    # PCA's accuracy must not be recorded beside an encoder it never read
    (["task1", "--method", "pca", "--encoder", "resnet-tiny"],
     ("method 'pca' reads no encoder; an encoder (encoder=..., --encoder) is for the methods "
      "encoder, byol")),
    (["task3", "--method", "supervised", "--encoder", "resnet-tiny"],
     "method 'supervised' reads no encoder"),
    (["task1", "--method", "encoder"], "method encoder: expected encoder=SPEC (--encoder SPEC"),
    (["task1", "--method", "myow", "--dim", "3d"], "on-the-fly pre-training is 2D only"),
])
def test_encoder_and_method_must_fit_together(tmp_path, args, needle):
    check(tmp_path, [*args, "--quick"], needle, within_s=30)


def test_a_bad_key_from_a_config_file_names_the_file(tmp_path):
    (tmp_path / "bad.yaml").write_text("batch_sise: 4\n")
    check(tmp_path, ["pretrain", "--quick", "--config", "bad.yaml"],
          "bad.yaml: batch_sise: unknown key (did you mean 'batch_size'?)")
    (tmp_path / "ok.yaml").write_text("epochs: 2\n")  # a flag's bad value is not the file's
    outcome = check(tmp_path, ["pretrain", "--quick", "--config", "ok.yaml", "--source",
                               "phantomm"], "source")
    assert "ok.yaml" not in outcome.err


def test_a_misspelt_encoder_name_gets_a_suggestion(tmp_path):
    check(tmp_path, ["task1", "--method", "encoder", "--encoder", "resnet-tinyy", "--quick"],
          "did you mean 'resnet-tiny'?", "an installed 'mtneuro.encoders' entry point")


def test_a_callable_that_needs_arguments_is_one_line(tmp_path):
    check(tmp_path, ["task1", "--method", "encoder", "--encoder", "os:system", "--quick"],
          "encoder 'os:system': calling it with no arguments failed", "missing required argument")


def test_preview_and_fetch_outputs_are_checked_before_any_work(tmp_path):
    (tmp_path / "afile").write_text("x")
    for out, needle in (("x.txt", "expected a .png file"), ("afile/x.png", "afile: is a file"),
                        ("/proc/mtneuro/x.png", "cannot write in /proc")):
        assert_one_line_error(invoke(["data", "preview", "--out", out], tmp_path), needle)
    outcome = invoke(["data", "fetch", "--cache", "/proc/mtneuro-cache", "--source", "phantom",
                      "--z", "0:8", "--y", "0:64", "--x", "0:64"], tmp_path)
    assert_one_line_error(outcome, "--cache /proc/mtneuro-cache: cannot write in /proc")
    assert tree(tmp_path) == {"afile": 1}
    outcome = invoke(["data", "preview", "--out", "pv"], tmp_path)  # no suffix: a .png, said so
    assert outcome.code == 0 and "wrote pv.png" in outcome.out and (tmp_path / "pv.png").is_file()
    outcome = invoke(["data", "preview", "--out", "pv.png"], tmp_path)  # an existing file
    assert outcome.code == 0 and "replaced pv.png" in outcome.out


def test_nonexistent_data_root_is_an_error_not_a_fallback(tmp_path):
    check(tmp_path, ["neural", "--data", "chewie-1", "--data-root", "missing"], "missing")
    with pytest.raises(DataError, match="not a folder"):
        load_recording("chewie-1", tmp_path / "missing")
    # an existing root without the recording: the lookup goes on, and says so
    with pytest.warns(UserWarning, match="recording 'chewie-1' is not in data root .*; read "):
        assert load_recording("chewie-1", tmp_path).name == "chewie-1"


@pytest.mark.parametrize("given", ["/nonexistent/rec.npz", "missing_dir/rec", "rec.npy"])
def test_a_recording_path_that_is_not_there_is_called_missing_not_unknown(tmp_path, given):
    check(tmp_path, ["neural", "--data", given, "--method", "raw"],
          f"recording file {given} not found")
    with pytest.raises(DataError, match="unknown recording 'chewie-9'.*or pass the path"):
        load_recording("chewie-9")


def _reach(path, **change):
    rng = np.random.default_rng(0)
    # kind "reach": a file that says how its labels are read gets no note saying it
    arrays = {"firing_rates": rng.random((40, 5)).astype(np.float32),
              "trial": np.repeat(np.arange(8), 5), "label": np.repeat(np.arange(8), 5),
              "kind": np.array("reach")}
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


def test_every_damaged_byte_of_a_compressed_recording_loads_or_is_a_data_error(tmp_path):
    """A flipped byte in a deflate stream raised zlib.error, a traceback, not a one-line
    error; each one-byte damage must now either read as a recording or be a DataError."""
    good = tmp_path / "good.npz"
    rng = np.random.default_rng(0)
    np.savez_compressed(good, firing_rates=rng.random((40, 5)).astype(np.float32),
                        trial=np.repeat(np.arange(8), 5), label=np.repeat(np.arange(8), 5))
    raw = good.read_bytes()
    damaged = tmp_path / "damaged.npz"
    refused = 0
    for offset in range(len(raw)):
        data = bytearray(raw)
        data[offset] ^= 0xFF
        damaged.write_bytes(bytes(data))
        try:
            load_file(damaged)
        except DataError:
            refused += 1
    assert refused > 0


def test_text_and_object_npz_are_one_line(tmp_path):
    (tmp_path / "text.npz").write_text("firing_rates,label\n1,2\n")
    check(tmp_path, ["neural", "--data", "text.npz", "--method", "raw"], "not a readable NumPy")
    np.savez(tmp_path / "objects.npz", firing_rates=np.array([{"a": 1}, None], dtype=object),
             trial=np.zeros(2), label=np.zeros(2))
    check(tmp_path, ["neural", "--data", "objects.npz", "--method", "raw"], "Python objects")
    _reach(tmp_path / "nan.npz", firing_rates=np.full((40, 5), np.nan, dtype=np.float32))
    check(tmp_path, ["neural", "--data", "nan.npz", "--method", "raw"], "nan.npz", "NaN")


@pytest.mark.parametrize(("change", "needle"), [
    ({"firing_rates": np.zeros((40, 5), dtype=np.float32)},
     "every neuron's rate is constant over the training bins"),
    ({"label": np.zeros(40, dtype=int)}, "the training bins hold one class only"),
    ({"firing_rates": np.ones((40, 5)) * (1 + 1j)}, "firing_rates: expected real numbers"),
])
def test_a_recording_with_nothing_to_decode_is_one_line(tmp_path, change, needle):
    """Tracebacks before: IndexError in the 2-D projection (a confusion.png left without a
    metrics.json), scikit-learn's "needs samples of at least 2 classes"; complex rates were
    read with a warning that dropped their imaginary part."""
    _reach(tmp_path / "rec.npz", **change)
    check(tmp_path, ["neural", "--data", "rec.npz", "--method", "raw"], needle)


def test_bench_dry_run_checks_what_the_run_would_reject(tmp_path):
    check(tmp_path, ["bench", "--suite", "quick", "--dry-run", "--source-param", "bogus=1"],
          "cell ", "'bogus'")
    check(tmp_path, ["bench", "--suite", "quick", "--dry-run", "--executor-param", "=3"],
          "--executor-param")
    check(tmp_path, ["bench", "--suite", "quick", "--dry-run", "--executor-param", "foo=1"],
          "--executor-param foo: submitit parameters apply to --executor slurm or "
          "submitit-local, not to local")  # it was ignored without a word
    (tmp_path / "afile").write_text("x")
    outcome = invoke(["bench", "--suite", "quick", "--dry-run", "--out", "afile"], tmp_path)
    assert_one_line_error(outcome, "afile")


def test_data_list_refuses_a_root_that_is_not_there(tmp_path):
    outcome = invoke(["data", "list", "--root", "no_such_root"], tmp_path)
    assert_one_line_error(outcome, "--root", "no_such_root", "does not exist")
