"""Known answers for ``mtneuro``'s error exits (main.py) and the ``data`` commands (mutation
audit of mtneuro.cli: exit codes 1 / 2 / 130, one-line errors, ``data fetch|verify|preview|
info|download``): what each exit means and which files each command writes or keeps."""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

import pytest
from cli_probe import assert_one_line_error, invoke, tree

from mtneuro.cli import data_info
from mtneuro.cli.data_cache import parse_range
from mtneuro.errors import ConfigError

# --- main: exit codes and one-line errors ----------------------------------------------------


def test_an_unknown_option_exits_2_in_one_line_with_a_hint(tmp_path):
    outcome = invoke(["data", "info", "--sorce", "x"], tmp_path)
    assert_one_line_error(outcome)
    assert outcome.err == ("error: no such option: --sorce (see mtneuro data info --help); did you "
                           "mean --source, --source-param?\n")


@pytest.mark.parametrize("group", [[], ["data"]])
def test_a_group_without_a_command_prints_its_help_as_it_is(tmp_path, group):
    """Not click's help squeezed into one ``error:`` line (click >= 8.2 raises it as a
    usage error)."""
    outcome = invoke(group, tmp_path)
    assert outcome.code in (0, 2) and not outcome.err
    lines = outcome.out.splitlines()
    assert lines[0].startswith(f"Usage: {' '.join(['mtneuro', *group])} [OPTIONS] COMMAND")
    assert "Commands:" in lines and "error" not in outcome.out


@pytest.mark.parametrize("command", [["task1", "--method", "pca"], ["task3", "--method", "pca"],
                                     ["neural", "--data", "chewie-1"]])
def test_resume_of_a_command_without_checkpoints_says_what_to_do_instead(tmp_path, command):
    outcome = invoke([*command, "--resume", "--out", "run"], tmp_path)
    assert_one_line_error(outcome)
    assert outcome.err == (f"error: no such option: --resume (see mtneuro {command[0]} --help); "
                           f"mtneuro {command[0]} "
                           "keeps no checkpoints, so a stopped run is run again: add "
                           "--overwrite to replace what its --out folder holds\n")


def test_a_missing_option_exits_2_in_one_line_naming_the_command(tmp_path):
    outcome = invoke(["data", "preview"], tmp_path)
    assert_one_line_error(outcome)
    assert outcome.err == "error: Missing option '--out'. (see mtneuro data preview --help)\n"


def _raise_in_data_info(monkeypatch, error: BaseException) -> None:
    def info_lines(source):
        raise error

    monkeypatch.setattr(data_info, "info_lines", info_lines)


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EFBIG, errno.EDQUOT])
def test_a_full_disk_exits_1_in_one_line_naming_the_file(tmp_path, monkeypatch, code: int):
    _raise_in_data_info(monkeypatch, OSError(code, "no room", "big.bin"))
    outcome = invoke(["data", "info"], tmp_path)
    assert outcome.code == 1
    assert outcome.err == ("error: cannot write big.bin: no room (disk full or a file-size "
                           "limit); what was written before is kept whole\n")


def test_another_os_error_is_not_called_a_full_disk(tmp_path, monkeypatch):
    _raise_in_data_info(monkeypatch, OSError(errno.ENOENT, "gone", "x"))
    with pytest.raises(FileNotFoundError):
        invoke(["data", "info"], tmp_path)


def test_ctrl_c_exits_130_with_one_line(tmp_path, monkeypatch):
    _raise_in_data_info(monkeypatch, KeyboardInterrupt())
    outcome = invoke(["data", "info"], tmp_path)
    # click writes a newline first (the terminal's ^C line); then exactly one line
    assert (outcome.code, outcome.err.lstrip("\n")) == (130, "interrupted\n")


def test_a_user_error_exits_2(tmp_path, monkeypatch):
    _raise_in_data_info(monkeypatch, ConfigError("--thing 3: expected 4"))
    outcome = invoke(["data", "info"], tmp_path)
    assert (outcome.code, outcome.err) == (2, "error: --thing 3: expected 4\n")


