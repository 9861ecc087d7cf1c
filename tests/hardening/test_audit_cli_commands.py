"""Known answers for the task commands (mutation audit of mtneuro.cli bench, neural,
pretrain, task1, task2, task3, data): which values each command hands to the task layer,
which preset it picks, how it refuses a bad value or combination (exit code 2, one line
naming the option, the value and what was expected), what it writes and prints.

Most tests stop a command where it would run its task (``run_and_record`` / ``run_pretrain``
/ ``run_suite`` replaced), so they check the command layer alone and stay fast."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cli_probe import assert_one_line_error, check, invoke

from mtneuro.config import to_dict


class _Ran(Exception):
    """Stops a command where it would run its task."""


@pytest.fixture
def ran(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """``run_and_record`` replaced: each call is recorded (task, config as plain data,
    folder, resume), then the command stops with :class:`_Ran`."""
    from mtneuro.report import record

    seen: list[dict[str, Any]] = []

    def fake(task: Any, config: Any, out_dir: Any, *, resume: bool = False, **_: Any) -> None:
        seen.append({"task": task.name, "config": to_dict(config), "out": Path(out_dir),
                     "resume": resume})
        raise _Ran

    monkeypatch.setattr(record, "run_and_record", fake)
    return seen


def _config(tmp_path: Path, ran: list[dict[str, Any]], args: list[str]) -> dict[str, Any]:
    """The config ``mtneuro ARGS --out run`` would run."""
    with pytest.raises(_Ran):
        invoke([*args, "--out", "run"], tmp_path)
    return ran[-1]["config"]


# --- task1 / task3: every flag reaches the config ------------------------------------------


def test_task1_hands_every_flag_to_the_config(tmp_path: Path, ran: list) -> None:
    config = _config(tmp_path, ran, [
        "task1", "--method", "pca", "--quick", "--setting", "roi-c3", "--dim", "3d",
        "--protocol", "paper", "--z-step", "4", "--epochs", "3",
        "--source-param", "seed=5", "--seeds", "1", "2"])
    assert ran[-1]["task"] == "task1" and ran[-1]["out"] == Path("run")
    assert (config["setting"], config["dim"], config["protocol"]) == ("roi-c3", "3d", "paper")
    assert (config["z_step"], config["epochs"], config["quick"]) == (4, 3, True)
    assert config["source_params"] == {"seed": 5} and config["seeds"] == [1, 2]


def test_task1_defaults_and_the_config_file_under_the_flags(tmp_path: Path, ran: list) -> None:
    config = _config(tmp_path, ran, ["task1", "--method", "pca"])
    assert (config["setting"], config["dim"], config["quick"]) == ("roi-c1", "2d", False)
    (tmp_path / "c.yaml").write_text("z_step: 6\nepochs: 7\n")
    config = _config(tmp_path, ran, ["task1", "--method", "pca", "--config", "c.yaml",
                                     "--epochs", "2"])
    assert (config["z_step"], config["epochs"]) == (6, 2)  # the file's, then the flag's


def test_task3_hands_every_flag_to_the_config(tmp_path: Path, ran: list) -> None:
    config = _config(tmp_path, ran, [
        "task3", "--method", "pca", "--quick", "--setting", "roi-c3", "--z-step", "4",
        "--connectivity", "2d", "--exact-features", "--source-param", "seed=2"])
    assert (config["setting"], config["z_step"], config["connectivity"]) == ("roi-c3", 4, "2d")
    assert config["quick"] is True
    assert config["reference_features"] is False  # --exact-features: the corrected ones
    assert config["source_params"] == {"seed": 2}
    (tmp_path / "c.yaml").write_text("z_step: 6\n")
    config = _config(tmp_path, ran, ["task3", "--method", "pca", "--config", "c.yaml"])
    assert (config["reference_features"], config["quick"], config["z_step"]) == (True, False, 6)


@pytest.mark.parametrize("command", ["task1", "task3"])
def test_pretrain_epochs_reach_the_on_the_fly_pretraining(tmp_path: Path, ran: list,
                                                          command: str) -> None:
    config = _config(tmp_path, ran, [command, "--method", "byol", "--quick",
                                     "--pretrain-epochs", "2"])
    assert config["pretrain"]["epochs"] == 2 and config["pretrain"]["method"] == "byol"


# --- task2 ------------------------------------------------------------------------------


def test_task2_hands_flags_and_set_pairs_to_the_config(tmp_path: Path, ran: list) -> None:
    config = _config(tmp_path, ran, [
        "task2", "--model", "unet", "--quick", "--classes", "3", "--lr", "0.5",
        "--class-weights", "1,2.5,3", "--set", "train.steps_per_epoch=2",
        "--set", 'train={"momentum": 0.5}', "--set", "test_z_step=9",
        "--set", "model=fpn", "--source-param", "seed=2"])  # a flag wins over --set
    assert (config["model"], config["classes"], config["test_z_step"]) == ("unet", 3, 9)
    train = config["train"]
    assert (train["lr"], train["steps_per_epoch"], train["momentum"]) == (0.5, 2, 0.5)
    assert train["class_weights"] == [1.0, 2.5, 3.0]
    assert train["epochs"] == 8  # the quick preset's
    assert config["source_params"] == {"seed": 2}


def test_task2_paper_preset_and_named_class_weights(tmp_path: Path, ran: list) -> None:
    config = _config(tmp_path, ran, ["task2", "--model", "unet", "--paper",
                                     "--class-weights", "balanced"])
    train = config["train"]
    assert (train["optimizer"], train["lr"], train["epochs"], config["train_z_step"]) == (
        "sgd", 0.01, 5, 1)
    assert train["class_weights"] == "balanced"


@pytest.mark.parametrize(("args", "message"), [
    (["--quick", "--paper"], "--quick and --paper: choose one preset"),
    (["--class-weights", "1,x"],
     "--class-weights: expected none, balanced or numbers, got '1,x'"),
    (["--set", "train=3"],
     "--set train: expected train.KEY=VALUE (e.g. train.lr=0.01) or a JSON mapping, got 3"),
])
def test_task2_refuses_bad_combinations_in_one_line(tmp_path: Path, ran: list, args: list[str],
                                                     message: str) -> None:
    # (``ran`` stops a command that lets the combination through before it trains)
    outcome = check(tmp_path, ["task2", "--model", "unet", *args])
    assert outcome.err == f"error: {message}\n"


def test_task2_resume_reaches_the_run(tmp_path: Path, ran: list) -> None:
    (tmp_path / "run" / "checkpoints").mkdir(parents=True)
    (tmp_path / "run" / "checkpoints" / "seed0.pt").write_bytes(b"x")
    _config(tmp_path, ran, ["task2", "--model", "unet", "--quick", "--resume"])
    assert ran[-1]["resume"] is True


# --- neural -------------------------------------------------------------------------------

NEURAL = ["neural", "--data", "chewie-1"]  # the packaged recording: always there


def test_neural_hands_every_flag_to_the_config(tmp_path: Path, ran: list) -> None:
    config = _config(tmp_path, ran, [*NEURAL, "--method", "byol", "--split", "kfold",
                                     "--folds", "4", "--steps", "7", "--no-refit-ensemble"])
    assert (config["method"], config["split"], config["folds"]) == ("byol", "kfold", 4)
    assert (config["steps"], config["refit"], config["refit_ensemble"]) == (7, True, False)
    assert config["seed"] == 0  # the documented default seed
    assert ran[-1]["out"] == Path("run")  # one seed: no seed-S/ folder


def test_neural_folds_below_three_name_the_option_and_the_range(tmp_path: Path,
                                                               ran: list) -> None:
    outcome = check(tmp_path, [*NEURAL, "--split", "kfold", "--folds", "2"])
    assert outcome.err == ("error: Invalid value for '--folds': 2 is not in the range x>=3. "
                           "(see mtneuro neural --help)\n")


def test_a_missing_recording_with_overwrite_keeps_the_old_run(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "metrics.json").write_text("{}")
    outcome = invoke(["neural", "--data", "nosuch.npz", "--method", "raw", "--overwrite",
                      "--out", "run"], tmp_path)
    assert_one_line_error(outcome, "nosuch.npz")
    assert (tmp_path / "run" / "metrics.json").read_text() == "{}"


def test_neural_encoder_meta_names_the_seed_and_no_stage_without_refit(tmp_path: Path) -> None:
    import torch

    outcome = invoke([*NEURAL, "--method", "byol", "--steps", "5", "--no-refit", "--seed", "3",
                      "--out", "run"], tmp_path)
    assert outcome.code == 0, outcome.err
    meta = torch.load(tmp_path / "run" / "encoder.pt", weights_only=True)["meta"]
    sha = meta.pop("recording_sha256")  # the recording's files (encoder_origin reads them)
    assert len(sha) == 1 and len(sha[0]) == 64
    assert meta == {"method": "byol", "seed": 3, "recording": "chewie-1", "steps": 5,
                    "selected_step": 5, "task": "neural", "split": "trial", "refit": False,
                    "ensemble": False}


# --- pretrain -----------------------------------------------------------------------------


@pytest.fixture
def pretrained(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """``run_pretrain`` replaced: records its config, returns ``state["result"]``."""
    from mtneuro.tasks.pretrain import run

    state: dict[str, Any] = {"configs": [], "result": {
        "is_main": True, "steps_run": 4, "final_loss": 0.25, "steps": 4, "epochs": 2,
        "samples_per_s": 10.0, "pool_size": 0, "n_images": 8, "world_size": 1,
        "step_mode": "eager", "compile_mode": None, "wall_s": 1.5, "backbone": "resnet-tiny",
        "view": {}, "lr": 0.125, "source": {"source": "phantom"}, "encoder": "run/encoder.pt"}}

    def fake(config: Any) -> dict[str, Any]:
        state["configs"].append(config)
        return state["result"]

    monkeypatch.setattr(run, "run_pretrain", fake)
    return state


def test_pretrain_hands_flags_to_the_run_and_records_it(tmp_path: Path,
                                                       pretrained: dict[str, Any]) -> None:
    outcome = invoke(["pretrain", "--quick", "--seed", "5", "--batch-size", "4", "--step",
                      "eager", "--device", "auto", "--out", "run"], tmp_path)
    assert outcome.code == 0, outcome.err
    config = pretrained["configs"][-1]
    assert (config.seed, config.batch_size, config.step, config.epochs) == (5, 4, "eager", 25)
    record = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert record["config"]["device"] == "cpu"  # "auto" resolved: the device that ran
    assert record["metrics"]["peak_lr"] == 0.125 and record["metrics"]["steps"] == 4
    assert outcome.out == ("myow on phantom: 4 steps, final loss 0.2500, 10 samples/s over "
                           "1.5 s of training (step eager); encoder -> run/encoder.pt\n")


def test_probe_of_a_volume_source_is_refused(tmp_path: Path, pretrained: dict) -> None:
    outcome = check(tmp_path, ["pretrain", "--quick", "--probe"])
    assert outcome.err == ("error: --probe: only for labelled image sources (digits, cifar10, "
                           "cifar100, folder), got source 'phantom'\n")
    assert not pretrained["configs"]


def test_resume_from_the_config_file_is_kept_without_the_flag(tmp_path: Path,
                                                              pretrained: dict) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "checkpoint.pt").write_bytes(b"x")
    (tmp_path / "c.yaml").write_text("resume: true\n")
    outcome = invoke(["pretrain", "--quick", "--config", "c.yaml", "--out", "run"], tmp_path)
    assert outcome.code == 0, outcome.err
    assert pretrained["configs"][-1].resume is True


def test_a_finished_run_resumed_keeps_its_record(tmp_path: Path, pretrained: dict) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "checkpoint.pt").write_bytes(b"x")
    (tmp_path / "run" / "metrics.json").write_text("{}")
    pretrained["result"] = {**pretrained["result"], "steps_run": 0}
    outcome = invoke(["pretrain", "--quick", "--resume", "--out", "run"], tmp_path)
    assert outcome.code == 0, outcome.err
    assert outcome.out == ("run already holds all 2 epochs; nothing to resume (final loss "
                           "0.2500); its metrics.json is kept\n")
    assert (tmp_path / "run" / "metrics.json").read_text() == "{}"


def test_only_the_main_process_writes_and_prints(tmp_path: Path, pretrained: dict) -> None:
    pretrained["result"] = {**pretrained["result"], "is_main": False}
    outcome = invoke(["pretrain", "--quick", "--out", "run"], tmp_path)
    assert outcome.code == 0 and outcome.out == ""
    assert not (tmp_path / "run" / "metrics.json").exists()


# --- bench --------------------------------------------------------------------------------


@pytest.fixture
def suite_run(monkeypatch: pytest.MonkeyPatch) -> dict[str, list]:
    """``run_suite`` replaced (records the cells, returns ``state["states"]``) and the
    report builder too (a stand-in run leaves no cell record to report)."""
    from mtneuro.bench import runner
    from mtneuro.report import html

    state: dict[str, list] = {"cells": [], "states": []}

    def fake(cells: list, options: Any) -> list:
        state["cells"].extend(cells)
        return state["states"]

    monkeypatch.setattr(runner, "run_suite", fake)
    monkeypatch.setattr(html, "build_report",
                        lambda out_dir, left_out: {"html": "r.html", "markdown": "l.md"})
    return state


@pytest.mark.parametrize("jobs", ["0", "-2", "many"])
def test_bench_jobs_name_the_option_the_value_and_what_it_takes(tmp_path: Path,
                                                                jobs: str) -> None:
    outcome = check(tmp_path, ["bench", "--suite", "quick", "--dry-run", "--jobs", jobs])
    assert outcome.err == (f"error: Invalid value for '--jobs': expected 'auto' or an int >= 1, "
                           f"got '{jobs}' (see mtneuro bench --help)\n")


@pytest.mark.parametrize("jobs", ["auto", "AUTO", " Auto"])
def test_bench_jobs_auto_in_any_case_as_its_help_writes_it(tmp_path: Path, jobs: str) -> None:
    from mtneuro.cli.bench import JOBS

    assert JOBS.convert(jobs, None, None) == "auto" and JOBS.convert("3", None, None) == 3


def test_bench_source_params_go_over_the_suites_and_seeds_and_ddp_reach_the_cells(
        tmp_path: Path, suite_run: dict[str, list]) -> None:
    (tmp_path / "s.yaml").write_text(
        "name: s\nsource_params: {seed: 1}\nseeds: [0]\n"
        "grid:\n  - {task: task1, setting: roi-c1, methods: [pca, byol], preset: quick}\n")
    outcome = invoke(["bench", "--suite", "s.yaml", "--source-param", "seed=3", "--seeds", "4",
                      "--ddp-procs", "2", "--quiet", "--out", "run"], tmp_path)
    assert outcome.code == 0, outcome.err
    seen = suite_run["cells"]
    assert [c.id for c in seen] == ["task1-roi-c1-pca-s4", "task1-roi-c1-byol-s4"]
    assert [c.source_params for c in seen] == [{"seed": 3}] * 2
    assert [c.ddp_procs for c in seen] == [1, 2]  # only the cell that pre-trains


def test_bench_dry_run_names_the_torchrun_cells(tmp_path: Path) -> None:
    outcome = invoke(["bench", "--suite", "quick", "--ddp-procs", "2", "--dry-run", "--out",
                      "run"], tmp_path)
    assert outcome.code == 0, outcome.err
    lines = [line for line in outcome.out.splitlines() if line.startswith("task1-")]
    assert lines[:2] == ["task1-roi-c1-supervised-s0  (source phantom, preset quick)",
                         ("task1-roi-c1-byol-s0  (source phantom, preset quick, pre-training "
                          "under torchrun x2)")]


def test_a_dry_run_with_overwrite_removes_nothing_and_shows_a_repeated_card_once(
        tmp_path: Path) -> None:
    (tmp_path / "run" / "cells").mkdir(parents=True)
    (tmp_path / "run" / "report.html").write_text("old")
    (tmp_path / "s.yaml").write_text(
        "name: nd\nseeds: [0, 1]\ngrid:\n  - {task: neural, setting: chewie-1, methods: [raw]}\n")
    outcome = invoke(["bench", "--suite", "s.yaml", "--dry-run", "--overwrite", "--out", "run"],
                     tmp_path)
    assert outcome.code == 0, outcome.err
    assert (tmp_path / "run" / "report.html").read_text() == "old"
    lines = outcome.out.splitlines()
    assert lines[0] == "neural-chewie-1-raw-s0  (recording chewie-1)"
    assert lines[1].startswith("    protocol neural-reach v")
    assert lines[-3:] == ["neural-chewie-1-raw-s1  (recording chewie-1)",
                          "    (protocol card as above)", "2 cell(s) in suite 'nd': 2 to run"]


def test_a_protocol_card_is_one_line_when_comparable_else_one_per_deviation() -> None:
    from mtneuro.cli.bench import card_lines

    protocol = {"name": "p", "version": 2}
    assert card_lines({"protocol": protocol, "deviations": []}) == [
        "    protocol p v2: the published protocol, comparable"]
    assert card_lines({"protocol": protocol, "deviations": ["a"]}) == [
        "    protocol p v2, 1 deviation(s) from the reference protocol:", "      - a"]
    assert card_lines({"protocol": protocol, "deviations": ["a", "b"]}) == [
        "    protocol p v2, 2 deviation(s) from the reference protocol:", "      - a", "      - b"]


def test_a_volume_source_is_taken_where_some_task_reads_the_volume(tmp_path: Path) -> None:
    outcome = invoke(["bench", "--suite", "quick", "--source", "phantom", "--dry-run", "--out",
                      "run"], tmp_path)
    assert outcome.code == 0, outcome.err
    assert outcome.out.splitlines()[-1] == "15 cell(s) in suite 'quick': 15 to run"


@pytest.mark.parametrize(("key", "line", "given"), [
    ("source", "source: phantom-x", "'phantom-x'"),
    ("source_params", "source_params: {seed: 1}", "{'seed': 1}"),
])
def test_a_suite_reading_no_volume_refuses_its_own_source_keys(tmp_path: Path, key: str,
                                                               line: str, given: str) -> None:
    (tmp_path / "s.yaml").write_text(
        f"name: nv\n{line}\ngrid:\n  - {{task: neural, setting: chewie-1, methods: [raw]}}\n")
    outcome = check(tmp_path, ["bench", "--suite", "s.yaml", "--dry-run"])
    assert outcome.err == (f"error: suite key {key}: no task of suite 'nv' reads the volume "
                           f"(its tasks: neural); remove it (got {given})\n")


def test_a_bad_cell_fails_before_overwrite_removes_the_old_suite(tmp_path: Path) -> None:
    (tmp_path / "run" / "cells").mkdir(parents=True)
    (tmp_path / "run" / "report.html").write_text("old")
    outcome = invoke(["bench", "--suite", "quick", "--overwrite", "--source-param", "seed=-1",
                      "--out", "run"], tmp_path)
    assert_one_line_error(outcome, "seed")
    assert (tmp_path / "run" / "report.html").read_text() == "old"


def test_the_summary_counts_kept_cells_as_complete_and_groups_skips(
        tmp_path: Path, suite_run: dict[str, list]) -> None:
    def state(cell_id: str, status: str, error: str | None = None) -> SimpleNamespace:
        return SimpleNamespace(cell=SimpleNamespace(id=cell_id), status=status, error=error)

    suite_run["states"] = [state("a", "complete"), state("b", "earlier"),
                           state("c", "skipped", "gone"), state("d", "skipped", "gone"),
                           state("e", "failed", "boom")]
    outcome = invoke(["bench", "--suite", "quick", "--quiet", "--out", "run"], tmp_path)
    assert outcome.code == 1
    assert outcome.out.startswith("2/5 cell(s) complete (1 done earlier), 1 failed, 2 skipped; ")
    assert outcome.err == "  skipped 2 cell(s) (c, ...): gone\n  failed e: boom\n"


# --- data ---------------------------------------------------------------------------------


def test_every_data_subcommand_is_the_one_its_name_says() -> None:
    from mtneuro.cli.data import DATA_COMMANDS, data

    assert sorted(data.list_commands(None)) == sorted(  # type: ignore[arg-type]
        ["info", "preview", "fetch", "verify", "list", "download"])
    for name, target in DATA_COMMANDS.items():
        command = data.get_command(None, name)  # type: ignore[arg-type]
        assert command is not None and command.name == name, (name, target)
