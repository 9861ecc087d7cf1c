"""Files are written whole or not at all, and a write that finds no room is one line."""

from __future__ import annotations

import errno
import os
import subprocess
import sys

import pytest

from mtneuro.atomic import write_atomic


def test_a_write_that_fails_keeps_the_old_file_and_names_the_target(tmp_path):
    target = tmp_path / "report.html"
    target.write_text("old report")

    def no_room(handle):
        handle.write(b"half of the new")
        raise OSError(errno.ENOSPC, "No space left on device")  # as os.write: no filename

    with pytest.raises(OSError) as info:
        write_atomic(target, no_room)
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(target)
    assert target.read_text() == "old report" and os.listdir(tmp_path) == ["report.html"]


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_cli_under_a_file_size_limit_says_so_in_one_line_and_keeps_the_old_report(tmp_path):
    """Known answer: the report page (3.7 kB) written past a 1,000-byte RLIMIT_FSIZE fails
    with EFBIG (Python ignores SIGXFSZ); the earlier report stays whole (it was cut to the
    limit, and the command ended in a traceback)."""
    script = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))\n"
        "from mtneuro.cli.main import main\n"
        "import mtneuro.report.html as report\n"
        "from pathlib import Path\n"
        "def empty_report(out, **kwargs):  # the real page writer, no records (3.7 kB)\n"
        "    return {'html': report.write_html([], [], Path(out), records=[])}\n"
        "report.build_report = empty_report\n"
        "main(['report', sys.argv[1]])\n"
    )
    (tmp_path / "report.html").write_text("old report")
    run = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 1, run.stderr
    assert run.stderr.strip().splitlines() == [
        f"error: cannot write {tmp_path}/report.html: File too large (disk full or a file-size "
        "limit); what was written before is kept whole"]
    assert (tmp_path / "report.html").read_text() == "old report"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
def test_written_files_get_the_permissions_open_would_give_them(tmp_path):
    # mkstemp makes a private 0600 file; a report or record must be readable as open() makes it
    import stat

    import mtneuro.atomic as atomic

    new = write_atomic(tmp_path / "report.html", b"page")
    assert stat.S_IMODE(new.stat().st_mode) == 0o666 & ~atomic._UMASK
    kept = tmp_path / "metrics.json"
    kept.write_text("{}")
    os.chmod(kept, 0o640)
    write_atomic(kept, b"{}")  # a replaced file keeps its mode
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640
