"""Known answers for the command-line layer (mutation audit of mtneuro.cli: options,
run_folder, preflight, main, data_*): how lists and KEY=VALUE pairs parse, which files a
run folder check refuses or removes, that preflight fails before anything is removed, the
exit code and one-line text of each kind of error, and what ``data verify`` repairs."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
from cli_probe import check, invoke, tree

from mtneuro.cli.options import parse_key_values, parse_seeds, run_task
from mtneuro.cli.preflight import (
    check_backbone,
    check_config,
    check_image_encoder,
    check_weights_file,
)
from mtneuro.folder_lock import release_run_folder
from mtneuro.cli.run_folder import check_writable_folder, prepare_run_folder
from mtneuro.errors import ConfigError

# --- KEY=VALUE pairs and seeds ------------------------------------------------------------


def test_key_values_keep_json_types_strip_keys_and_split_at_the_first_equals() -> None:
    pairs = [" seed =1", "lr=0.5", "widths=[8,16]", "flag=false", "none=null",
             "root=/a=b", "empty=", "name=x"]
    assert parse_key_values(pairs, "--set") == {
        "seed": 1, "lr": 0.5, "widths": [8, 16], "flag": False, "none": None,
        "root": "/a=b", "empty": "", "name": "x"}


@pytest.mark.parametrize("pair", ["seed", "=1", " =1", ""])
def test_a_pair_without_key_or_equals_names_the_option_and_the_pair(pair: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_key_values([pair], "--executor-param")
    assert str(err.value) == f"--executor-param: expected KEY=VALUE, got {pair!r}"


@pytest.mark.parametrize(("seeds", "extra", "expected"), [
    (("0 1 2",), (), [0, 1, 2]),
    (("0,1,2",), (), [0, 1, 2]),
    ((" 5 , 6 ",), (), [5, 6]),
    (("0",), ("1", "2"), [0, 1, 2]),  # --seeds 0 1 2: the rest arrive as arguments
    (("3", "1"), (), [3, 1]),  # repeated --seeds, in the order given
    ("4", (), [4]),
    (None, (), None),
    ((), (), None),
])
def test_seeds_parse_every_documented_form(seeds: Any, extra: tuple[str, ...],
                                           expected: list[int] | None) -> None:
    assert parse_seeds(seeds, extra) == expected


@pytest.mark.parametrize(("seeds", "extra", "message"), [
    ((), ("1", "2"), "unexpected arguments: 1 2 (use --seeds 0 1 2)"),
    (("0",), ("x",), "--seeds: expected integers, got '0 x'"),
    (("",), (), "--seeds: expected integers, got ''"),
    (("0,1",), ("0",), "--seeds: expected distinct seeds, got '0 1 0'"),
    (("-1",), (), "--seeds: expected integers in [0, 2**32), got -1"),
])
def test_bad_seeds_are_one_message_naming_what_was_given(seeds: tuple[str, ...],
                                                         extra: tuple[str, ...],
                                                         message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_seeds(seeds, extra)
    assert str(err.value) == message


def test_repeated_seeds_and_stray_arguments_fail_before_anything_is_written(tmp_path):
    check(tmp_path, ["task1", "--method", "pca", "--quick", "--seeds", "0", "0"],
          "--seeds: expected distinct seeds, got '0 0'")
    check(tmp_path, ["task1", "--method", "pca", "--quick", "1", "2"],
          "unexpected arguments: 1 2")


# --- run_task: preflight, then the run folder, then the run --------------------------------


@pytest.fixture
def fake_run(monkeypatch) -> list[tuple[str, Path, bool]]:
    """run_and_record replaced: records (task, out, resume) instead of reading any data."""
    from mtneuro.report import record

    calls: list[tuple[str, Path, bool]] = []

    def run_and_record(task, config, out, resume=False, extra=None):
        calls.append((task.name, out, resume))
        return "ran"

    monkeypatch.setattr(record, "run_and_record", run_and_record)
    return calls


def _plant(out: Path, *names: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text("kept")


def test_overwrite_removes_the_records_only_then_runs(tmp_path, fake_run):
    out = tmp_path / "run"
    _plant(out, "metrics.json", "notes.txt")
    assert run_task("task1", "quick", {"method": "pca"}, out, overwrite=True) == "ran"
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    assert fake_run == [("task1", out, False)]


def test_a_config_error_comes_before_overwrite_removes_anything(tmp_path, fake_run):
    out = tmp_path / "run"
    _plant(out, "metrics.json")
    with pytest.raises(ConfigError, match="'bogus'"):
        run_task("task1", "quick", {"method": "pca", "source_params": {"bogus": 1}}, out,
                 overwrite=True)
    assert (out / "metrics.json").read_text() == "kept" and fake_run == []
    # the same from the command line: one line, the old run untouched
    check(tmp_path, ["task1", "--method", "pca", "--quick", "--source-param", "bogus=1",
                     "--overwrite"], "'bogus'")


def test_a_task2_folder_with_checkpoints_only_is_a_run_and_resumes(tmp_path, fake_run):
    out = tmp_path / "run"
    _plant(out, "checkpoints/seed0.pt")
    with pytest.raises(ConfigError) as err:
        run_task("task2", "quick", {"model": "unet"}, out)
    assert str(err.value) == (f"--out {out} already holds a run (checkpoints); add --resume to "
                              "continue it, add --overwrite to replace it, or choose another --out")
    assert run_task("task2", "quick", {"model": "unet"}, out, resume=True) == "ran"
    assert fake_run == [("task2", out, True)] and (out / "checkpoints/seed0.pt").is_file()


# --- run folders -----------------------------------------------------------------------------


def test_the_refusal_names_three_records_then_dots(tmp_path):
    out = tmp_path / "run"
    _plant(out, "metrics.json", "encoder.pt", "encoder_first_pass.pt", "seed-0/x.json")
    with pytest.raises(ConfigError) as err:
        prepare_run_folder(out, "neural")
    assert str(err.value) == (f"--out {out} already holds a run (encoder.pt, "
                              "encoder_first_pass.pt, metrics.json, ...); add --overwrite to "
                              "replace it, or choose another --out")


@pytest.mark.parametrize(("kind", "record"), [
    ("neural", "seed-3/metrics.json"),  # a run stopped after its first seed
    ("pretrain", "train_log.jsonl"),  # stopped before its first checkpoint
    ("bench", "suite_cells.json"),
])
def test_a_partial_run_is_still_a_run(tmp_path, kind: str, record: str) -> None:
    out = tmp_path / "run"
    _plant(out, record)
    with pytest.raises(ConfigError, match="already holds a run"):
        prepare_run_folder(out, kind)


@pytest.mark.parametrize(("kind", "planted", "message"), [
    ("task", (), "--resume: this command keeps no checkpoints to resume from"),
    ("resumable-task", ("checkpoints/notes.txt",),
     ("--resume: {out} holds no run to resume (no checkpoints/seed*.pt); drop --resume and "
      "add --overwrite to start afresh")),
    ("pretrain", (), ("--resume: {out} holds no run to resume (no checkpoint.pt); drop "
                      "--resume to start a new run")),
])
def test_resume_says_why_it_cannot(tmp_path, kind: str, planted: tuple[str, ...],
                                   message: str) -> None:
    out = tmp_path / "run"
    _plant(out, *planted)
    before = tree(tmp_path)
    with pytest.raises(ConfigError) as err:
        prepare_run_folder(out, kind, resume=True)
    assert str(err.value) == message.format(out=out)
    assert tree(tmp_path) == before


def test_only_rank_zero_removes_the_old_run(tmp_path, monkeypatch):
    out = tmp_path / "run"
    _plant(out, "metrics.json")
    monkeypatch.setenv("RANK", "1")  # torchrun's other processes: rank 0 removes it
    monkeypatch.setenv("WORLD_SIZE", "2")
    prepare_run_folder(out, "task", overwrite=True)
    assert (out / "metrics.json").is_file()
    monkeypatch.delenv("WORLD_SIZE")  # a stray RANK alone is no torchrun job: this is rank 0
    prepare_run_folder(out, "task", overwrite=True)
    release_run_folder(out)
    assert not (out / "metrics.json").exists()


def test_overwrite_removes_a_linked_record_folder_but_not_what_it_links_to(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    _plant(elsewhere, "task1-x/metrics.json")
    out = tmp_path / "run"
    out.mkdir()
    (out / "cells").symlink_to(elsewhere, target_is_directory=True)
    prepare_run_folder(out, "bench", overwrite=True)
    assert not (out / "cells").exists() and not (out / "cells").is_symlink()
    assert (elsewhere / "task1-x/metrics.json").read_text() == "kept"


def test_a_writable_place_is_checked_without_making_anything(tmp_path):
    assert check_writable_folder(tmp_path / "a/b/c") == tmp_path / "a/b/c"
    assert tree(tmp_path) == {}


def test_a_file_given_as_the_folder_is_named_as_such(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ConfigError) as err:
        check_writable_folder(tmp_path / "afile", "--cache")
    assert str(err.value) == (f"--cache {tmp_path / 'afile'}: is a file; expected a folder "
                              "(choose another --cache)")


# --- preflight -------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["missing.pt", "runs/enc", "w.ckpt"])
def test_an_encoder_that_looks_like_a_path_is_a_missing_file(tmp_path, monkeypatch,
                                                             spec: str) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as err:
        check_image_encoder(spec)
    assert str(err.value) == (f"--encoder {spec}: file not found (an encoder file is the "
                              "encoder.pt that `mtneuro pretrain` or `mtneuro neural` writes in "
                              "its --out folder)")


def test_neural_names_its_option_for_a_missing_encoder_file(tmp_path, capsys) -> None:
    from mtneuro.cli.main import main

    with pytest.raises(SystemExit) as code:
        main(["neural", "--data", "chewie-1", "--encoder", str(tmp_path / "nope.pt"),
              "--out", str(tmp_path / "out")])
    assert code.value.code == 2 and not (tmp_path / "out").exists()
    assert capsys.readouterr().err.startswith(
        f"error: --encoder {tmp_path / 'nope.pt'}: file not found (an encoder file is ")


def test_a_sleep_encoder_is_refused_even_when_it_has_spatial_dims(tmp_path):
    from mtneuro.models.checkpoint import save_encoder
    from mtneuro.models.registry import create_encoder

    path = tmp_path / "sleep.pt"
    save_encoder(path, create_encoder("mlp", in_dim=4), name="mlp", kwargs={"in_dim": 4},
                 input_spec={"kind": "sleep", "spatial_dims": 2})
    with pytest.raises(ConfigError, match="an encoder of sleep .a neural encoder.., not of images"):
        check_image_encoder(str(path))


def test_weights_imagenet_needs_no_file_and_a_missing_one_is_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    check_weights_file("imagenet")
    check_weights_file(None)
    with pytest.raises(ConfigError) as err:
        check_weights_file("nope.pt")
    assert str(err.value) == ("--encoder-weights: file not found: nope.pt (expected 'imagenet' "
                              "or a file)")


def test_a_backbone_that_failed_to_build_fails_again() -> None:
    from mtneuro.tasks.pretrain.config import make_config

    config = make_config("quick", {"backbone_params": {"nosuch_audit": 3}})
    for _ in range(2):  # a cache of built backbones must not remember a failure as built
        with pytest.raises(ConfigError, match="cannot be built"):
            check_backbone(config)


@pytest.mark.parametrize(("task", "values", "message"), [
    ("task2", {"model": "unet", "window": 100000}, "window: expected at most 256"),
    ("task2", {"model": "unet", "train": {"crop": 100000}}, "train.crop: expected at most 256"),
    ("task1", {"method": "byol", "pretrain": {"crop": 100000}},
     "pretrain.crop: expected at most 256"),
    ("task1", {"method": "pca", "device": "cuda:3"}, "device 'cuda:3'"),
])
def test_check_config_names_the_nested_key(task: str, values: dict, message: str) -> None:
    from mtneuro.devices import resolve_device
    from mtneuro.tasks.registry import get_task

    if "device" in values:
        try:
            resolve_device("cuda:3", "device")
            pytest.skip("this machine has a cuda:3")
        except ConfigError:
            pass
    with pytest.raises(ConfigError) as err:
        check_config(get_task(task).make_config("quick", values))
    assert str(err.value).startswith(message), str(err.value)


def test_check_config_checks_the_seed_of_a_pretraining_config() -> None:
    from mtneuro.tasks.pretrain.config import make_config

    with pytest.raises(ConfigError, match=r"^seed: expected int in \[0, 2\*\*32\), got -1"):
        check_config(make_config("quick", {"seed": -1}))


@pytest.mark.parametrize(("args", "message"), [
    (["neural", "--data", "missing.npz", "--method", "raw"],
     "recording file missing.npz not found"),
    (["neural", "--data", "chewie-9", "--method", "raw"], "unknown recording 'chewie-9'"),
    (["pretrain", "--quick", "--source", "slice", "--source-param", "root=nowhere"],
     "root: nowhere is not a folder (not there)"),
    (["task1", "--method", "pca", "--source", "slice", "--source-param", "root=nowhere"],
     "root: nowhere is not a folder (not there)"),
])
def test_overwrite_loses_nothing_when_the_input_is_not_there(tmp_path, args, message):
    # the old run was removed before the recording or the slice root was looked for
    _plant(tmp_path / "run", "metrics.json", "encoder.pt", "checkpoint.pt")
    check(tmp_path, [*args, "--overwrite"], message)


@pytest.mark.parametrize("option", ["--source-param", "--set", "--executor-param"])
def test_a_key_given_twice_is_refused_naming_both(option: str) -> None:
    with pytest.raises(ConfigError) as err:  # the last one used to win without a word
        parse_key_values(["seed=1", " seed=2"], option)
    assert str(err.value) == (f"{option} seed: given twice ('seed=1' and ' seed=2'); "
                              "give each key once")
    assert parse_key_values(["seed=1", "root=2"], option) == {"seed": 1, "root": 2}


def test_a_source_param_given_twice_fails_on_the_command_line(tmp_path):
    check(tmp_path, ["task1", "--method", "pca", "--quick", "--source-param", "seed=1",
                     "--source-param", "seed=2"], "--source-param seed: given twice")


def test_a_recording_found_past_the_data_root_is_warned_about_once(tmp_path):
    # the look-up before the run folder is prepared must not add a second warning
    with warnings.catch_warnings(record=True) as escaped:  # a terminal would show these too
        warnings.simplefilter("always")
        outcome = invoke(["neural", "--data", "chewie-1", "--data-root", str(tmp_path),
                          "--method", "raw", "--out", "run"], tmp_path)
    assert outcome.code == 0, outcome.err
    shown = outcome.err.count("is not in data root")
    shown += sum("is not in data root" in str(w.message) for w in escaped)
    assert shown == 1, (outcome.err, [str(w.message) for w in escaped])
