"""A near miss of a command, a choice or a recording name is answered with the name meant,
letter case aside, wherever a name is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_probe import check

from mtneuro.registry import close_names


@pytest.mark.parametrize(("args", "expected"), [
    (["nueral"], "error: No such command 'nueral' (did you mean 'neural'?). (see mtneuro "
                 "--help)"),
    (["data", "lsit"], "error: No such command 'lsit' (did you mean 'list'?). (see mtneuro "
                       "data --help)"),
    (["zzzz"], "error: No such command 'zzzz'. (see mtneuro --help)"),  # nothing near
    (["pretrain", "--quick", "--method", "myw"],
     "error: method: expected one of 'byol', 'myow', 'myow-merged', got 'myw' (did you mean "
     "'myow'?)"),
    (["pretrain", "--quick", "--source", "digts"],
     "error: source: expected one of phantom, slice, bossdb, cache, digits, cifar10, cifar100, "
     "folder, volume, got 'digts' (did you mean 'digits'?)"),
])
def test_a_near_miss_is_answered_with_the_name_meant(tmp_path: Path, args: list[str],
                                                     expected: str) -> None:
    outcome = check(tmp_path, args)
    assert outcome.err == expected + "\n"


def test_a_recording_name_in_capitals_finds_its_name(tmp_path: Path) -> None:
    outcome = check(tmp_path, ["neural", "--data", "CHEWIE-1"])
    assert outcome.err.startswith("error: unknown recording 'CHEWIE-1' (did you mean "
                                  "'chewie-1'?); valid: ")


def test_close_names_ignore_letter_case_and_keep_the_valid_spelling() -> None:
    assert close_names("MYOW", ["byol", "myow", "myow-merged"], n=1) == ["myow"]
    assert close_names("Chewie-1", ["chewie-1", "Chewie-1"]) == ["chewie-1"]  # the first
    assert close_names("qqq", ["byol", "myow"]) == []