@pytest.mark.parametrize("code", [0, 3])
def test_a_command_that_ends_with_ctx_exit_keeps_its_code(tmp_path, monkeypatch, code: int):
    import click

    _raise_in_data_info(monkeypatch, click.exceptions.Exit(code))  # as ctx.exit(code) does
    assert invoke(["data", "info"], tmp_path).code == code


# --- data info / preview ---------------------------------------------------------------------


def test_data_info_names_only_volume_sources(tmp_path):
    # an image data set is a source of pretrain, not of data info: refused before its params
    outcome = invoke(["data", "info", "--source", "digits", "--source-param", "x=1"], tmp_path)
    assert_one_line_error(outcome)
    assert outcome.err == "error: unknown source 'digits'; valid: phantom, slice, bossdb, cache\n"


class _Source:
    """Just what info_lines reads of a source."""

    name = "fake"
    voxel_size_um = 1.0
    channels = ("image",)

    def __init__(self, shape: tuple[int, int, int]) -> None:
        self.shape = shape

    def describe(self) -> dict:
        return {"source": "fake"}


def test_info_marks_boxes_and_splits_outside_a_small_source_with_exact_edges():
    # the largest box ends at x 4856, y 1156 (half-open); the last split at z 470
    edges = "\n".join(data_info.info_lines(_Source((470, 1156, 4856))))
    assert "outside" not in edges and "beyond" not in edges
    short = data_info.info_lines(_Source((469, 1156, 4855)))
    assert [line.split()[0] for line in short if "outside this source" in line] == ["CTX"]
    assert [line.split()[0] for line in short if "beyond" in line] == ["test"]


def test_preview_takes_an_upper_case_png_name_and_says_when_it_replaced(tmp_path, monkeypatch):
    from mtneuro.report import preview

    def render_preview(source, out: Path, z=None) -> Path:  # no drawing: only the CLI's part
        out.write_bytes(b"png")
        return out

    monkeypatch.setattr(preview, "render_preview", render_preview)
    outcome = invoke(["data", "preview", "--out", "A.PNG"], tmp_path)
    assert (outcome.code, outcome.out) == (0, "wrote A.PNG\n")
    outcome = invoke(["data", "preview", "--out", "A.PNG"], tmp_path)
    assert (outcome.code, outcome.out) == (0, "replaced A.PNG\n")


# --- data fetch / verify ---------------------------------------------------------------------


def test_ranges_parse_start_then_stop():
    assert parse_range("z", "3:9") == (3, 9)
    assert parse_range("x", None) is None
    for bad in ("3", "3:9:1", "a:b", ""):
        with pytest.raises(ConfigError) as err:
            parse_range("y", bad)
        assert str(err.value) == f"--y: expected START:STOP (ints), got {bad!r}"


FETCH = ["data", "fetch", "--source", "phantom", "--cache", "c", "--chunk-shape", "4,32,32",
         "--z", "0:4", "--y", "0:32", "--x", "0:32", "--quiet"]


@pytest.fixture
def cache(tmp_path) -> Path:
    """A one-chunk phantom cache of two channels, listed with a space after the comma."""
    outcome = invoke([*FETCH, "--channels", "image, roi_labels"], tmp_path)
    assert outcome.code == 0, outcome.err
    assert outcome.out == "cache c: fetched 2 chunk(s), 0 already present (image, roi_labels)\n"
    return tmp_path / "c"


def test_a_channel_named_twice_is_fetched_and_counted_once(cache, tmp_path):
    outcome = invoke([*FETCH, "--channels", "image,image"], tmp_path)
    assert outcome.out == "cache c: fetched 0 chunk(s), 1 already present (image)\n"


