"""A server that sends slowly but never pauses long enough to time a read out: the download is
given up at the policy's ``max_seconds`` (all tries and transfers together), keeping what
arrived for the next run to resume."""

from __future__ import annotations

import hashlib
import time

import pytest

from mtneuro.data.download import fetch_url
from mtneuro.data.retry import RetryPolicy
from mtneuro.errors import SourceUnavailableError

BODY = bytes(range(256)) * 256  # 65,536 bytes: 6.4 s at 1 kB every 0.1 s
SHA = hashlib.sha256(BODY).hexdigest()
BUDGET = RetryPolicy(max_attempts=4, max_seconds=1.5, base_delay=0.01, max_delay=0.01)


def test_a_trickling_server_is_given_up_at_max_seconds_and_the_bytes_kept(file_server, tmp_path):
    file_server.files["slow.bin"] = BODY
    file_server.trickle = (1024, 0.1)
    dest = tmp_path / "slow.bin"
    start = time.monotonic()
    with pytest.raises(SourceUnavailableError) as err:
        fetch_url(file_server.url("slow.bin"), dest, sha256=SHA, policy=BUDGET, timeout=2.0,
                  progress=False)
    elapsed = time.monotonic() - start
    # the budget, plus at most one read under way (timeout) and some slack for a loaded machine
    assert elapsed < BUDGET.max_seconds + 2.0 + 1.0, elapsed
    message = str(err.value)
    assert "\n" not in message and "not done within its 1.5 s budget" in message
    assert f"fetch it by other means, save it as {dest}" in message
    assert len(file_server.requests) == 1  # the budget is spent: no second try starts
    part = tmp_path / "slow.bin.part"
    kept = part.read_bytes()
    assert 0 < len(kept) < len(BODY) and BODY.startswith(kept) and not dest.exists()
    # the next run resumes from what was kept
    file_server.trickle = None
    fetch_url(file_server.url("slow.bin"), dest, sha256=SHA, policy=BUDGET, timeout=2.0,
              progress=False)
    assert dest.read_bytes() == BODY
    assert file_server.requests[-1] == ("slow.bin", f"bytes={len(kept)}-")
