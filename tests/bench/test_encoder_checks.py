"""``mtneuro bench --encoder``: the encoder is built and run once before any cell runs (an
encoder that would fail in every encoder cell fails in one line, writing nothing), and
``--resume`` reruns a cell whose ``module:callable`` now builds other weights (a user
walkthrough: edits to ``build()`` kept stale numbers; dry runs passed broken encoders)."""

from __future__ import annotations

import importlib
import json
import os
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from mtneuro.bench import cell as bench_cell
from mtneuro.bench.cell import encoder_fingerprints
from mtneuro.bench.plan import earlier_run, what_changed
from mtneuro.bench.suite import Cell
from mtneuro.cli.main import main

#: the user's module: one good encoder and one callable per mistake the walkthrough made
ENCODERS = textwrap.dedent(
    '''
    import os
    import torch
    from torch import nn

    SEED = 0


    class Small(nn.Module):
        def __init__(self, channels=1, pool=True, conv=nn.Conv2d, out_dim=None, nan=False):
            super().__init__()
            self.conv = conv(channels, 4, 3, padding=1)
            self.pool, self.nan = pool, nan
            if out_dim is not None:  # declared: mtneuro's own dummy forward is skipped
                self.out_dim = out_dim
            if conv is nn.Conv3d:
                self.input_spec = {"spatial_dims": 3}

        def forward(self, x):
            y = self.conv(x)
            y = y.flatten(2).mean(2) if self.pool else y
            return y * float("nan") if self.nan else y


    def build():
        with open(os.environ["BUILD_LOG"], "a") as log:
            log.write("built\\n")
        torch.manual_seed(SEED)
        return Small()


    def build_raises():
        raise ValueError("boom in build")


    def build_not_module():
        return "a string"


    def build_with_args(ckpt):
        return Small()


    def build_wrong_shape():
        return Small(pool=False, out_dim=4)


    def build_rgb():
        return Small(channels=3, out_dim=4)


    def build_nan():
        return Small(nan=True, out_dim=4)


    def build_3d():
        return Small(conv=nn.Conv3d)


    class Flat(nn.Module):  # no global pooling: its feature size follows its input size
        def forward(self, x):
            return nn.functional.avg_pool2d(x, 8).flatten(1)


    def build_flat():
        return Flat()


    def build_big_kernel():  # pooled, but its kernel is wider than the 32-px test crops
        return Small(conv=lambda c, o, k, padding: nn.Conv2d(c, o, 40))
    '''
)

#: a real task-1 entry: a dry run and the checks read no data, so it stays fast
TASK1 = """
name: one
seeds: [0]
jobs: 1
grid:
  - task: {task}
    setting: roi-c1
    methods: [pca]
    preset: quick
"""

#: the tiny task of conftest.py: a real run and --resume in well under a second
TINY = """
name: tinyenc
seeds: [0]
jobs: 1
grid:
  - task: tiny
    setting: a
    methods: [ok]
"""


