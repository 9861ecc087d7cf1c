"""torchrun's variables left over in a shell fail in one line naming the variable."""

from __future__ import annotations

import pytest

from mtneuro.errors import ConfigError
from mtneuro.torchrun_env import torchrun_int, world_size
from mtneuro.warning_lines import other_rank


@pytest.mark.parametrize(("name", "raw", "expected"), [
    ("WORLD_SIZE", "abc", "an integer >= 1"), ("WORLD_SIZE", "0", "an integer >= 1"),
    ("LOCAL_RANK", "abc", "an integer >= 0"), ("LOCAL_RANK", "-1", "an integer >= 0")])
def test_a_bad_value_names_the_variable(monkeypatch, name, raw, expected):
    monkeypatch.setenv(name, raw)
    with pytest.raises(ConfigError, match=rf"^environment variable {name}='{raw}': expected "
                                          rf"{expected} \(torchrun sets it\); unset it"):
        torchrun_int(name, 0)


def test_unset_or_empty_is_the_default_and_a_job_needs_its_other_variables(monkeypatch):
    for name in ("WORLD_SIZE", "RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    assert world_size() == 1
    monkeypatch.setenv("WORLD_SIZE", "")
    assert world_size() == 1
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ConfigError, match=r"^environment variable WORLD_SIZE=2 but RANK, "
                                          r"MASTER_ADDR, MASTER_PORT are not set: start several "
                                          r"processes with torchrun, or unset WORLD_SIZE"):
        world_size()
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", "29500")
    assert world_size() == 2 and other_rank() == 1
    monkeypatch.setenv("RANK", "x")
    assert other_rank() == 0  # warnings never fail: the command refuses the value


def test_the_pretrain_command_refuses_a_stray_world_size_in_one_line(
        monkeypatch, tmp_path, capsys):
    from mtneuro.cli.main import main

    monkeypatch.setenv("WORLD_SIZE", "abc")
    with pytest.raises(SystemExit) as exited:
        main(["pretrain", "--quick", "--out", str(tmp_path / "o")])
    assert exited.value.code == 2
    assert capsys.readouterr().err == ("error: environment variable WORLD_SIZE='abc': expected "
                                       "an integer >= 1 (torchrun sets it); unset it to run as "
                                       "one process\n")
