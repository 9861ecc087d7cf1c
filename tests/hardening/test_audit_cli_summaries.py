"""Known answers for the task commands, second part (mutation audit of mtneuro.cli; the
first part is test_audit_cli_commands.py): what task2 prints after a run (summary lines,
the note on what its checkpoints cost), what ``pretrain --overwrite`` removes and the
files of a several-seed ``neural`` run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_probe import check, invoke

from mtneuro.cli.run_folder import REPLACED
from mtneuro.tasks.api import Result


def _stats(mean: float, std: float = 0.02) -> dict[str, Any]:
    return {"mean": mean, "std": std, "n": 2}


def test_task2_prints_every_class_and_what_its_checkpoints_cost(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mtneuro.report import record

    def fake(task: Any, config: Any, out_dir: Any, **_: Any) -> Result:
        # a run that kept one 2 MiB checkpoint per seed, as task2 does for --resume
        (Path(out_dir) / "checkpoints").mkdir(parents=True)
        for seed in (0, 1):
            (Path(out_dir) / "checkpoints" / f"seed{seed}.pt").write_bytes(b"x" * 2**21)
        names = ["background", "vessel"]
        summary = {"avg_f1": _stats(0.5), "avg_iou": _stats(0.25),
                   "balanced_accuracy": _stats(0.75), "f1": {n: _stats(0.5) for n in names},
                   "iou": {n: _stats(0.25) for n in names},
                   "iou_pooled": {"background": _stats(0.9), "vessel": _stats(0.125)}}
        return Result(task="task2", setting="2d-4class", method="unet",
                      metrics={"summary": summary, "setting": {"dim": "2d",
                                                               "class_names": names}},
                      headline={}, config={"seeds": [0, 1], "classes": 4, "model": "unet",
                                           "source": "phantom", "encoder": None}, source=None,
                      card={},
                      figures=["overlay_cortex.png"])

    monkeypatch.setattr(record, "run_and_record", fake)
    outcome = invoke(["task2", "--model", "unet", "--quick", "--seeds", "0", "1", "--out",
                      "run"], tmp_path)
    assert outcome.code == 0, outcome.err
    checkpoints = Path("run") / "checkpoints"
    assert outcome.out.splitlines() == [
        ("task2 unet 4-class 2d on phantom: avg F1 0.500 ± 0.020 over 2 seeds, avg IoU 0.250 "
         "± 0.020 over 2 seeds; balanced acc (counts pooled over non-background classes) "
         "0.750 ± 0.020"),
        "        background: F1 0.500 ± 0.020 over 2 seeds, IoU 0.250 ± 0.020 over 2 seeds",
        "            vessel: F1 0.500 ± 0.020 over 2 seeds, IoU 0.250 ± 0.020 over 2 seeds",
        ("  IoU above as MTNeuro scores it: per test image, 1 for a class absent from both "
         "its truth and prediction, then averaged; IoU from counts pooled over the whole test "
         "set instead (mean over 2 seeds): background 0.900, vessel 0.125"),
        "wrote run/metrics.json and 1 overlay PNG(s)",
        (f"kept 2 checkpoint(s) for --resume in {checkpoints} (4 MiB); delete them once the "
         "run needs no resuming")]


def test_task2_line_names_source_and_encoder_and_says_one_seed_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It named neither (task 1 and 3 say "on phantom" and the encoder) and said "1 seed"
    three times: "1 seed(s)", after the intervals and after the balanced accuracy."""
    from mtneuro.report import record

    one = {"mean": 0.5, "std": None, "n": 1}
    spread = {"low": 0.4, "high": 0.6, "n": 30, "unit": "test images"}

    def fake(task: Any, config: Any, out_dir: Any, **_: Any) -> Result:
        summary = {"avg_f1": one, "avg_iou": one, "balanced_accuracy": one,
                   "f1": {"cell": one}, "iou": {"cell": one}, "iou_pooled": {}}
        return Result(task="task2", setting="2d-4class", method="ssl-unet",
                      metrics={"summary": summary, "setting": {"dim": "2d", "class_names": []},
                               "intervals": {"avg_f1": spread, "avg_iou": spread}},
                      headline={}, card={}, figures=[], source=None,
                      config={"seeds": [0], "classes": 4, "model": "ssl-unet",
                              "source": "phantom", "encoder": "pre/encoder.pt"})

    monkeypatch.setattr(record, "run_and_record", fake)
    outcome = invoke(["task2", "--model", "ssl-unet", "--quick", "--out", "run"], tmp_path)
    assert outcome.code == 0, outcome.err
    assert outcome.out.splitlines()[0] == (
        "task2 ssl-unet (pre/encoder.pt) 4-class 2d on phantom: avg F1 0.500 [0.400, 0.600], "
        "avg IoU 0.500 [0.400, 0.600] (95% CI over 30 test images; 1 seed); balanced acc "
        "(counts pooled over non-background classes) 0.500")


def test_pretrain_overwrite_sets_the_old_records_aside_before_the_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mtneuro.tasks.pretrain import run

    class Stop(Exception):
        pass

    def fake(config: Any) -> None:
        # what the run would find in its folder
        raise Stop(sorted(p.name for p in Path(config.out_dir).iterdir()))

    monkeypatch.setattr(run, "run_pretrain", fake)
    (tmp_path / "run").mkdir()
    for name in ("train_log.jsonl", "checkpoint.pt", "notes.txt"):
        (tmp_path / "run" / name).write_text("old")
    with pytest.raises(Stop) as stop:
        invoke(["pretrain", "--quick", "--overwrite", "--out", "run"], tmp_path)
    # the records only, set aside (hidden) until the run writes its own
    assert stop.value.args[0] == [REPLACED, "notes.txt"]
    # it failed before writing any: they are back
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        "checkpoint.pt", "notes.txt", "train_log.jsonl"]


