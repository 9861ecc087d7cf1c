"""Issue 17: every command and option, given generated bad values, fails cleanly.

For each (command, option) below, hypothesis draws a value that is wrong for that option
(a word that is no valid choice, a negative or non-numeric number, a missing path, a file
of random bytes, a broken YAML file, an unknown ``--source-param`` key, a file where a
folder belongs) and runs the command in-process, in a fresh temporary working folder,
beside otherwise valid options that make the bad one matter. The command must exit
non-zero with at most two lines on stderr, no traceback, and leave the folder exactly as
it was. Every pair is exercised (one parametrised case each, a few examples), derandomised
and bounded so that CI runs it in well under a minute.
"""

from __future__ import annotations

import string
import tempfile
from pathlib import Path

import pytest
from cli_probe import invoke, tree
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

#: Examples per (command, option) pair (82 pairs): about 10 s in all on 2 shared cores.
EXAMPLES_PER_OPTION = 5
WORDS = st.text(alphabet=string.ascii_lowercase + string.digits + "_", min_size=1, max_size=10)


def _unparsable(parse):
    """A filter keeping the texts that ``parse`` (``int``, ``float``) rejects."""
    def rejected(text: str) -> bool:
        try:
            parse(text)
        except ValueError:
            return True
        return False
    return rejected


NEGATIVE = st.integers(min_value=-10**12, max_value=-1).map(str)
NON_POSITIVE = st.integers(min_value=-10**6, max_value=0).map(str)
NOT_INT = st.text(alphabet=string.ascii_letters + ".,;:", min_size=1, max_size=8).filter(_unparsable(int))
NOT_FLOAT = st.text(alphabet="abcdxyz;:", min_size=1, max_size=8).filter(_unparsable(float))
MISSING_PATH = WORDS.map(lambda w: f"missing_dir/{w}.pt")
GARBAGE = st.binary(min_size=0, max_size=64).map(lambda b: ("file", b"\x00" + b))
BAD_YAML = st.one_of(
    WORDS.map(lambda w: f"{w}: [1,\n  x: {{\n"),             # broken flow collection
    WORDS.map(lambda w: f"zz_{w}: 1\n"),                     # unknown key
    WORDS.map(lambda w: f"- {w}\n- 2\n"),                    # not a mapping
    st.just("\t- tab\n:\n"),                                 # not YAML at all
).map(lambda text: ("file", text.encode()))
BAD_KV = st.one_of(WORDS, WORDS.map(lambda w: f"zz_{w}=1"), st.just("=1"))
FILE_AS_FOLDER = st.sampled_from(["afile", "afile/sub"]).map(lambda p: ("afile", p))


def bad_word(valid: tuple[str, ...]):
    return WORDS.filter(lambda w: w not in valid)


BAD_DEVICE = bad_word(("cpu", "cuda", "auto", "mps", "meta"))
NO_SUCH_SOURCE = bad_word(("phantom", "slice", "bossdb", "cache", "digits", "cifar10",
                           "cifar100", "folder"))

PRETRAIN = ["pretrain", "--quick", "--epochs", "1"]
TASK1 = ["task1", "--method", "supervised", "--quick"]
TASK1_ENC = ["task1", "--method", "encoder", "--quick"]
TASK2 = ["task2", "--model", "unet", "--quick"]
TASK2_SSL = ["task2", "--model", "ssl-unet", "--quick"]
TASK3 = ["task3", "--method", "pca", "--quick"]
TASK3_ENC = ["task3", "--method", "encoder", "--quick"]
NEURAL = ["neural", "--data", "chewie-1", "--method", "raw"]
BENCH = ["bench", "--suite", "quick"]
FETCH = ["data", "fetch", "--source", "phantom", "--cache", "cache"]