def test_fetch_under_a_file_fails_before_any_source_opens(tmp_path):
    (tmp_path / "afile").write_text("x")
    args = [("afile/c" if arg == "c" else arg) for arg in FETCH]
    outcome = invoke(args, tmp_path)
    assert_one_line_error(outcome, "--cache afile/c: afile is a file, so the folder cannot be "
                                   "made there (choose another --cache)")
    assert tree(tmp_path) == {"afile": 1}


def _stale_temp(cache: Path) -> Path:
    from mtneuro.data.sources.cache_temp import TMP_MARK

    temp = cache / f".zarr.json{TMP_MARK}audit"
    temp.write_text("half")
    old = time.time() - 7 * 24 * 3600  # long dead writer
    os.utime(temp, (old, old))
    return temp


def test_verify_removes_stale_temporary_files_only_when_it_repairs(tmp_path, cache):
    temp = _stale_temp(cache)
    outcome = invoke(["data", "verify", "--cache", "c", "--no-repair", "--quiet"], tmp_path)
    assert outcome.code == 0 and temp.exists()
    assert "ok 2, corrupted 0, missing 0" in outcome.out
    assert "temporary files 1)" in outcome.out
    outcome = invoke(["data", "verify", "--cache", "c", "--quiet"], tmp_path)
    assert outcome.code == 0, outcome.err
    assert outcome.out.splitlines()[-1] == ("repaired 0 chunk(s) from phantom; removed 1 "
                                            "temporary file(s)")
    assert not temp.exists()


def test_verify_without_repair_leaves_damaged_metadata_as_it_is(tmp_path, cache):
    meta = cache / "image" / "zarr.json"
    meta.write_text("{}")
    outcome = invoke(["data", "verify", "--cache", "c", "--no-repair", "--quiet"], tmp_path)
    assert_one_line_error(outcome, "cache c has damaged metadata (image/zarr.json), left as it "
                                   "is; run: mtneuro data verify --cache c --repair")
    assert meta.read_text() == "{}"
    outcome = invoke(["data", "verify", "--cache", "c", "--quiet"], tmp_path)
    assert outcome.code == 0, outcome.err
    assert "rewrote metadata image/zarr.json from the recorded spec" in outcome.out
    assert meta.read_text() != "{}"


def test_verify_fails_when_a_repair_did_not_fix_the_chunk(tmp_path, cache, monkeypatch):
    from mtneuro.data.sources.cache import CacheSource

    chunk = CacheSource(cache).store.chunk_path("image", (0, 0, 0))
    chunk.write_bytes(chunk.read_bytes()[:-5])
    monkeypatch.setattr(CacheSource, "repair", lambda self, report, progress=False: 0)
    outcome = invoke(["data", "verify", "--cache", "c", "--quiet"], tmp_path)
    assert outcome.code == 2
    assert outcome.err == "error: 1 chunk(s) in c are still damaged after repair\n"


def test_verify_of_a_cache_without_any_spec_says_it_cannot_be_repaired(tmp_path, cache):
    for name in ("mtneuro_cache.json", "zarr.json"):
        (cache / name).write_text("{}")
    before = tree(tmp_path)
    outcome = invoke(["data", "verify", "--cache", "c", "--quiet"], tmp_path)
    assert_one_line_error(outcome, "cache c: neither mtneuro_cache.json nor zarr.json holds a "
                                   "readable cache spec; it cannot be repaired")
    assert tree(tmp_path) == before


# --- data download ---------------------------------------------------------------------------


