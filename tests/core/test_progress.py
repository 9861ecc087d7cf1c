"""Progress of long loops: lines in a log, a bar on a terminal, a published state."""

import io
import json

import pytest

from mtneuro import progress
from mtneuro.progress import LoopProgress, describe_state, publish, publishing_to, read_published


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_log_gets_a_line_per_interval_and_one_at_the_end(monkeypatch):
    monkeypatch.setattr(progress, "LINE_INTERVAL_S", 0.0)
    stream = io.StringIO()
    with LoopProgress("reading train tiles", 4, unit="tiles", stream=stream) as loop:
        loop.update(2, detail="CTX A")
        loop.update(2)
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("reading train tiles: 2/4 tiles (50 %), ")
    assert "CTX A" in lines[0] and "eta" in lines[0]
    assert lines[-1].startswith("reading train tiles: done, 4 tiles in ")


@pytest.mark.parametrize("stop", [KeyboardInterrupt, RuntimeError])
def test_a_loop_an_interruption_or_error_ends_says_stopped_not_done(monkeypatch, stop):
    """An interrupted task-2 training printed "done" just before "interrupted; ... --resume"."""
    monkeypatch.setattr(progress, "LINE_INTERVAL_S", 0.0)
    stream = io.StringIO()
    with pytest.raises(stop), LoopProgress("task-2 training", 10, unit="samples",
                                           stream=stream) as loop:
        loop.update(3)
        raise stop
    last = stream.getvalue().splitlines()[-1]
    assert last.startswith("task-2 training: stopped, 3/10 samples in ")


def test_short_loop_in_a_log_stays_silent():
    stream = io.StringIO()
    with LoopProgress("quick", 3, stream=stream) as loop:
        loop.update(3)
    assert stream.getvalue() == ""


def test_several_short_loops_in_a_log_still_write_a_line_every_interval(monkeypatch):
    """Two loops of 0.3 s each under an interval of 0.5 s: the second says where it is, as
    a run of several short loops (training, then a refit) must not stay silent for long."""
    import time

    monkeypatch.setattr(progress, "LINE_INTERVAL_S", 0.5)
    stream = io.StringIO()
    for name in ("first", "second"):
        with LoopProgress(name, 3, unit="steps", stream=stream) as loop:
            for _ in range(3):
                time.sleep(0.1)
                loop.update(1)
    lines = stream.getvalue().splitlines()
    assert not any(line.startswith("first") for line in lines)
    assert lines[0].startswith("second: ") and lines[-1].startswith("second: done, 3 steps")


def test_terminal_gets_a_bar_after_its_delay(monkeypatch):
    monkeypatch.setattr(progress, "BAR_DELAY_S", 0.0)
    stream = _Terminal()
    with LoopProgress("task-2 training", 64, unit="samples", stream=stream) as loop:
        loop.update(32, detail="epoch 1/2, loss 0.5000")
        loop.bar.refresh()  # tqdm draws at most every 0.1 s by itself
    out = stream.getvalue()
    assert "32/64" in out and "samples/s" in out and "epoch 1/2, loss 0.5000" in out


def test_published_state_reaches_a_watcher_and_goes_away(tmp_path):
    path = tmp_path / "progress.json"
    publish("nowhere", 1, 2, unit="steps")  # outside publishing_to: nothing written
    with publishing_to(path):
        with LoopProgress("pre-training", 10, unit="steps", enabled=False) as loop:
            loop.update(3, detail="epoch 1/5")
        state = read_published(path)
        assert state["what"] == "pre-training" and state["done"] == 3 and state["total"] == 10
        assert describe_state(state).startswith("pre-training 3/10 steps, ")
        assert describe_state(state).endswith(" steps/s, epoch 1/5")
        publish("pre-training", 4, 10, unit="steps", force=False)  # within 0.5 s: skipped
        assert read_published(path)["done"] == 3
        publish("pre-training", 10, 10, unit="steps", rate=800.0, rate_unit="samples", force=True)
        assert json.loads(path.read_text())["done"] == 10
        assert describe_state(read_published(path)) == "pre-training 10/10 steps, 800 samples/s"
    assert not path.exists() and read_published(path) is None


def test_region_tiles_show_progress_while_they_are_read(monkeypatch, capsys):
    from mtneuro.data.datasets import RegionTileDataset, SegmentationTileDataset
    from mtneuro.data.sources import open_source

    monkeypatch.setattr(progress, "LINE_INTERVAL_S", 0.0)
    RegionTileDataset(open_source("phantom", seed=0), "roi-c1", "test", z_step=64)
    err = capsys.readouterr().err
    assert "reading test tiles (roi-c1, 2d): " in err and " done, " in err
    # quiet runs (pretrain --quiet, task2 --quiet) read without a word
    RegionTileDataset(open_source("phantom", seed=0), "roi-c1", "test", z_step=64, progress=False)
    SegmentationTileDataset(open_source("phantom", seed=0), 4, "test", z_step=64, progress=False)
    assert capsys.readouterr().err == ""
    SegmentationTileDataset(open_source("phantom", seed=0), 4, "test", z_step=64)
    assert "reading test tiles (task 2, 2d): " in capsys.readouterr().err


