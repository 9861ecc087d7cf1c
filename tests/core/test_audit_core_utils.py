"""Known answers for the package's base utilities that earlier tests left open (from a
mutation audit of mtneuro.threads, .acceleration, .atomic, .checkpoint_io and .progress):
thread counts at their edges, NHWC on CPU, temporary files that never outlive a failed
write, what a checkpoint may hold and the one-line reasons it gives, and when a log gets a
progress line."""

from __future__ import annotations

import io
import os
from collections import defaultdict
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pytest
import torch
from torch import nn

from mtneuro import progress, threads
from mtneuro.acceleration import GraphedStep, channels_last_pays
from mtneuro.atomic import write_atomic
from mtneuro.checkpoint_io import (
    _reason,
    check_plain,
    load_state,
    plain_json,
    restore_into,
    save_state,
)
from mtneuro.errors import (
    CheckpointError,
    ChecksumError,
    ConfigError,
    DataError,
    MtneuroError,
    SourceUnavailableError,
    TrainingError,
)
from mtneuro.progress import LoopProgress, describe_state, publish, publishing_to, read_published
from mtneuro.threads import available_cpus, idle_cpus, usable_cpus

# --- threads and acceleration ------------------------------------------------------------


def test_available_cpus_is_at_least_one_for_an_empty_mask(tmp_path: Path) -> None:
    """The documented floor: a count of 0 would make torch refuse set_num_threads."""
    assert available_cpus(env={}, affinity=0, cgroup_root=tmp_path) == 1


def test_usable_cpus_never_exceeds_the_available_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    """A quota of 2 CPUs on a host whose 6 mask CPUs sit idle still gives 2 threads."""
    monkeypatch.setattr(threads, "available_cpus", lambda env=None: 2)
    assert usable_cpus(env={}, idle=lambda: 6.0) == 2


def test_threads_per_job_of_zero_jobs_is_all_the_cpus() -> None:
    assert threads.threads_per_job(0, 4) == 4  # no ZeroDivisionError


@pytest.mark.parametrize("stat", ["cpu0 1 2 x 4 5 6 7 8", "cpu0 1 2 3"])
def test_idle_cpus_is_none_for_a_malformed_proc_stat(stat: str) -> None:
    """A non-number (ValueError) or too few columns (IndexError): no answer, no crash."""
    assert idle_cpus(0, read=lambda: stat, cpus={0}) is None


class _FakeTorchThreads:
    """Stands for torch's thread setters: inter-op threads can be set once per process, so
    the real ones cannot be exercised twice in one test run."""

    def __init__(self, intra: int, interop: int) -> None:
        self.intra, self.interop = intra, interop

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(torch, "get_num_threads", lambda: self.intra)
        monkeypatch.setattr(torch, "set_num_threads", lambda n: setattr(self, "intra", n))
        monkeypatch.setattr(torch, "get_num_interop_threads", lambda: self.interop)
        monkeypatch.setattr(torch, "set_num_interop_threads",
                            lambda n: setattr(self, "interop", n))


