"""A cache write that finds the disk full names the file it was writing (the CLI's one line
said "cannot write a file"), and leaves no temporary file behind."""

from __future__ import annotations

import errno
import io
import os
import subprocess
import sys

import pytest

from mtneuro.data.sources import cache_metadata


class _FullDisk(io.BytesIO):
    def write(self, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")  # as os.write: no file named


def test_a_full_disk_names_the_chunk_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    real_open = open
    opened = []

    def full_open(path, mode="r", *args, **kwargs):
        real_open(path, mode, *args, **kwargs).close()  # the temporary file exists, as on disk
        opened.append(path)
        return _FullDisk()

    monkeypatch.setattr(cache_metadata, "open", full_open, raising=False)
    target = tmp_path / "image" / "c" / "0" / "0" / "0"
    with pytest.raises(OSError) as raised:
        cache_metadata.atomic_write(target, b"chunk")
    assert raised.value.errno == errno.ENOSPC and raised.value.filename == str(target)
    assert opened and not any(p.exists() for p in opened) and not target.exists()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_output_that_finds_no_room_is_named_as_the_output():
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "mtneuro", "data", "info", "--source",
                               "phantom"], stdout=full, stderr=subprocess.PIPE, text=True,
                              check=False)
    assert done.returncode == 1
    assert done.stderr.startswith("error: cannot write its output (standard output, or a file "
                                  "the system did not name): No space left on device")
