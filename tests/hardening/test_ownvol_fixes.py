"""Fixes from the walkthrough of pre-training on one's own data (ownvol F5, F8, F9): a
checkpoint evaluated under another SSL method's name is said, path mistakes name what was
given (a folder, pretrain's training checkpoint), and the bench dry-run summary gives the
same rerun reason as its cell lines."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from cli_probe import invoke

from mtneuro.bench.runner import RunOptions, run_suite
from mtneuro.bench.suite import expand, parse_suite
from mtneuro.cli.bench import _plan_counts
from mtneuro.cli.preflight import check_image_encoder
from mtneuro.errors import ConfigError, DataError
from mtneuro.models import create_encoder, resolve_encoder
from mtneuro.models.checkpoint import save_encoder
from mtneuro.ssl.checkpoint import save_checkpoint
from mtneuro.tasks.encoders import check_encoder_given


def _bench_conftest() -> object:
    """tests/bench/conftest.py, for its ``tiny_task`` fixture (a conftest is not importable
    by name from another folder)."""
    path = Path(__file__).resolve().parents[1] / "bench" / "conftest.py"
    spec = importlib.util.spec_from_file_location("ownvol_bench_conftest", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tiny_task = _bench_conftest().tiny_task  # type: ignore[attr-defined]


def _encoder(path: Path, seed: int = 0, **meta: object) -> Path:
    torch.manual_seed(seed)
    encoder = create_encoder("resnet-tiny", in_channels=1, widths=(4, 8))
    return save_encoder(path, encoder, name="resnet-tiny",
                        kwargs={"in_channels": 1, "widths": [4, 8]},
                        input_spec={"spatial_dims": 2, "size": 32}, meta=meta)


def _config(method: str, encoder: str | None) -> SimpleNamespace:
    return SimpleNamespace(method=method, encoder=encoder, dim="2d")


# -- F5: an SSL method given another SSL method's checkpoint ------------------------------------
def test_byol_given_a_myow_checkpoint_warns_naming_both(tmp_path: Path) -> None:
    """It ran silently and recorded MYOW's accuracy as BYOL's."""
    path = _encoder(tmp_path / "encoder.pt", method="myow")
    with pytest.warns(UserWarning) as caught:
        check_encoder_given(_config("byol", str(path)))
    (warning,) = [str(w.message) for w in caught]
    assert warning == (f"encoder {path} was pre-trained with myow (its meta.method), but this "
                       "run records its numbers as method byol; pass method='myow' (--method "
                       "myow) or method='encoder' (--method encoder) to record them under the "
                       "method that trained it")


@pytest.mark.parametrize(("method", "meta"), [
    ("myow", {"method": "myow"}),  # the label matches
    ("encoder", {"method": "myow"}),  # method encoder claims no pre-training
    ("byol", {}),  # a checkpoint of the user's own says nothing to compare
    ("byol", {"method": "my-own-ssl"}),  # free-form meta, not an SSL method of mtneuro
])
def test_no_warning_where_nothing_contradicts_the_label(tmp_path: Path, method: str,
                                                        meta: dict) -> None:
    path = _encoder(tmp_path / "encoder.pt", **meta)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_encoder_given(_config(method, str(path)))


# -- F8: path mistakes named as what they are ---------------------------------------------------
def test_a_run_folder_as_encoder_names_its_encoder_file(tmp_path: Path) -> None:
    """A run folder said "file not found" (CLI) / "not found" (Python)."""
    run = tmp_path / "runs" / "int"
    _encoder(run / "encoder.pt")
    hint = f"{run} is a folder, not an encoder file; did you mean {run / 'encoder.pt'}?"
    with pytest.raises(ConfigError) as info:
        check_image_encoder(str(run))
    assert str(info.value) == f"--encoder: {hint}"
    with pytest.raises(ConfigError) as info:
        resolve_encoder(str(run))
    assert str(info.value) == f"encoder {str(run)!r}: {hint}"
    outcome = invoke(["task1", "--method", "encoder", "--encoder", "runs/int", "--quick",
                      "--seeds", "0", "--out", "t1"], tmp_path)
    assert outcome.code == 2 and not (tmp_path / "t1").exists()
    assert outcome.err_lines[-1].endswith(
        "--encoder: runs/int is a folder, not an encoder file; did you mean "
        f"{Path('runs/int/encoder.pt')}?")


def test_a_folder_without_an_encoder_file_is_said_to_hold_none(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"is a folder, not an encoder file; give the "
                       r"encoder\.pt file that mtneuro pretrain writes in its run folder \(this "
                       r"folder holds none\)$"):
        check_image_encoder(str(tmp_path))


def test_a_registered_name_wins_over_a_folder_of_that_name(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Resolution tries names before the folder check: ``resnet-tiny/`` must not shadow it."""
    (tmp_path / "resnet-tiny").mkdir()
    monkeypatch.chdir(tmp_path)
    check_image_encoder("resnet-tiny")
    with pytest.warns(UserWarning, match="random weights"):
        assert resolve_encoder("resnet-tiny")[0].out_dim > 0