def test_neural_seeds_write_one_folder_each_and_an_aggregate(tmp_path: Path) -> None:
    outcome = invoke(["neural", "--data", "chewie-1", "--method", "raw", "--split", "kfold",
                      "--folds", "3", "--seeds", "0", "1", "--out", "run"], tmp_path)
    assert outcome.code == 0, outcome.err
    record = json.loads((tmp_path / "run" / "metrics.json").read_text())
    metrics, config = record["metrics"], record["config"]
    assert config["seeds"] == [0, 1] and "seed" not in config and config["folds"] == 3
    assert metrics["seed"] == [0, 1] and "folds" not in metrics
    # the per-seed rows without their fold lists (each seed's own record keeps them)
    assert not any("folds" in r for r in metrics["per_seed"])
    seeds = [json.loads((tmp_path / "run" / f"seed-{s}" / "metrics.json").read_text())
             for s in (0, 1)]
    assert all("folds" in s["metrics"] for s in seeds)
    assert [r["seed"] for r in metrics["per_seed"]] == [0, 1]
    for key in ("accuracy", "delta_accuracy", "wall_s", "train_wall_s"):
        assert f"{key}_std" in metrics
    # the run's wall time is every seed's record's (its run, figures and files), as the
    # seeds' own records count it
    assert record["wall_s"] == pytest.approx(sum(s["wall_s"] for s in seeds))
    assert "wrote run/metrics.json" in outcome.out


@pytest.mark.parametrize(("method", "args", "warned"), [
    ("byol", ["--steps", "5"], []),
    ("raw", ["--no-refit", "--refit-ensemble"], [
        "warning: --refit-ensemble not used: the ensemble reads the refit's encoder, and "
        "--no-refit turns the refit off"]),
    ("raw", ["--no-refit"], []),  # the ensemble's default is no request
])
def test_warnings_given_before_the_run_starts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, method: str, args: list[str],
        warned: list[str]) -> None:
    from mtneuro.errors import ConfigError
    from mtneuro.report import record

    def stop(*_: Any, **__: Any) -> None:
        raise ConfigError("stopped where the run would start")  # a user error: exit 2

    monkeypatch.setattr(record, "run_and_record", stop)
    outcome = invoke(["neural", "--data", "chewie-1", "--method", method, *args,
                      "--out", "run"], tmp_path)
    assert outcome.err_lines == [*warned, "error: stopped where the run would start"]


@pytest.mark.parametrize(("args", "option", "value", "least"), [
    (["pretrain", "--quick", "--epochs", "0"], "--epochs", 0, 1),
    (["pretrain", "--quick", "--batch-size", "1"], "--batch-size", 1, 2),
    (["task1", "--quick", "--method", "pca", "--epochs", "0"], "--epochs", 0, 1),
    (["task1", "--quick", "--method", "pca", "--z-step", "0"], "--z-step", 0, 1),
    (["task3", "--quick", "--method", "byol", "--pretrain-epochs", "0"], "--pretrain-epochs",
     0, 1),
])
def test_an_out_of_range_number_names_its_option(tmp_path: Path, args: list[str], option: str,
                                                 value: int, least: int) -> None:
    outcome = check(tmp_path, args)
    command = args[0]
    assert outcome.err == (f"error: Invalid value for '{option}': {value} is not in the range "
                           f"x>={least}. (see mtneuro {command} --help)\n")


@pytest.mark.parametrize("value", ["-1", str(2**32)])
def test_a_seed_out_of_range_names_the_range_seeds_take(tmp_path: Path, value: str) -> None:
    outcome = check(tmp_path, ["pretrain", "--quick", "--seed", value])
    assert outcome.err == (f"error: Invalid value for '--seed': {value} is not in the range "
                           "0<=x<=4294967295. (see mtneuro pretrain --help)\n")


VOLUME_SOURCES = "valid: phantom, slice, bossdb, cache"


@pytest.mark.parametrize(("args", "expected"), [
    (["task1", "--method", "pca", "--quick", "--source", "phantm"],
     f"error: unknown source 'phantm' (did you mean 'phantom'?); {VOLUME_SOURCES}"),
    (["task3", "--method", "byol", "--quick", "--source", "digitz"],
     f"error: unknown source 'digitz'; {VOLUME_SOURCES}"),  # not pretrain.source's list
    # a pre-training source named to a task: why it cannot be read there, and what to do
    (["task1", "--method", "pca", "--quick", "--source", "volume"],
     "error: source 'volume': only `mtneuro pretrain` reads it (it has no brain regions or "
     "microstructure labels); the tasks read the MTNeuro volume from phantom, slice, bossdb, "
     "cache (pre-train on your data, then pass the encoder: --encoder OUT/encoder.pt)"),
    (["pretrain", "--quick", "--source", "digitz"],
     "error: source: expected one of phantom, slice, bossdb, cache, digits, cifar10, cifar100, "
     "folder, volume, got 'digitz' (did you mean 'digits'?)"),  # pretrain alone reads them
])
def test_an_unknown_source_lists_the_sources_the_command_reads(tmp_path: Path, args: list[str],
                                                              expected: str) -> None:
    assert check(tmp_path, args).err == expected + "\n"


def test_the_neural_line_names_its_time_as_the_runs_own() -> None:
    from mtneuro.cli.neural import _summary

    metrics = {"method": "raw", "recording": "chewie-1", "kind": "reach", "split": "trial",
               "seed": 0,
               "accuracy": 0.5, "delta_accuracy": 0.75, "n_test": 79, "steps": 0,
               "selected_step": 0, "wall_s": 6.14}
    assert _summary(metrics).endswith("; n_test 79; run 6.1 s")