@pytest.fixture
def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``byoe_encoders`` on ``sys.path``, imported afresh; returns its file. Every call of
    its ``build`` is logged to ``$BUILD_LOG``. No bytecode: an edit of the same second
    must be what the next import reads."""
    folder = tmp_path / "userpkg"
    folder.mkdir()
    path = folder / "byoe_encoders.py"
    path.write_text(ENCODERS)
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.setenv("BUILD_LOG", str(tmp_path / "builds.log"))
    monkeypatch.delitem(sys.modules, "byoe_encoders", raising=False)
    bench_cell._build.cache_clear()  # one build per spec per process: this test's process
    yield path
    sys.modules.pop("byoe_encoders", None)
    bench_cell._build.cache_clear()


def _new_process() -> None:
    """What a later ``mtneuro bench`` process sees: the module read again, nothing cached."""
    sys.modules.pop("byoe_encoders", None)
    bench_cell._build.cache_clear()


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(argv)
        raise SystemExit(0)
    captured = capsys.readouterr()
    return info.value.code, captured.out, captured.err


def _suite(tmp_path: Path, text: str, name: str = "suite.yaml") -> str:
    (tmp_path / name).write_text(text)
    return str(tmp_path / name)


def _one_line_error(result: tuple[int, str, str], *needles: str) -> None:
    code, _, stderr = result
    assert code == 2 and stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    for needle in needles:
        assert needle in stderr, (needle, stderr)


@pytest.mark.parametrize(("callable_", "needles"), [
    ("build_raises", ["calling it raised ValueError: boom in build"]),
    ("build_not_module", ["expected the callable to return an nn.Module, got str"]),
    ("build_with_args", ["calling it with no arguments failed"]),
    ("build_wrong_shape", ["(2, 4, 64, 64)", "expected (2, D) features"]),
    ("build_rgb", ["to have 3 channels, but got 1"]),
    ("build_nan", ["8 of its 8 feature values are NaN or inf"]),
    ("build_3d", ["takes 3D inputs but cell task1-roi-c1-encoder-s0 runs in 2D",
                  "'params: {dim: 3d}'", "bench has no --dim"]),
])
def test_dry_run_refuses_an_encoder_that_would_fail_in_every_encoder_cell(
        user_module: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        callable_: str, needles: list[str]) -> None:
    spec, out = f"byoe_encoders:{callable_}", tmp_path / "out"
    result = _run(["bench", "--suite", _suite(tmp_path, TASK1.format(task="task1")),
                   "--encoder", spec, "--out", str(out), "--dry-run"], capsys)
    _one_line_error(result, f"error: --encoder {spec}: ", *needles)
    assert result[2].count(spec) == 1, "the spec is named once, first"
    assert not out.exists()


@pytest.mark.parametrize(("callable_", "needles"), [
    ("build_flat", ["on a probe batch of random pixels (2, 1, 32, 32), an input size this task "
                    "feeds",
                    "must not depend on its input size"]),
    ("build_big_kernel", ["forward on a probe batch of random pixels (2, 1, 32, 32), an input "
                          "size this task "
                          "feeds, raised RuntimeError",
                          "takes 64 x 64 inputs (the size its out_dim was found at: its "
                          "input_spec size, 64 where it declares none) but this task feeds 32 x "
                          "32"]),
])
def test_dry_run_tries_every_input_size_the_cells_task_feeds(
        user_module: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        callable_: str, needles: list[str]) -> None:
    """Quick task 1 trains on 64-px tiles and tests their 32-px quadrants: an encoder that
    works at its own 64 px only passed the dry run and failed in its cells."""
    spec, out = f"byoe_encoders:{callable_}", tmp_path / "out"
    result = _run(["bench", "--suite", _suite(tmp_path, TASK1.format(task="task1")),
                   "--encoder", spec, "--out", str(out), "--dry-run"], capsys)
    _one_line_error(result, f"error: --encoder {spec}: ", *needles)
    assert not out.exists()


def test_encoder_dims_are_checked_against_each_cells_task(
        user_module: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Task 3 reads 2D crops only; a task-1 entry with ``dim: 3d`` takes a 3D encoder and
    refuses a 2D one (bench's fix is the suite's params, there is no --dim)."""
    task3 = _suite(tmp_path, TASK1.format(task="task3"), "t3.yaml")
    _one_line_error(_run(["bench", "--suite", task3, "--encoder", "byoe_encoders:build_3d",
                          "--out", str(tmp_path / "o"), "--dry-run"], capsys),
                    "cell task3-roi-c1-encoder-s0 runs in 2D; task3 takes 2D encoders only")
    text_3d = TASK1.format(task="task1") + "    params: {dim: 3d}\n"
    in_3d = _suite(tmp_path, text_3d, "3d.yaml")
    _one_line_error(_run(["bench", "--suite", in_3d, "--encoder", "byoe_encoders:build",
                          "--out", str(tmp_path / "o"), "--dry-run"], capsys),
                    "takes 2D inputs but cell task1-roi-c1-encoder-s0 runs in 3D")
    code, stdout, _ = _run(["bench", "--suite", in_3d, "--encoder", "byoe_encoders:build_3d",
                            "--out", str(tmp_path / "o"), "--dry-run"], capsys)
    assert code == 0 and stdout.splitlines()[-1] == "2 cell(s) in suite 'one': 2 to run"
    # one spec, probed once, but its dims are checked against every cell's task
    both = text_3d + "  - task: task3\n    setting: roi-c1\n    methods: [pca]\n"
    _one_line_error(_run(["bench", "--suite", _suite(tmp_path, both, "both.yaml"), "--encoder",
                          "byoe_encoders:build_3d", "--out", str(tmp_path / "o"), "--dry-run"],
                         capsys), "takes 3D inputs but cell task3-roi-c1-encoder-s0 runs in 2D")
    assert not (tmp_path / "o").exists()