def test_download_keeps_a_file_already_in_the_root_and_passes_on_retries(tmp_path, monkeypatch):
    from mtneuro.data import download
    from mtneuro.data.catalog import CATALOG

    monkeypatch.delenv("MTNEURO_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    policies = []

    def download_dataset(name, base, policy, timeout):
        policies.append((name, base, policy.max_attempts, timeout))
        return []

    monkeypatch.setattr(download, "download_dataset", download_dataset)
    target = tmp_path / "root" / CATALOG["chewie-1"].files[0].relative
    target.parent.mkdir(parents=True)
    import numpy as np

    from mtneuro.data.paths import PACKAGED_ROOT

    # the same arrays written by another writer: it passes its check, so no copy replaces it
    with np.load(PACKAGED_ROOT / CATALOG["chewie-1"].files[0].relative) as arrays:
        np.savez(target, **dict(arrays))
    mine = target.read_bytes()
    outcome = invoke(["data", "download", "chewie-1", "--root", "root", "--retries", "2",
                      "--timeout", "5"], tmp_path)
    assert (outcome.code, outcome.out) == (0, ""), outcome.err
    assert target.read_bytes() == mine
    assert policies == [("chewie-1", Path("root"), 2, 5.0)]


def test_list_looks_in_the_given_root_first(tmp_path, monkeypatch):
    from mtneuro.data.catalog import CATALOG
    from mtneuro.data.catalog_files import file_report

    monkeypatch.delenv("MTNEURO_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    file = CATALOG["chewie-1"].files[0]
    found = file_report(file)
    assert found.path is not None  # a packaged sample
    copy = tmp_path / "root" / file.relative
    copy.parent.mkdir(parents=True)
    copy.write_bytes(found.path.read_bytes())
    outcome = invoke(["data", "list", "--root", "root"], tmp_path)
    assert outcome.code == 0, outcome.err
    row = next(line for line in outcome.out.splitlines() if file.relative in line)
    assert "explicit path" in row and "verified" in row


# --- the lazy command groups -----------------------------------------------------------------


def test_help_lists_every_command_in_alphabetical_order(tmp_path):
    from mtneuro.cli.main import COMMANDS

    outcome = invoke(["--help"], tmp_path)
    listed = outcome.out.split("Commands:")[1].split()
    assert [word for word in listed if word in COMMANDS] == sorted(COMMANDS)


def test_a_lazy_entry_that_is_no_command_is_a_type_error():
    import click

    from mtneuro.cli.lazy import LazyGroup

    group = LazyGroup(lazy_commands={"x": "json:dumps"})
    with pytest.raises(TypeError, match="^json:dumps is not a click command$"):
        group.get_command(click.Context(group), "x")


# --- report ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("flags", "published"), [([], True), (["--no-published"], False)])
def test_report_passes_on_published_and_exits_1_when_a_cell_was_left_out(
        tmp_path, monkeypatch, flags: list[str], published: bool) -> None:
    from mtneuro.report import html

    calls = []

    def build_report(out_dir, published, unreadable, left_out):
        calls.append(published)
        unreadable.append(("cells/task1-x/metrics.json", "not JSON"))
        return {"html": out_dir / "report.html", "markdown": out_dir / "leaderboard.md"}

    monkeypatch.setattr(html, "build_report", build_report)
    (tmp_path / "suite").mkdir()
    outcome = invoke(["report", "suite", *flags], tmp_path)
    assert calls == [published]
    assert outcome.code == 1  # a script sees that a row is missing
    assert outcome.err == "left out cells/task1-x/metrics.json: not JSON\n"


@pytest.mark.parametrize(("z_step", "shown"), [("abc", "'abc'"), ("0", "0")])
def test_pretrain_volume_tiling_is_checked_before_anything_is_said_or_read(tmp_path, z_step,
                                                                          shown):
    """A bad z_step was a ValueError traceback ('abc') or a notice of "one slice in 0"."""
    import numpy as np

    np.save(tmp_path / "v.npy", np.zeros((4, 64, 64), dtype=np.uint8))
    outcome = invoke(["pretrain", "--quick", "--source", "volume", "--source-param", "path=v.npy",
                      "--source-param", f"z_step={z_step}", "--out", "run"], tmp_path)
    assert_one_line_error(outcome)
    assert outcome.err == f"error: z_step: expected an int >= 1, got {shown}\n"
    assert not (tmp_path / "run").exists()
