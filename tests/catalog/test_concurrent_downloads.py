"""Two ``mtneuro data download`` processes into one root at once: one fetches, the other
waits for it and keeps its verified file (no second download, no shared ``.part``); a
``.part`` that something else removes mid-download is one line, not a traceback."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from mtneuro.data.download import fetch_url
from mtneuro.data.retry import RetryPolicy
from mtneuro.data.sources import cache_lock
from mtneuro.errors import DataError

pytestmark = pytest.mark.skipif(cache_lock.fcntl is None, reason="needs fcntl.flock (POSIX)")

BODY = hashlib.sha256(b"twin").digest() * 8192  # 256 KiB
SHA = hashlib.sha256(BODY).hexdigest()
RELATIVE = "twin/blob.bin"
FAST = RetryPolicy(max_attempts=3, max_seconds=30.0, base_delay=0.0, max_delay=0.0)

# Registers a one-file dataset served by the test's server, waits for the go file so that
# both processes start together, then runs the command line.
WORKER = """
import sys, time
from pathlib import Path
from mtneuro.data import catalog
from mtneuro.cli.main import main
url, sha, relative, ready, go = sys.argv[1:6]
entry = catalog.Dataset("twin", "twin", (catalog.CatalogFile(relative, url, sha),), "-", "-", "-")
catalog.CATALOG["twin"] = entry
Path(ready).touch()
while not Path(go).exists():
    time.sleep(0.002)
main(sys.argv[6:])
"""


def _run_two(url: str, root: Path, tmp_path: Path) -> list[tuple[int, str, str]]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.pop("MTNEURO_DATA", None)
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg")  # no copy to find in the lookup order
    go, procs, ready = tmp_path / "go", [], []
    for i in range(2):
        ready.append(tmp_path / f"ready{i}")
        argv = [url, SHA, RELATIVE, str(ready[i]), str(go), "data", "download", "twin",
                "--root", str(root)]
        procs.append(subprocess.Popen([sys.executable, "-c", WORKER, *argv], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    try:
        deadline = time.monotonic() + 30
        while not all(r.exists() for r in ready) and time.monotonic() < deadline:
            assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
            time.sleep(0.01)
        go.touch()
        outs = [p.communicate(timeout=60) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    return [(p.returncode, out, err) for p, (out, err) in zip(procs, outs)]


@pytest.mark.parametrize("resumed", [0, 65536], ids=["fresh", "resuming"])
def test_two_downloads_at_once_fetch_the_file_once_and_both_succeed(file_server, tmp_path,
                                                                   resumed):
    file_server.files["blob"] = BODY
    file_server.trickle = (16384, 0.05)  # about a second: the two runs really overlap
    root = tmp_path / "root"
    folder = (root / RELATIVE).parent
    if resumed:  # an earlier run's partial body, which both would otherwise append to
        folder.mkdir(parents=True)
        (folder / "blob.bin.part").write_bytes(BODY[:resumed])
    runs = _run_two(file_server.url("blob"), root, tmp_path)
    assert [code for code, _, _ in runs] == [0, 0], [err for _, _, err in runs]
    assert not any("Traceback" in err for _, _, err in runs)
    # "verified   downloaded      PATH": the words between the state and the path
    actions = sorted(" ".join(out.split()[1:-1]) for _, out, _ in runs)
    assert actions == ["already present", "downloaded"], [out for _, out, _ in runs]
    # the second run really waited for the first (the race was exercised), and said so
    waited = [err for _, _, err in runs if "another process is downloading" in err]
    assert len(waited) == 1 and waited[0].count("\n") == 1, [err for _, _, err in runs]
    expected = [("blob", f"bytes={resumed}-" if resumed else None)]
    assert file_server.requests == expected  # the bytes were sent once
    assert (root / RELATIVE).read_bytes() == BODY
    assert [p.name for p in folder.iterdir()] == ["blob.bin"]  # no .part, no lock file


def test_a_part_file_removed_under_the_download_is_one_line_naming_it(file_server, tmp_path):
    # Not by another mtneuro download (it waits for the lock) but by a clean-up script, say.
    file_server.files["blob"] = BODY
    file_server.trickle = (16384, 0.02)
    dest = tmp_path / "blob.bin"
    part = tmp_path / "blob.bin.part"

    def remove_part() -> None:
        deadline = time.monotonic() + 10
        while not part.exists() and time.monotonic() < deadline:
            time.sleep(0.001)
        part.unlink()

    remover = threading.Thread(target=remove_part)
    remover.start()
    try:
        with pytest.raises(DataError) as err:
            fetch_url(file_server.url("blob"), dest, sha256=SHA, policy=FAST, timeout=5.0,
                      progress=False)
    finally:
        remover.join()
    message = str(err.value)
    assert "\n" not in message and f"{part} was removed while" in message
    assert "rerun the download" in message and not dest.exists()
