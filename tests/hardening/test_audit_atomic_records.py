"""Audit: a write cut short by a full disk leaves the previous run log / encoder whole.

The full disk is a file-size limit (RLIMIT_FSIZE) below the new file's size: a direct
write truncates the old file and then fails; an atomic one fails on its temporary file.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch

resource = pytest.importorskip("resource")
if not hasattr(signal, "SIGXFSZ"):
    pytest.skip("needs POSIX file-size limits", allow_module_level=True)

from mtneuro.models.checkpoint import load_encoder, save_encoder
from mtneuro.models.registry import create_encoder
from mtneuro.ssl.checkpoint import truncate_log


@contextmanager
def disk_full_after(n_bytes: int) -> Iterator[None]:
    # SIGXFSZ would kill the process; ignored, the write fails with EFBIG (an OSError).
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (n_bytes, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old_handler)


def test_a_failed_log_truncation_keeps_the_whole_log(tmp_path: Path):
    path = tmp_path / "train_log.jsonl"
    original = "".join(json.dumps({"step": s, "loss": 1.0 / s, "pad": "x" * 40}) + "\n"
                       for s in range(1, 7))
    path.write_text(original)
    with disk_full_after(32), pytest.raises(OSError):
        truncate_log(path, 4)  # the 4 kept lines (~250 bytes) do not fit
    assert path.read_text() == original
    assert [p.name for p in tmp_path.iterdir()] == ["train_log.jsonl"]  # no temp file left


def test_a_failed_encoder_save_keeps_the_previous_encoder(tmp_path: Path):
    path = tmp_path / "encoder.pt"
    torch.manual_seed(0)
    first = create_encoder("resnet-tiny", in_channels=1, widths=(4, 8))
    save_encoder(path, first, name="resnet-tiny", kwargs={"in_channels": 1, "widths": (4, 8)})
    before = path.read_bytes()
    torch.manual_seed(1)
    second = create_encoder("resnet-tiny", in_channels=1, widths=(4, 8))
    with disk_full_after(1024), pytest.raises(OSError):
        save_encoder(path, second, name="resnet-tiny", kwargs={"in_channels": 1, "widths": (4, 8)})
    assert path.read_bytes() == before
    loaded = load_encoder(path)
    for name, value in first.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], value), name