def test_set_torch_threads_sets_inter_op_threads_too(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _FakeTorchThreads(intra=8, interop=8)
    fake.install(monkeypatch)
    assert threads.set_torch_threads(3) == 3
    assert (fake.intra, fake.interop) == (3, 3)


def test_resume_takes_the_saved_thread_count_and_says_so(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    fake = _FakeTorchThreads(intra=4, interop=4)
    fake.install(monkeypatch)
    threads.resume_torch_threads(2, "pre-training")
    assert fake.intra == 2
    assert capsys.readouterr().err == "resuming pre-training with its 2 torch threads (not 4)\n"
    for saved in (2, None):  # the same count, or an older checkpoint: nothing to change
        threads.resume_torch_threads(saved, "pre-training")
        assert fake.intra == 2 and capsys.readouterr().err == ""


@pytest.mark.parametrize(("in_channels", "stride", "pays"), [
    (15, 2, False), (2, 2, False),  # the crashing range of a strided 1x1 convolution: 2-15
    (16, 2, True), (1, 2, True), (8, 1, True),  # outside it, or not strided: NHWC on CPU
])
def test_channels_last_on_cpu_fp32_avoids_exactly_the_crashing_convolutions(
        in_channels: int, stride: int, pays: bool) -> None:
    model = nn.Sequential(nn.Conv2d(in_channels, 4, 1, stride=stride))
    assert channels_last_pays(model, torch.device("cpu"), None) is pays


def test_a_graphed_step_needs_at_least_one_warm_up_call() -> None:
    """Capture must follow a real (side-stream) step: cuDNN's search cannot be captured."""
    with pytest.raises(ValueError, match="warmup: expected int >= 1, got 0"):
        GraphedStep(lambda: None, warmup=0)


# --- atomic writes -------------------------------------------------------------------------


def test_an_interrupted_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "checkpoint.pt"
    target.write_bytes(b"old")

    def interrupted(handle: BinaryIO) -> None:
        handle.write(b"half")
        raise KeyboardInterrupt  # Ctrl-C is no OSError: it must clean up all the same

    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, interrupted)
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["checkpoint.pt"]


def test_the_new_file_is_synced_then_renamed_from_a_temporary_beside_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rename is atomic only within one filesystem (the temporary sits in the target's
    folder) and the file is whole after a crash only if its data was synced before it."""
    target = tmp_path / "sub" / "report.json"
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace",
                        lambda a, b: (events.append(f"replace {Path(a).parent}"),
                                      real_replace(a, b))[1])
    seen: dict[str, object] = {}

    def write(handle: BinaryIO) -> None:
        handle.write(b"{}")
        seen["inode"] = os.fstat(handle.fileno()).st_ino
        seen["beside"] = [name for name in os.listdir(target.parent) if name != "report.json"]

    write_atomic(target, write)
    assert events == ["fsync", f"replace {target.parent}"]
    assert seen["beside"] and str(seen["beside"][0]).startswith(".report.json.")
    assert target.stat().st_ino == seen["inode"]  # renamed, not copied
    assert target.read_bytes() == b"{}" and os.listdir(target.parent) == ["report.json"]


# --- checkpoints ---------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "named"), [
    (np.float64(1.0), "float64"),  # a float subclass: pickles by class name
    (np.zeros(2), "ndarray"),
    (defaultdict(int), "defaultdict"),  # a dict subclass is not a plain dict either
    (Path("a"), type(Path("a")).__name__),
])
def test_save_state_refuses_values_that_would_not_load_back(tmp_path: Path, value: object,
                                                            named: str) -> None:
    target = tmp_path / "ckpt.pt"
    with pytest.raises(TypeError, match=rf"checkpoint\['x'\]\[0\]: a {named} cannot be loaded"):
        save_state(target, {"x": [value]})
    assert not target.exists()  # refused before anything is written


def test_check_plain_refuses_a_key_that_is_not_a_str_or_int() -> None:
    with pytest.raises(TypeError, match=r"checkpoint\['h'\]: key \(1, 2\) is not a str or int"):
        check_plain({"h": {(1, 2): 0.5}})
    check_plain({"h": {1: 0.5, "a": (True, None, "s", torch.zeros(1))}})  # all plain


def test_plain_json_turns_arrays_and_paths_into_plain_values() -> None:
    assert plain_json({"a": np.arange(3), "p": Path("runs/x"), "t": (np.int64(2),)}) == {
        "a": [0, 1, 2], "p": str(Path("runs/x")), "t": [2]}
    with pytest.raises(TypeError, match="cannot store a object in a checkpoint"):
        plain_json(object())


def test_a_folder_is_not_a_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match=r"^encoder file .* not found$"):
        load_state(tmp_path, what="encoder file")


def test_a_checkpoint_that_is_not_a_dict_is_refused(tmp_path: Path) -> None:
    torch.save([1, 2], tmp_path / "list.pt")
    with pytest.raises(CheckpointError, match="expected a dict, got list$"):
        load_state(tmp_path / "list.pt", what="training checkpoint")


def test_a_bool_is_not_taken_for_a_required_int(tmp_path: Path) -> None:
    """bool is an int subclass in Python: an epoch of True would resume at epoch 1."""
    save_state(tmp_path / "c.pt", {"epoch": True, "seen": 3})
    with pytest.raises(CheckpointError, match="'epoch' must be int, got bool$"):
        load_state(tmp_path / "c.pt", what="training checkpoint", required={"epoch": int})
    state = load_state(tmp_path / "c.pt", what="training checkpoint",
                       required={"seen": int, "epoch": (bool, int)})
    assert state == {"epoch": True, "seen": 3}
    with pytest.raises(CheckpointError, match="'seen' must be float or str, got int$"):
        load_state(tmp_path / "c.pt", what="training checkpoint", required={"seen": (float, str)})
    # nor for a number of several types, unless bool is one of them
    with pytest.raises(CheckpointError, match="'epoch' must be int or float, got bool$"):
        load_state(tmp_path / "c.pt", what="training checkpoint",
                   required={"epoch": (int, float)})


def test_a_planted_pickle_names_the_refused_global_in_one_short_line(tmp_path: Path) -> None:
    class Exploit:
        def __reduce__(self) -> tuple[object, tuple[str, str]]:
            return (open, (str(tmp_path / "pwned"), "w"))

    torch.save({"hook": Exploit()}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError) as info:
        load_state(tmp_path / "evil.pt", what="training checkpoint")
    message = str(info.value)
    assert "UnpicklingError: Unsupported global: GLOBAL" in message and "open" in message
    assert "Check the documentation" not in message and "\n" not in message
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("call", [os.system, os.device_encoding])
def test_a_global_from_a_blocked_module_is_named_and_not_taken_for_a_device(
        tmp_path: Path, call) -> None:
    # torch refuses os.* without its "WeightsUnpickler error:" marker; "device_encoding"
    # used to be read as a device problem ("cannot be loaded onto cpu")
    class Exploit:
        def __reduce__(self) -> tuple[object, tuple]:
            return (call, ("true",) if call is os.system else (0,))

    torch.save({"hook": Exploit()}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError) as info:
        load_state(tmp_path / "evil.pt", what="training checkpoint")
    message = str(info.value)
    assert "is not a torch checkpoint that loads safely" in message
    assert (f"UnpicklingError: Trying to load unsupported GLOBAL {call.__module__}."
            f"{call.__name__} whose module {call.__module__} is blocked;") in message
    assert "Check the documentation" not in message and "\n" not in message


def test_reason_is_the_first_sentence_of_one_line_and_at_most_the_limit() -> None:
    err = ValueError("size mismatch for weight.\n  copying a param of shape [2]. More text")
    assert _reason(err) == "ValueError: size mismatch for weight"
    long = _reason(RuntimeError("x" * 500), limit=50)
    assert len(long) == 50 and long.endswith("...") and long.startswith("RuntimeError: xxx")
    assert _reason(KeyError()) == "KeyError: no details"


def test_restore_into_a_module_of_other_shapes_fails_in_one_line() -> None:
    """torch raises RuntimeError for a shape mismatch: it must become a CheckpointError."""
    state = {"model": nn.Linear(3, 2).state_dict()}
    with pytest.raises(CheckpointError,
                       match=r"^checkpoint run/c\.pt: 'model' does not fit this run "
                             r"\(RuntimeError: Error\(s\) in loading state_dict"):
        restore_into(nn.Linear(4, 2), state, "model", "run/c.pt")
    with pytest.raises(CheckpointError, match="'optimizer' does not fit this run .KeyError"):
        restore_into(nn.Linear(3, 2), state, "optimizer", "run/c.pt")


# --- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(("error", "bases"), [
    (ConfigError, (MtneuroError, ValueError)),  # callers of the API may catch ValueError
    (ChecksumError, (DataError,)),  # a bad checksum is bad data: `except DataError` sees it
    (CheckpointError, (DataError,)),
    (SourceUnavailableError, (DataError,)),
    (TrainingError, (MtneuroError,)),  # the CLI's one line (exit 2), not a traceback
    (DataError, (MtneuroError,)),
])
def test_each_error_derives_from_what_its_callers_catch(error: type, bases: tuple[type]) -> None:
    assert all(issubclass(error, base) for base in bases)


# --- progress ------------------------------------------------------------------------------


class _Clock:
    """perf_counter for the progress module: moves only when the test moves it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    fake = _Clock()
    # progress reads time.perf_counter through the module: patched for this test only
    monkeypatch.setattr(progress.time, "perf_counter", fake)
    monkeypatch.setattr(progress, "_last_log_line", fake.now)
    return fake


def test_log_line_gives_the_eta_in_minutes(clock: _Clock) -> None:
    """30 of 120 samples in 30 s: 1 sample/s, 90 left, so 1.5 min."""
    stream = io.StringIO()
    loop = LoopProgress("training", 120, unit="samples", stream=stream)
    clock.now += 30
    loop.update(30)
    assert stream.getvalue() == "training: 30/120 samples (25 %), 1 samples/s, eta 1.5 min\n"


def test_a_line_resets_the_interval_and_the_end_is_said_once(clock: _Clock) -> None:
    stream = io.StringIO()
    with LoopProgress("reading tiles", None, unit="tiles", stream=stream) as loop:
        clock.now += 30
        loop.update(3)
        clock.now += 10
        loop.update(1)  # 10 s after the last line: no new one
        clock.now += 5
        loop.close()  # closed early, then again when the block ends
    assert stream.getvalue().splitlines() == ["reading tiles: 3 tiles, 0.1 tiles/s",
                                              "reading tiles: done, 4 tiles in 45 s"]


def test_read_published_of_a_damaged_file_is_none(tmp_path: Path) -> None:
    (tmp_path / "p.json").write_text('{"what": "trai')  # a watcher read half a file
    assert read_published(tmp_path / "p.json") is None
    assert read_published(tmp_path / "absent.json") is None
    # valid JSON that is not a state: describe_state could not format it
    for text in ("[1, 2]", "{}", '{"what": "x", "done": null}', '{"done": true}'):
        (tmp_path / "p.json").write_text(text)
        assert read_published(tmp_path / "p.json") is None, text
    (tmp_path / "p.json").write_text('{"what": "training", "done": 3, "unit": "steps"}')
    assert describe_state(read_published(tmp_path / "p.json")) == "training 3 steps"


def test_publishing_into_a_folder_that_went_away_keeps_the_loop_going(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "_last_publish", -float("inf"))  # later tests not throttled
    with publishing_to(tmp_path / "gone" / "progress.json"):
        publish("training", 1, 2, unit="steps", force=True)  # no OSError escapes
    assert not (tmp_path / "gone").exists()


def test_a_loop_faster_than_the_interval_stays_silent_with_a_fake_clock(clock: _Clock) -> None:
    stream = io.StringIO()
    with LoopProgress("quick", 2, stream=stream) as loop:
        clock.now += 29.9
        loop.update(2)
    assert stream.getvalue() == ""


def test_a_rate_within_the_first_second_is_not_clamped(clock: _Clock,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "LINE_INTERVAL_S", 0.0)
    stream = io.StringIO()
    loop = LoopProgress("reading", None, unit="blocks", stream=stream)
    clock.now += 0.5
    loop.update(5)
    assert stream.getvalue() == "reading: 5 blocks, 10 blocks/s\n"


def test_published_state_is_renamed_into_place_with_the_unit_as_rate_unit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The watcher reads the file any time: it must see a whole one (renamed, not rewritten)."""
    monkeypatch.setattr(progress, "_last_publish", -float("inf"))  # later tests not throttled
    sink = tmp_path / "progress.json"
    renames: list[tuple[str, str]] = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda a, b: (renames.append((Path(a).name, Path(b).name)),
                                                     real_replace(a, b))[1])
    with publishing_to(sink):
        publish("reading", 3, None, unit="tiles", rate=2.0, force=True)
        state = read_published(sink)
    assert renames == [("progress.json.tmp", "progress.json")]
    assert state is not None and state["rate_unit"] == "tiles" and state["total"] is None
    assert describe_state(state) == "reading 3 tiles, 2 tiles/s"