@pytest.mark.parametrize("finished", [True, False])
def test_pretrains_training_checkpoint_points_to_the_encoder_beside_it(tmp_path: Path,
                                                                        finished: bool) -> None:
    """It said only "not an mtneuro encoder checkpoint"."""
    checkpoint = save_checkpoint(tmp_path / "checkpoint.pt", {"epoch": 1})
    if finished:
        _encoder(tmp_path / "encoder.pt")
    fix = (f"pass {tmp_path / 'encoder.pt'} beside it" if finished else
           f"pass the {tmp_path / 'encoder.pt'} that the run writes when it finishes (none yet: "
           "resume the run with --resume to finish it)")
    with pytest.raises(DataError) as info:
        check_image_encoder(str(checkpoint))
    assert str(info.value) == (
        f"{str(checkpoint)!r} is not an mtneuro encoder checkpoint (expected a dict with format "
        f"'mtneuro-encoder/1'); it is mtneuro pretrain's training checkpoint: {fix}")


# -- F9: the dry-run summary gives the cells' reason --------------------------------------------
def test_resume_dry_run_summary_says_encoder_file_changed(tiny_task: Path, tmp_path: Path) -> None:
    """Each cell said "encoder file changed", the summary "config changed"."""
    suite = tmp_path / "suite.yaml"
    suite.write_text("name: t\nseeds: [0]\ngrid:\n  - task: tiny\n    setting: a\n"
                     "    methods: [ok]\n")
    out, weights = tmp_path / "out", _encoder(tmp_path / "enc.pt", seed=0)
    cells = expand(parse_suite({"name": "t", "seeds": [0], "grid": [
        {"task": "tiny", "setting": "a", "methods": ["ok"]}]}),
        encoder=str(weights), encoder_tasks=("tiny",))
    run_suite(cells, RunOptions(out, quiet=True, suite="t"))
    _encoder(weights, seed=1)  # retrained in place
    outcome = invoke(["bench", "--suite", str(suite), "--encoder", str(weights), "--out",
                      str(out), "--resume", "--dry-run"], tmp_path)
    assert outcome.code == 0, outcome.err
    lines = outcome.out.splitlines()
    assert "tiny-a-encoder-s0  (source phantom)  [rerun: encoder file changed]" in lines
    assert lines[-1] == ("2 cell(s) in suite 't': 1 to run (1 rerun: encoder file changed), "
                         "1 done earlier (kept)")


def test_summary_counts_each_rerun_reason() -> None:
    assert _plan_counts({"changed": 3}, {}, {"config": 1, "encoder file": 2}) == (
        "3 to run (3 rerun: 1 config changed, 2 encoder file changed)")
    assert _plan_counts({"changed": 2, "new": 1}, {}, {"encoder weights": 2}) == (
        "3 to run (2 rerun: encoder weights changed)")


def test_a_name_that_cannot_build_an_image_encoder_is_not_offered() -> None:
    # mlp (the neural encoder) needs in_dim: it was listed among encoder names and then
    # failed with Python advice (BYOE walkthrough)
    from mtneuro.cli.preflight import check_image_encoder
    from mtneuro.errors import ConfigError
    from mtneuro.models.registry import required_arguments

    assert required_arguments("mlp") == ["in_dim"] and required_arguments("resnet-tiny") == []
    with pytest.raises(ConfigError, match=r"^--encoder 'mlp': this encoder needs in_dim, which "
                                          r"a name cannot give \(it is no image encoder\); "
                                          r"encoder names: resnet-tiny, "):
        check_image_encoder("mlp")
    with pytest.raises(ConfigError) as info:
        check_image_encoder("resnt-tiny")
    assert "did you mean 'resnet-tiny'?" in str(info.value) and "mlp" not in str(info.value)
