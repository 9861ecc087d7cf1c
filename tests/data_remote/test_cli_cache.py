"""``mtneuro data fetch|verify`` end to end, including a ``kill -9`` of a fill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np

from mtneuro.data.sources.cache import CacheSource

CHUNK_ARGS = ["--chunk-shape", "8,128,128"]  # 32 chunks per channel of the 16 x 512 x 512 volume


def bossdb_args(server) -> list[str]:
    return [
        "--source",
        "bossdb",
        "--source-param",
        f"host={server.host}",
        "--source-param",
        "protocol=http",
        "--source-param",
        "timeout=2",
        "--source-param",
        "backoff=0.01",
    ]


def test_help(cli):
    for command in ("fetch", "verify"):
        code, out, _ = cli(["data", command, "--help"])
        assert code == 0 and "--cache" in out


def test_fetch_then_verify_detects_and_repairs_corruption(tmp_path, boss_server, volume, cli):
    cache_dir = tmp_path / "cache"
    code, out, err = cli(
        [
            "data",
            "fetch",
            *bossdb_args(boss_server),
            "--cache",
            str(cache_dir),
            *CHUNK_ARGS,
            "--z",
            "0:8",
            "--channels",
            "image,pixel_labels",
            "--quiet",
        ],
    )
    assert code == 0, err
    assert "fetched 32 chunk(s), 0 already present" in out
    assert boss_server.count("cutout") == 32
    store = CacheSource(cache_dir).store
    path = store.chunk_path("pixel_labels", (0, 2, 1))
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x55
    path.write_bytes(bytes(data))

    code, out, err = cli(
        ["data", "verify", "--cache", str(cache_dir), "--no-repair", "--quiet"]
    )
    assert code != 0
    assert "ok 31, corrupted 1, missing 0" in out
    assert err.count("\n") == 1 and "left as they are" in err

    boss_server.clear()
    code, out, err = cli(["data", "verify", "--cache", str(cache_dir), "--quiet"])
    assert code == 0, err
    assert "repaired 1 chunk(s)" in out and boss_server.count("cutout") == 1
    np.testing.assert_array_equal(
        CacheSource(cache_dir).read_channel("pixel_labels", (0, 8), (0, 512), (0, 512)),
        volume["pixel_labels"][:8],
    )


def test_errors_are_one_line(tmp_path, cli):
    code, _, err = cli(
        ["data", "fetch", "--cache", str(tmp_path / "none"), "--source", "phantomm"]
    )
    assert code == 2 and err.count("\n") == 1 and "unknown source 'phantomm'" in err
    code, _, err = cli(["data", "verify", "--cache", str(tmp_path)])
    assert code == 2 and err.count("\n") == 1 and "not an mtneuro cache" in err
    assert f"mtneuro data list --root {tmp_path}" in err  # a data root is checked there
    code, _, err = cli(["data", "verify", "--cache", str(tmp_path / "absent")])
    assert code == 2 and err.count("\n") == 1 and "absent does not exist" in err
    assert "not an mtneuro cache" not in err
    code, _, err = cli(
        [
            "data",
            "fetch",
            "--cache",
            str(tmp_path / "x"),
            "--source",
            "bossdb",
            "--source-param",
            "workers",
        ],
    )
    assert code == 2 and "expected KEY=VALUE" in err


def test_kill9_during_fill_then_resume_fetches_only_what_is_missing(
    tmp_path, boss_server, volume, cli
):
    cache_dir = tmp_path / "cache"
    args = [
        "data",
        "fetch",
        *bossdb_args(boss_server),
        "--cache",
        str(cache_dir),
        *CHUNK_ARGS,
        "--channels",
        "image,roi_labels",
        "--workers",
        "3",
        "--quiet",
    ]
    total = 2 * 32
    boss_server.delay_seconds = 0.05  # slow enough to kill mid-way, fast enough for a short test
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mtneuro.cli.main", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while (
            boss_server.count("cutout") < 20 and proc.poll() is None and time.monotonic() < deadline
        ):
            time.sleep(0.01)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    time.sleep(0.2)  # let the server finish answering the dead client's last requests

    report = CacheSource(cache_dir).scan()
    assert 10 <= report.ok < total
    # damage one good chunk as well: it must be fetched again, never served
    good = CacheSource(cache_dir).store.chunk_path("image", (0, 0, 0))
    if good.is_file():
        good.write_bytes(good.read_bytes()[:-7])
    expected = total - CacheSource(cache_dir).scan().ok

    boss_server.clear()
    boss_server.delay_seconds = 0.0
    code, out, err = cli(args)
    assert code == 0, err
    assert boss_server.count("cutout") == expected
    assert f"fetched {expected} chunk(s), {total - expected} already present" in out

    final = CacheSource(cache_dir)
    after = final.scan()
    assert (after.ok, after.bad) == (total, [])
    for channel in ("image", "roi_labels"):
        np.testing.assert_array_equal(
            final.read_channel(channel, (0, 16), (0, 512), (0, 512)), volume[channel]
        )
    code, out, _ = cli(
        ["data", "verify", "--cache", str(cache_dir), "--no-repair", "--quiet"]
    )
    assert code == 0 and f"ok {total}, corrupted 0, missing 0" in out
