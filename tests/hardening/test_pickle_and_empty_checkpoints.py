"""A plain ``pickle.dump`` file or an empty file given where mtneuro reads a checkpoint is
named as what it is (a reliability walkthrough found "damaged" and "EOFError: no details"),
while a torch file that is truly damaged is still called damaged."""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import pytest
import torch
from cli_probe import invoke

from mtneuro.errors import CheckpointError
from mtneuro.models.checkpoint import read_checkpoint, read_state_dict
from mtneuro.ssl.checkpoint import load_checkpoint

WEIGHTS = {"conv.weight": torch.ones(2, 1, 3, 3)}
#: each reader of a user's file, with the route it gives away from pickles
READERS = [(read_checkpoint, "save model.state_dict() instead and load it inside a module"),
           (read_state_dict, "save the weights with torch.save(encoder.state_dict(), path)")]


def _message(read, path: Path) -> str:
    with pytest.raises(CheckpointError) as info:
        read(path)
    assert "\n" not in str(info.value)
    return str(info.value)


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
@pytest.mark.parametrize(("read", "route"), READERS)
def test_a_plain_pickle_is_named_as_one_with_the_state_dict_route(tmp_path: Path, protocol,
                                                                  read, route) -> None:
    path = tmp_path / "weights.pt"
    path.write_bytes(pickle.dumps({k: v.tolist() for k, v in WEIGHTS.items()},
                                  protocol=protocol))
    message = _message(read, path)
    assert (f"{path} is a pickle file (written by pickle.dump, not torch.save), which "
            "mtneuro never unpickles") in message
    assert route in message and "damaged" not in message and "operand" not in message


def test_torch_files_damaged_after_their_header_are_told_apart_from_pickles(
        tmp_path: Path) -> None:
    whole, legacy = io.BytesIO(), io.BytesIO()
    torch.save(WEIGHTS, whole)
    torch.save(WEIGHTS, legacy, _use_new_zipfile_serialization=False)
    for name, data in (("zip.pt", whole.getvalue()), ("legacy.pt", legacy.getvalue())):
        (tmp_path / name).write_bytes(data[:-10])  # a copy cut short
        message = _message(read_state_dict, tmp_path / name)
        assert "the file is damaged" in message and "pickle file" not in message, name
    (tmp_path / "plain.pt").write_bytes(pickle.dumps(WEIGHTS))
    assert "is a pickle file" in _message(read_state_dict, tmp_path / "plain.pt")


@pytest.mark.parametrize(("read", "fix"), [
    (read_checkpoint, "use a good copy, or rerun what wrote it"),
    (read_state_dict, "use a good copy, or rerun what wrote it"),
    (load_checkpoint, "rerun the command with --overwrite instead of --resume"),
])
def test_an_empty_checkpoint_is_named_empty_with_what_to_do(tmp_path: Path, read,
                                                            fix) -> None:
    (tmp_path / "empty.pt").touch()
    message = _message(read, tmp_path / "empty.pt")
    assert f"{tmp_path / 'empty.pt'} is empty (0 bytes" in message
    assert fix in message and "EOFError" not in message


@pytest.mark.parametrize("args", [
    ["task1", "--method", "encoder", "--encoder", "w.pt"],
    ["task2", "--model", "unet", "--encoder-weights", "w.pt"],
])
def test_the_commands_name_a_pickle_given_as_encoder_or_weights(tmp_path: Path, args) -> None:
    (tmp_path / "w.pt").write_bytes(pickle.dumps(WEIGHTS, protocol=4))
    outcome = invoke([*args, "--quick", "--seeds", "0", "--out", "run"], tmp_path)
    assert outcome.code == 2 and len(outcome.err_lines) == 1, outcome.err
    assert "w.pt is a pickle file" in outcome.err and "state_dict()" in outcome.err
    assert "damaged" not in outcome.err
