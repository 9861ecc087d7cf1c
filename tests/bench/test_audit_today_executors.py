"""Known answers for the submitit executor checks (mutation audit mut18 of
``bench/executors.py``): submitit's own refusals become one-line ConfigErrors, every
parameter submitit-local reads is accepted, and the API refuses before OUT exists."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtneuro.bench.executors import LOCAL_PARAMETERS, check_executor, submitit_executor
from mtneuro.bench.runner import RunOptions, run_suite
from mtneuro.bench.suite import expand, parse_suite
from mtneuro.errors import ConfigError

pytestmark = pytest.mark.extra("cluster")


#: a valid value for each parameter submitit-local reads (submitit 1.5 ``_submit_command``)
LOCAL_VALUES = {"timeout_min": 1.5, "gpus_per_node": 1, "visible_gpus": [0], "tasks_per_node": 1,
                "nodes": 1, "signal_delay_s": 5, "setup": ["echo hi"]}


def test_every_parameter_submitit_local_reads_is_accepted_and_passed_on(tmp_path: Path) -> None:
    assert set(LOCAL_VALUES) <= set(LOCAL_PARAMETERS)  # the table names each of them
    check_executor("submitit-local", LOCAL_VALUES)
    built = submitit_executor(tmp_path / "jobs", "submitit-local", LOCAL_VALUES)
    assert {k: built.parameters[k] for k in LOCAL_VALUES} == LOCAL_VALUES


def test_a_local_job_without_a_time_limit_gets_24_hours(tmp_path: Path) -> None:
    # submitit's own default is 2 minutes: far too short for a cell
    built = submitit_executor(tmp_path / "jobs", "submitit-local", {"gpus_per_node": 0})
    assert built.parameters["timeout_min"] == 24 * 60


@pytest.mark.parametrize(("params", "said"), [
    ({"nodes": 2}, "LocalExecutor can use only one node. Use nodes=1"),
    ({"gpus_per_node": 2, "visible_gpus": [0]},
     "2 gpus requested, but only [0] were specified visible."),
])
def test_submitit_locals_own_refusals_are_one_line_config_errors(params: dict, said: str) -> None:
    # names and types are right: submitit itself refuses the combination (a ValueError)
    with pytest.raises(ConfigError) as info:
        check_executor("submitit-local", params)
    assert str(info.value) == f"--executor-param: submitit refused the parameters: {said}"


def test_two_unknown_slurm_parameters_still_make_one_line(fake_srun: None) -> None:
    # submitit names each unknown argument on a line of its own
    with pytest.raises(ConfigError) as info:
        check_executor("slurm", {"slurm_partiton": "gpu", "slurm_qos_x": "high"})
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("--executor-param: submitit refused the parameters: Unknown "
                              "argument 'partiton'")


@pytest.mark.parametrize(("executor", "params", "message"), [
    ("submitit-local", {"timeout_mn": 5},
     "--executor-param timeout_mn: not a parameter of submitit-local"),
    ("local", {"timeout_min": 5},
     ("--executor-param timeout_min: submitit parameters apply to --executor slurm or "
      "submitit-local, not to local")),
])
def test_run_suite_refuses_executor_parameters_before_out_exists(
        tiny_task: Path, tmp_path: Path, executor: str, params: dict, message: str) -> None:
    cells = expand(parse_suite({"name": "t", "grid": [
        {"task": "tiny", "setting": "a", "methods": ["ok"]}]}))
    out = tmp_path / "out"
    with pytest.raises(ConfigError) as info:
        run_suite(cells, RunOptions(out, executor=executor, executor_params=params, quiet=True))
    assert str(info.value).startswith(message)
    assert not out.exists()  # nothing to --overwrite afterwards
