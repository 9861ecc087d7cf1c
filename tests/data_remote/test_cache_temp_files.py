"""A temporary file of a writer killed mid-write (a real process, ``kill -9``) is a leftover at
once for ``mtneuro data verify``; one of a live writer, of another host or without a host
waits for the age rule."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from mtneuro.data.sources import cache_temp

pytestmark = pytest.mark.skipif(not cache_temp._HOST or sys.platform == "win32",
                                reason="needs a hostname that names this machine, and POSIX")

# Writes the start of a chunk to the temporary file of its atomic write, says where, and
# waits there as a writer between its write and its os.replace.
WRITER = """
import sys, time
from pathlib import Path
from mtneuro.data.sources.cache_temp import temp_path
tmp = temp_path(Path(sys.argv[1]))
tmp.write_bytes(b"half a chunk")
print(tmp, flush=True)
time.sleep(60)
"""


def _writer(target: Path) -> tuple[subprocess.Popen, Path]:
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target)],
                            stdout=subprocess.PIPE, text=True)
    return proc, Path(proc.stdout.readline().strip())


def test_a_killed_writers_temporary_file_is_removed_at_once_and_nothing_else(tmp_path, cli):
    root = tmp_path / "c"
    code, _, err = cli(["data", "fetch", "--source", "phantom", "--cache", str(root),
                        "--z", "0:8", "--y", "0:32", "--x", "0:32", "--chunk-shape", "8,32,32",
                        "--channels", "image", "--quiet"])
    assert code == 0, err
    chunk = root / "image" / "c" / "0" / "0" / "0"
    killed, left = _writer(chunk)
    alive, writing = _writer(chunk)
    try:
        killed.kill()
        killed.wait()
        # the dead writer's id in a name of another host (a cache on NFS) or of no host (an
        # older mtneuro's name): that id may be a live process there, so young files stay
        elsewhere = left.with_name(re.sub("@.*$", "@elsewhere", left.name))
        hostless = left.with_name(re.sub("@.*$", "", left.name))
        for path in (elsewhere, hostless):
            path.write_bytes(b"x")
        code, out, err = cli(["data", "verify", "--cache", str(root), "--quiet"])
    finally:
        alive.kill()
        alive.wait()
    assert code == 0, err
    assert "temporary files 1)" in out and "removed 1 temporary file(s)" in out
    assert not left.exists()
    assert writing.exists() and elsewhere.exists() and hostless.exists()
