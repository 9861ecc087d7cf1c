"""Explicit data roots are honoured or refused, never silently replaced by another root.

* an explicit root that is not a folder fails (``find_data_file``, ``load_slice``, the slice
  source's ``root``, neural ``data_root``), naming the parameter and the path;
* one that exists but lacks the file is passed over (the documented order) with a warning
  naming the file read;
* a ``$MTNEURO_DATA`` that is not a folder is passed over with one warning;
* the one-slice source's out-of-range z says which volume slice it holds.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner

from mtneuro.cli.main import main
from mtneuro.data.neural import RECORDINGS, recording_paths
from mtneuro.data.paths import PACKAGED_ROOT, candidate_roots, find_data_file
from mtneuro.data.shared import SLICE_FILE, load_slice
from mtneuro.data.sources import open_source
from mtneuro.errors import ConfigError, DataError

CHEWIE = PACKAGED_ROOT / RECORDINGS["chewie-1"][0]


@pytest.fixture
def no_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No $MTNEURO_DATA and an empty user cache: past an explicit root, only the packaged
    samples hold files."""
    monkeypatch.delenv("MTNEURO_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path


def _cli(args: list[str], cwd: Path) -> tuple[int, str, str]:
    """``mtneuro ARGS`` in-process; Python's default warning filter, as in a shell."""
    runner = CliRunner()
    previous = Path.cwd()
    os.chdir(cwd)
    try:
        with runner.isolation() as streams, warnings.catch_warnings():
            warnings.simplefilter("default")
            try:
                main(args)
                code = 0
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else 1
            return code, streams[0].getvalue().decode(), streams[1].getvalue().decode()
    finally:
        os.chdir(previous)


# --- an explicit root that is not a folder -----------------------------------------------------


def test_a_missing_explicit_root_fails_instead_of_reading_the_packaged_file(no_env):
    missing = no_env / "missing"
    expected = (f"data root: {missing} is not a folder (not there); expected an existing data "
                "root, or no root for the default lookup")
    with pytest.raises(DataError) as info:  # used to return the packaged slice
        find_data_file(SLICE_FILE, missing)
    assert str(info.value) == expected
    with pytest.raises(DataError, match="^data root: .* is not a folder"):
        load_slice(missing)


def test_a_file_given_as_the_root_is_called_a_file(no_env):
    (no_env / "afile").write_text("x")
    with pytest.raises(DataError, match=r" is not a folder \(a file\); "):
        find_data_file(SLICE_FILE, no_env / "afile")


def test_slice_root_that_is_not_there_names_the_parameter_path_and_what_was_expected(no_env):
    missing = no_env / "missing"
    with pytest.raises(DataError) as info:
        open_source("slice", root=str(missing))
    assert str(info.value) == (f"root: {missing} is not a folder (not there); expected a data "
                               f"root holding {SLICE_FILE}, or no root for the default lookup")


def test_slice_root_on_the_command_line_fails_in_one_line(no_env):
    code, out, err = _cli(["data", "info", "--source", "slice", "--source-param",
                           "root=missing"], no_env)
    assert (code, out) == (2, "")
    assert err == ("error: root: missing is not a folder (not there); expected a data root "
                   f"holding {SLICE_FILE}, or no root for the default lookup\n")


def test_neural_data_root_that_is_not_there_is_an_error_not_a_skip(no_env):
    from mtneuro.tasks.neural.task import missing_recording
    from mtneuro.tasks.registry import get_task

    missing = no_env / "missing"
    # the key a config file sets and the flag that sets it are both named
    with pytest.raises(DataError, match=rf"^root \(data_root in a task config, --data-root\): "
                                        rf"{missing} is not a folder"):
        recording_paths("chewie-1", missing)  # used to find the packaged chewie-1
    # chewie-2 is nowhere here: a skip ("not downloaded") used to hide the mistyped root
    config = get_task("neural").make_config(None, {"data": "chewie-2", "data_root": missing,
                                                   "method": "raw"})
    with pytest.raises(DataError, match=rf"^root \(data_root in a task config, --data-root\): "
                                        rf"{missing} is not a folder"):
        missing_recording(config)
    assert recording_paths("chewie-1", no_env) == [CHEWIE]  # an existing root: looked past


# --- an existing explicit root without the file: the documented order, with a warning ---------


def test_a_file_found_past_an_existing_explicit_root_is_warned_about(no_env):
    (no_env / "empty").mkdir()
    with pytest.warns(UserWarning) as caught:  # used to be silent
        assert find_data_file(SLICE_FILE, no_env / "empty") == PACKAGED_ROOT / SLICE_FILE
    assert [str(w.message) for w in caught] == [
        f"{SLICE_FILE} is not in data root {no_env / 'empty'}; read {PACKAGED_ROOT / SLICE_FILE}"]


def test_a_file_in_the_explicit_root_is_read_without_a_warning(no_env):
    (no_env / SLICE_FILE).parent.mkdir(parents=True)
    (no_env / SLICE_FILE).write_bytes(b"mine")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert find_data_file(SLICE_FILE, no_env) == no_env / SLICE_FILE


def test_slice_info_past_an_empty_root_says_which_file_it_read(no_env):
    (no_env / "empty").mkdir()
    code, out, err = _cli(["data", "info", "--source", "slice", "--source-param",
                           "root=empty"], no_env)
    assert code == 0, err
    assert err == f"warning: {SLICE_FILE} is not in data root empty; read " \
                  f"{PACKAGED_ROOT / SLICE_FILE}\n"  # once, though the root is looked up thrice
    assert f'  file: "{PACKAGED_ROOT / SLICE_FILE}"' in out.splitlines()


# --- $MTNEURO_DATA that is not a folder ---------------------------------------------------------


@pytest.mark.parametrize("make", [None, "file"])
def test_mtneuro_data_not_a_folder_warns_and_keeps_the_documented_order(no_env, monkeypatch, make):
    env = no_env / "env"
    if make == "file":
        env.write_text("x")
    monkeypatch.setenv("MTNEURO_DATA", str(env))
    with pytest.warns(UserWarning) as caught:
        found = find_data_file(SLICE_FILE)
    assert found == PACKAGED_ROOT / SLICE_FILE
    assert [str(w.message) for w in caught] == [
        (f"$MTNEURO_DATA is {env}, which is not a folder; looking in the user cache and the "
         "packaged samples instead")]
    with pytest.warns(UserWarning, match="which is not a folder"):
        roots = candidate_roots()
    assert roots == [("$MTNEURO_DATA", env), ("user cache", no_env / "cache" / "mtneuro"),
                     ("packaged samples", PACKAGED_ROOT)]


def test_mtneuro_data_that_is_a_folder_is_not_warned_about(no_env, monkeypatch):
    monkeypatch.setenv("MTNEURO_DATA", str(no_env))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert candidate_roots()[0] == ("$MTNEURO_DATA", no_env)


def test_mtneuro_data_not_a_folder_is_one_warning_line_of_a_command(no_env, monkeypatch):
    monkeypatch.setenv("MTNEURO_DATA", str(no_env / "env"))
    code, out, err = _cli(["data", "info", "--source", "slice"], no_env)
    assert code == 0, err
    assert err.splitlines() == [  # once, though the slice is looked up thrice
        (f"warning: $MTNEURO_DATA is {no_env / 'env'}, which is not a folder; looking in the "
         "user cache and the packaged samples instead")]
    assert f'  file: "{PACKAGED_ROOT / SLICE_FILE}"' in out.splitlines()
    with pytest.warns(UserWarning, match=r"^\$MTNEURO_DATA is .*, which is not a folder"):
        assert recording_paths("chewie-1") == [CHEWIE]  # the neural look-up says it too


# --- the one-slice source's z ---------------------------------------------------------------


@pytest.mark.parametrize("z", [309, 1, -1])
def test_slice_preview_outside_z_says_which_volume_slice_it_holds(no_env, z):
    code, _, err = _cli(["data", "preview", "--source", "slice", "--z", str(z), "--out",
                         "p.png"], no_env)
    assert code == 2 and not (no_env / "p.png").exists()
    assert err == (f"error: z {z} is outside the slice volume (valid z: 0:1); the slice source "
                   "holds one slice (volume z 309) at z 0\n")


def test_slice_preview_at_z_0_shows_the_slice(no_env):
    code, out, err = _cli(["data", "preview", "--source", "slice", "--z", "0", "--out",
                           "p.png"], no_env)
    assert (code, err, out) == (0, "", "wrote p.png\n")
    assert (no_env / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_slice_read_outside_z_says_so_too_and_other_sources_do_not(no_env):
    with pytest.raises(ConfigError) as info:
        open_source("slice").read_channel("image", (309, 310), (0, 8), (0, 8))
    assert str(info.value) == ("z range 309:310 is outside the slice volume (valid z: 0:1); "
                               "the slice source holds one slice (volume z 309) at z 0")
    with pytest.raises(ConfigError) as info:  # y is the volume's own: no note
        open_source("slice").check_ranges((0, 1), (0, 2000), (0, 8))
    assert str(info.value) == "y range 0:2000 is outside the slice volume (valid y: 0:1420)"
    with pytest.raises(ConfigError) as info:
        open_source("phantom").check_ranges((0, 100000), (0, 8), (0, 8))
    assert str(info.value) == "z range 0:100000 is outside the phantom volume (valid z: 0:720)"


def test_phantom_preview_outside_z_keeps_its_message(no_env):
    code, _, err = _cli(["data", "preview", "--source", "phantom", "--z", "100000", "--out",
                         "p.png"], no_env)
    assert code == 2
    assert err == "error: z 100000 is outside the phantom volume (valid z: 0:720)\n"


def test_a_folder_given_twice_is_searched_and_named_once(tmp_path, monkeypatch):
    """``--root DIR`` with ``MTNEURO_DATA=DIR``: the lookup order and a missing file's
    message named the folder twice."""
    monkeypatch.setenv("MTNEURO_DATA", str(tmp_path))
    roots = candidate_roots(tmp_path / "." )
    assert [label for label, _ in roots][:2] == ["explicit path", "user cache"]
    with pytest.raises(DataError) as info:
        find_data_file("neural/nothing.npz", tmp_path)
    assert str(info.value).count(str(tmp_path)) == 1, str(info.value)