#: (base command, option, bad values). Run commands get ``--out run`` unless the option is
#: --out; ``data download`` and ``report`` take the bad value as their argument.
CASES = [
    (PRETRAIN, "--method", bad_word(("byol", "myow", "myow-merged"))),
    (PRETRAIN, "--source", NO_SUCH_SOURCE),
    (PRETRAIN, "--source-param", BAD_KV),
    (PRETRAIN, "--epochs", st.one_of(NON_POSITIVE, NOT_INT)),
    (PRETRAIN, "--batch-size", st.one_of(st.integers(-99, 1).map(str), NOT_INT)),
    (PRETRAIN, "--seed", st.one_of(NEGATIVE, NOT_INT)),
    (PRETRAIN, "--device", BAD_DEVICE),
    (PRETRAIN, "--amp", bad_word(("auto", "none", "bf16", "fp16"))),
    (PRETRAIN, "--step", bad_word(("auto", "eager", "static", "cuda_graph"))),
    (PRETRAIN, "--config", st.one_of(BAD_YAML, MISSING_PATH)),
    (PRETRAIN, "--out", FILE_AS_FOLDER),
    (TASK1, "--setting", bad_word(())),
    (TASK1, "--method", bad_word(())),
    (TASK1, "--source", NO_SUCH_SOURCE),
    (TASK1, "--source-param", BAD_KV),
    (TASK1, "--dim", bad_word(("2d", "3d"))),
    (TASK1, "--seeds", st.one_of(NEGATIVE, NOT_INT)),
    (TASK1, "--protocol", bad_word(("paper", "resized"))),
    (TASK1, "--epochs", st.one_of(NON_POSITIVE, NOT_INT)),
    (TASK1, "--z-step", st.one_of(NON_POSITIVE, NOT_INT)),
    (TASK1, "--device", BAD_DEVICE),
    (TASK1, "--config", st.one_of(BAD_YAML, MISSING_PATH)),
    (TASK1, "--out", FILE_AS_FOLDER),
    (TASK1_ENC, "--encoder", st.one_of(GARBAGE, MISSING_PATH)),
    (TASK2, "--model", bad_word(())),
    (TASK2, "--classes", bad_word(("3", "4"))),
    (TASK2, "--source", NO_SUCH_SOURCE),
    (TASK2, "--source-param", BAD_KV),
    (TASK2, "--seeds", st.one_of(NEGATIVE, NOT_INT)),
    (TASK2, "--epochs", st.one_of(NON_POSITIVE, NOT_INT)),
    (TASK2, "--lr", st.one_of(NON_POSITIVE, NOT_FLOAT)),
    (TASK2, "--batch-size", st.one_of(NON_POSITIVE, NOT_INT)),
    (TASK2, "--crop", st.one_of(st.integers(-99, 7).map(str), st.integers(257, 10**9).map(str))),
    (TASK2, "--optimizer", bad_word(("adamw", "sgd"))),
    (TASK2, "--loss", bad_word(("ce", "dice_ce"))),
    (TASK2, "--class-weights", st.one_of(NOT_FLOAT, st.just("1,2,x"))),
    (TASK2, "--encoder-weights", st.one_of(GARBAGE, MISSING_PATH)),
    (TASK2, "--set", BAD_KV),
    (TASK2, "--device", BAD_DEVICE),
    (TASK2, "--out", FILE_AS_FOLDER),
    (TASK2_SSL, "--encoder", st.one_of(GARBAGE, MISSING_PATH)),
    (TASK3, "--setting", bad_word(())),
    (TASK3, "--source", NO_SUCH_SOURCE),
    (TASK3, "--source-param", BAD_KV),
    (TASK3, "--seeds", st.one_of(NEGATIVE, NOT_INT)),
    (TASK3, "--z-step", st.one_of(NON_POSITIVE, NOT_INT)),
    (TASK3, "--connectivity", bad_word(("2d", "3d"))),
    (TASK3, "--device", BAD_DEVICE),
    (TASK3, "--config", st.one_of(BAD_YAML, MISSING_PATH)),
    (TASK3, "--out", FILE_AS_FOLDER),
    (TASK3_ENC, "--encoder", st.one_of(GARBAGE, MISSING_PATH)),
    (["neural", "--method", "raw"], "--data", st.one_of(MISSING_PATH, GARBAGE)),
    (NEURAL, "--data-root", MISSING_PATH),
    (NEURAL, "--method", bad_word(())),
    (NEURAL, "--seed", st.one_of(NEGATIVE, NOT_INT)),
    (NEURAL, "--seeds", st.one_of(NEGATIVE, NOT_INT)),
    (NEURAL, "--epochs", st.one_of(NON_POSITIVE, NOT_INT)),
    (NEURAL, "--steps", st.one_of(NON_POSITIVE, NOT_INT)),
    (NEURAL, "--split", bad_word(())),
    (NEURAL, "--folds", st.one_of(st.integers(-99, 2).map(str), NOT_INT)),
    (NEURAL, "--out", FILE_AS_FOLDER),
    (["bench"], "--suite", st.one_of(BAD_YAML, MISSING_PATH)),
    (BENCH, "--source", NO_SUCH_SOURCE),
    (BENCH, "--source-param", BAD_KV),
    (BENCH, "--encoder", st.one_of(GARBAGE, MISSING_PATH)),
    (BENCH, "--seeds", st.one_of(NEGATIVE, NOT_INT)),
    (BENCH, "--jobs", st.one_of(NON_POSITIVE, NOT_INT.filter(lambda v: v != "auto"))),
    (BENCH, "--executor", bad_word(("local", "slurm", "submitit-local"))),
    (BENCH, "--ddp-procs", st.one_of(NON_POSITIVE, NOT_INT)),
    (BENCH, "--out", FILE_AS_FOLDER),
    (["data", "info"], "--source", NO_SUCH_SOURCE),
    (["data", "info", "--source", "phantom"], "--source-param", BAD_KV),
    (["data", "preview", "--source", "phantom", "--out", "p.png"], "--z",
     st.one_of(NEGATIVE, st.integers(10**4, 10**9).map(str), NOT_INT)),
    (["data", "preview", "--out", "p.png"], "--source", NO_SUCH_SOURCE),
    (FETCH, "--source-param", BAD_KV),
    (FETCH, "--z", st.one_of(NOT_INT, st.integers(721, 10**6).map(lambda v: f"{v}:{v + 1}"))),
    (FETCH, "--channels", bad_word(("image", "pixel_labels", "region_labels"))),
    (FETCH, "--workers", st.one_of(NON_POSITIVE, NOT_INT)),
    (FETCH, "--chunk-shape", st.one_of(NOT_INT, NON_POSITIVE.map(lambda v: f"{v},1,1"))),
    (["data", "verify"], "--cache", st.one_of(MISSING_PATH, FILE_AS_FOLDER)),
    (["data"], "download", bad_word(())),
    (["report"], "--no-published", st.one_of(MISSING_PATH, FILE_AS_FOLDER)),
]