@pytest.fixture(autouse=True)
def _publish_any_time(monkeypatch):
    monkeypatch.setattr(progress, "_last_publish", -float("inf"))


def test_training_loops_of_tasks_write_lines_in_a_log(monkeypatch, capsys, packaged_data,
                                                      tmp_path):
    """Task 1's supervised training and linear head, and neural training, say where they are
    in a log (stderr no terminal) when not quiet; quiet, they only publish."""
    import numpy as np
    import torch
    from torch import nn

    from mtneuro.data.neural import RECORDINGS
    from mtneuro.tasks.neural import NeuralConfig, fit_neural
    from mtneuro.tasks.region_head import HeadSettings, train_linear_head
    from mtneuro.tasks.supervised import SupervisedSettings, train_classifier

    monkeypatch.setattr(progress, "LINE_INTERVAL_S", 0.0)
    torch.manual_seed(0)
    images = torch.randint(0, 255, (16, 1, 8, 8), dtype=torch.uint8)
    labels = np.arange(16) % 4
    encoder = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),
                            nn.AdaptiveAvgPool2d(1), nn.Flatten())
    encoder.out_dim = 4
    for quiet in (False, True):
        train_classifier(encoder, 4, (images, labels), (images, labels),
                         SupervisedSettings(epochs=2, batch_size=8, quiet=quiet), seed=0)
        train_linear_head(encoder, 4, images.numpy(), labels,
                          HeadSettings(epochs=2, batch_size=8, crop=None, quiet=quiet),
                          mean=0.5, std=0.25, seed=0)
        err = capsys.readouterr().err
        expected = ["supervised training: 1/2 epochs", "validation accuracy",
                    "linear head: 2/2 epochs", "linear head: done, 2 epochs"]
        assert all((text in err) is not quiet for text in expected), err
    with np.load(packaged_data / RECORDINGS["chewie-1"][0]) as npz:
        arrays = {k: npz[k][npz["trial"] < 30] for k in npz.files}
    np.savez(tmp_path / "slice-bin0.10.npz", **arrays)
    fit_neural(NeuralConfig(data=str(tmp_path / "slice-bin0.10.npz"), method="byol", steps=20,
                            batch_size=32, refit=False, quiet=False))
    err = capsys.readouterr().err
    assert "byol training: 1/20 steps" in err and "byol training: done, 20 steps" in err
    assert "(refit)" not in err
    # a refit counts from step 1 again: its lines say it is the refit
    fit_neural(NeuralConfig(data=str(tmp_path / "slice-bin0.10.npz"), method="byol", steps=20,
                            batch_size=32, select_every=10, refit=True, refit_ensemble=False,
                            quiet=False))
    err = capsys.readouterr().err
    assert "byol training: 1/20 steps" in err and "byol training (refit): 1/" in err


def test_a_loop_watched_by_the_bench_writes_no_lines_of_its_own(monkeypatch, tmp_path):
    monkeypatch.setattr(progress, "LINE_INTERVAL_S", 0.0)
    monkeypatch.setattr(progress, "BAR_DELAY_S", 0.0)
    monkeypatch.setattr(progress, "PUBLISH_INTERVAL_S", 0.0)
    for stream in (io.StringIO(), _Terminal()):  # a log, and a terminal the live table owns
        with publishing_to(tmp_path / "progress.json"):
            with LoopProgress("reading", 2, stream=stream) as loop:
                loop.update(2)
                assert read_published(tmp_path / "progress.json")["done"] == 2
        assert stream.getvalue() == ""


def test_a_split_kept_in_memory_shows_no_rate(monkeypatch, tmp_path):
    """A kept split read back showed "136/136 tiles, 11778972 tiles/s, kept from an earlier
    read" in the bench's live table: a copy from memory has no rate worth a number."""
    from mtneuro.data import tile_cache
    from mtneuro.data.datasets import RegionTileDataset
    from mtneuro.data.sources import open_source

    monkeypatch.setattr(progress, "LINE_INTERVAL_S", 0.0)
    monkeypatch.setattr(progress, "PUBLISH_INTERVAL_S", 0.0)
    tile_cache.clear()
    try:
        RegionTileDataset(open_source("phantom", seed=0), "roi-c1", "test", z_step=64,
                          progress=False)
        with publishing_to(tmp_path / "progress.json"):
            RegionTileDataset(open_source("phantom", seed=0), "roi-c1", "test", z_step=64)
            state = read_published(tmp_path / "progress.json")
        stream = io.StringIO()
        with LoopProgress("kept", 3, unit="tiles", stream=stream, timed=False) as loop:
            loop.update(3, detail="kept from an earlier read")
    finally:
        tile_cache.clear()
    assert state["rate"] is None
    assert describe_state(state).endswith(" tiles, kept from an earlier read")
    assert "/s" not in describe_state(state)
    assert stream.getvalue().splitlines()[0] == "kept: 3/3 tiles (100 %), kept from an earlier read"
