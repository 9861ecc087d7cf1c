"""``--executor`` and ``--executor-param`` are checked before anything is written or queued."""

from __future__ import annotations

import pytest

from mtneuro.bench.executors import LOCAL_TIMEOUT_MIN, check_executor, submitit_executor
from mtneuro.cli.main import main
from mtneuro.errors import ConfigError

pytestmark = pytest.mark.extra("cluster")


def test_slurm_without_srun_is_named_with_what_to_do_instead(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no srun anywhere
    with pytest.raises(ConfigError, match=r"^--executor slurm: no SLURM here \(srun is not on "
                                          r"PATH\); .* --executor local or submitit-local$"):
        check_executor("slurm", {})


def test_slurm_parameters_are_checked_by_name_and_type(fake_srun, tmp_path):
    check_executor("slurm", {"slurm_partition": "gpu", "timeout_min": 600, "gpus_per_node": 1})
    with pytest.raises(ConfigError, match=r"^--executor-param: submitit refused the parameters: "
                                          r"Unknown argument 'partiton'"):
        check_executor("slurm", {"slurm_partiton": "gpu"})
    with pytest.raises(ConfigError, match=r"timeout_min.* \(but value: \"abc\"\)"):
        check_executor("slurm", {"timeout_min": "abc"})
    built = submitit_executor(tmp_path / "jobs", "slurm", {"slurm_partition": "gpu"})
    assert built._executor.parameters["partition"] == "gpu"
    assert built._executor.parameters["job_name"] == "mtneuro-bench"


def test_submitit_local_knows_its_parameters_and_their_types(tmp_path):
    check_executor("submitit-local", {"timeout_min": 5, "visible_gpus": [0]})
    # submitit's LocalExecutor would ignore the misspelt key and keep its 24 h limit
    with pytest.raises(ConfigError, match=r"^--executor-param timeout_mn: not a parameter of "
                                          r"submitit-local \(expected one of timeout_min, "):
        check_executor("submitit-local", {"timeout_mn": 5})
    with pytest.raises(ConfigError, match=r"^--executor-param timeout_min: expected int or "
                                          r"float, got 'abc'$"):
        check_executor("submitit-local", {"timeout_min": "abc"})
    with pytest.raises(ConfigError, match=r"^--executor-param nodes: expected int, got True$"):
        check_executor("submitit-local", {"nodes": True})
    check_executor("submitit-local", {"stderr_to_stdout": True})  # submitit reads it too
    with pytest.raises(ConfigError, match=r"^--executor-param stderr_to_stdout: expected bool, "):
        check_executor("submitit-local", {"stderr_to_stdout": 1})
    assert submitit_executor(tmp_path / "a", "submitit-local", {}).parameters["timeout_min"] == (
        LOCAL_TIMEOUT_MIN)
    assert submitit_executor(tmp_path / "b", "submitit-local",
                             {"timeout_min": 7}).parameters["timeout_min"] == 7


def test_the_cli_refuses_a_bad_parameter_before_out_exists_dry_run_too(tmp_path, capsys):
    out = tmp_path / "out"
    for extra in (["--dry-run"], []):
        with pytest.raises(SystemExit) as info:
            main(["bench", "--suite", "quick", "--executor", "submitit-local",
                  "--executor-param", "timeout_mn=5", "--out", str(out), *extra])
        assert info.value.code == 2
        assert capsys.readouterr().err.startswith(
            "error: --executor-param timeout_mn: not a parameter of submitit-local")
        assert not out.exists()  # nothing to --overwrite afterwards