@pytest.fixture(scope="module", autouse=True)
def _imports_done():
    """Import what the commands import once, so the per-example deadline measures the
    checks, not a first ``import torch`` (seconds on a loaded machine)."""
    import importlib

    from mtneuro.cli.main import COMMANDS
    from mtneuro.tasks.registry import get_task, task_names

    for target in COMMANDS.values():
        importlib.import_module(target.split(":")[0])
    for name in task_names():
        get_task(name).config_class  # noqa: B018 - imports the task's modules
    importlib.import_module("mtneuro.bench.runner")


def _materialise(value, folder: Path) -> str:
    """A drawn value as a command-line argument; files it names are written first."""
    if isinstance(value, str):
        return value
    kind, payload = value
    if kind == "afile":
        (folder / "afile").write_text("x")
        return payload
    path = folder / "given.bin"
    path.write_bytes(payload)
    return str(path.name)


@pytest.mark.parametrize(("base", "option", "values"), CASES,
                         ids=[f"{base[0]}{option}" for base, option, _ in CASES])
@settings(max_examples=EXAMPLES_PER_OPTION, deadline=5000, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_bad_values_fail_cleanly_and_write_nothing(base, option, values, data):
    value = data.draw(values, label=option)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        arg = _materialise(value, folder)
        args = [*base, option, arg]
        if base[0] in ("data", "report"):  # no run folder; report takes DIR as argument
            args = [*base, arg] if option in ("download", "--no-published") else args
        elif option != "--out":
            args += ["--out", "run"]
        before = tree(folder)
        outcome = invoke(args, folder)
        assert outcome.code not in (0, None), (args, outcome.out[-500:])
        assert len(outcome.err_lines) <= 2, (args, outcome.err)
        assert "Traceback" not in outcome.err + outcome.out, args
        assert tree(folder) == before, args