def test_an_encoder_param_of_a_suite_is_checked_and_named_by_its_cell(
        user_module: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A task-1 SSL method given a ready encoder through the suite's params reads it too."""
    suite = TASK1.format(task="task1").replace("[pca]", "[myow]") + (
        "    params: {encoder: 'byoe_encoders:build_raises'}\n")
    _one_line_error(_run(["bench", "--suite", _suite(tmp_path, suite), "--out",
                          str(tmp_path / "o"), "--dry-run"], capsys),
                    "error: cell task1-roi-c1-myow-s0: params.encoder "
                    "byoe_encoders:build_raises: calling it raised ValueError")


def test_a_checkpoint_naming_code_is_refused_before_the_run(
        user_module: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The run refuses to call code a file names; the dry run passed such a file."""
    from mtneuro.models.checkpoint import save_encoder

    encoder = importlib.import_module("byoe_encoders").Small(out_dim=4)
    save_encoder(tmp_path / "mine.pt", encoder, name="byoe_encoders:build",
                 input_spec={"spatial_dims": 2, "in_channels": 1, "size": 64})
    monkeypatch.chdir(tmp_path)
    _one_line_error(_run(["bench", "--suite", _suite(tmp_path, TASK1.format(task="task1")),
                          "--encoder", "mine.pt", "--out", "out", "--dry-run"], capsys),
                    "error: --encoder mine.pt: ", "names the code 'byoe_encoders:build'")
    assert not (tmp_path / "out").exists()


def test_a_real_run_fails_before_any_cell_and_writes_nothing(
        user_module: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    _one_line_error(_run(["bench", "--suite", _suite(tmp_path, TASK1.format(task="task1")),
                          "--encoder", "byoe_encoders:build_nan", "--out", str(out),
                          "--quiet"], capsys),
                    "error: --encoder byoe_encoders:build_nan: ", "NaN or inf")
    assert not out.exists()


def test_each_encoder_spec_is_built_once_for_all_its_cells(
        user_module: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Four encoder cells (task1, task3; two seeds), one build: user code can be slow."""
    both = TASK1.format(task="task1") + (
        "  - task: task3\n    setting: roi-c1\n    methods: [pca]\n    preset: quick\n")
    code, stdout, _ = _run(["bench", "--suite", _suite(tmp_path, both), "--encoder",
                            "byoe_encoders:build", "--seeds", "0", "1", "--out",
                            str(tmp_path / "o"), "--dry-run"], capsys)
    assert code == 0 and stdout.splitlines()[-1] == "8 cell(s) in suite 'one': 8 to run"
    assert (tmp_path / "builds.log").read_text().split() == ["built"]


def _bench(tmp_path: Path, capsys: pytest.CaptureFixture[str], *more: str
           ) -> tuple[int, str, str]:
    return _run(["bench", "--suite", _suite(tmp_path, TINY), "--encoder", "byoe_encoders:build",
                 "--out", str(tmp_path / "out"), "--quiet", *more], capsys)


def test_resume_reruns_an_encoder_cell_whose_build_now_makes_other_weights(
        user_module: Path, tiny_task: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert _bench(tmp_path, capsys)[0] == 0
    record = json.loads((tmp_path / "out/cells/tiny-a-encoder-s0/metrics.json").read_text())
    (fingerprint,) = record["inputs"]["encoders"].values()
    assert len(fingerprint) == 64 and list(record["inputs"]["encoders"]) == [
        "byoe_encoders:build"]

    _new_process()
    tiny_task.write_text("")
    code, stdout, stderr = _bench(tmp_path, capsys, "--resume")
    assert code == 0 and tiny_task.read_text() == "", "unedited: both cells kept"
    assert "2/2 cell(s) complete (2 done earlier)" in stdout and "rerunning" not in stderr

    user_module.write_text(ENCODERS.replace("SEED = 0", "SEED = 12345"))  # retrained
    _new_process()
    code, stdout, _ = _bench(tmp_path, capsys, "--resume", "--dry-run")
    assert code == 0
    assert "tiny-a-encoder-s0  (source phantom)  [rerun: encoder weights changed]" in stdout
    assert "tiny-a-ok-s0  (source phantom)  [done earlier (kept)]" in stdout
    _new_process()
    code, stdout, stderr = _bench(tmp_path, capsys, "--resume")
    assert code == 0 and tiny_task.read_text().split() == ["encoder-0"]
    assert ("encoder weights changed since the earlier run: rerunning tiny-a-encoder-s0"
            in stderr.splitlines())
    record = json.loads((tmp_path / "out/cells/tiny-a-encoder-s0/metrics.json").read_text())
    assert record["inputs"]["encoders"]["byoe_encoders:build"] != fingerprint


def test_a_record_from_before_fingerprints_reruns_only_cells_with_a_code_encoder(
        user_module: Path, tiny_task: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert _bench(tmp_path, capsys)[0] == 0
    for cell_id in ("tiny-a-ok-s0", "tiny-a-encoder-s0"):
        path = tmp_path / "out/cells" / cell_id / "metrics.json"
        record = json.loads(path.read_text())
        record["inputs"].pop("encoders", None)  # as an earlier mtneuro wrote it
        path.write_text(json.dumps(record))
    code, stdout, _ = _bench(tmp_path, capsys, "--resume", "--dry-run")
    assert code == 0
    assert "tiny-a-encoder-s0  (source phantom)  [rerun: encoder weights changed]" in stdout
    assert "tiny-a-ok-s0  (source phantom)  [done earlier (kept)]" in stdout


def _cell(encoder: str | None) -> Cell:
    return Cell(id="c", task="tiny", setting="a", method="encoder", seed=0, preset=None,
                params={}, source="phantom", source_params={}, encoder=encoder)


def test_what_changed_names_the_weights_and_only_code_encoders_are_fingerprinted(
        user_module: Path, tmp_path: Path) -> None:
    cell = _cell("byoe_encoders:build")
    (tmp_path / "cells/c").mkdir(parents=True)
    (tmp_path / "cells/c/metrics.json").write_text(json.dumps(
        {"bench_schema_version": 1, "status": "complete", "cell": cell.to_dict(),
         "inputs": {"encoders": {"byoe_encoders:build": "0" * 64}}}))
    assert earlier_run(tmp_path, cell) == "changed"
    assert what_changed(cell, tmp_path) == "encoder weights"
    assert encoder_fingerprints(_cell(None)) == {}
    # mtneuro.evaluate's label of an encoder in memory: nothing to build
    assert encoder_fingerprints(_cell("mypkg:Net (in memory)")) == {}
    assert encoder_fingerprints(_cell("byoe_encoders:build_raises")) == {
        "byoe_encoders:build_raises": None}


def test_fingerprint_of_a_random_init_registered_encoder_is_stable_and_rng_neutral(
        user_module: Path) -> None:
    """Built under a fixed seed: the same weights each time, whatever the caller's RNG,
    which is left as it was."""
    torch.manual_seed(1)
    first = encoder_fingerprints(_cell("resnet-tiny"))
    bench_cell._build.cache_clear()
    torch.manual_seed(2)
    expected_next = torch.rand(3)
    torch.manual_seed(2)
    second = encoder_fingerprints(_cell("resnet-tiny"))
    assert first == second and len(first["resnet-tiny"]) == 64
    assert torch.equal(torch.rand(3), expected_next), "the caller's random state moved"


def test_a_rewritten_checkpoint_is_built_again_in_the_same_process(
        user_module: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keyed by the file's time and size (and the folder a relative name is read in): a
    long-lived process (a notebook, a test run) must not probe yesterday's encoder."""
    from mtneuro.models.checkpoint import save_encoder
    from mtneuro.models.registry import create_encoder

    monkeypatch.chdir(tmp_path)
    fingerprints = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        save_encoder("enc.pt", create_encoder("resnet-tiny"), name="resnet-tiny")
        os.utime("enc.pt", ns=(10**9 * (seed + 1),) * 2)  # rewritten within one second
        built = bench_cell.build_encoder("enc.pt")
        assert isinstance(built, bench_cell.BuiltEncoder), built
        fingerprints.append(built.fingerprint)
    assert fingerprints[0] != fingerprints[1]
