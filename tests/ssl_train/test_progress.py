"""Progress output: a samples/s bar on a terminal, a line at least every interval in a log."""

from __future__ import annotations

import io

from ssl_train_helpers import flip_noise_view, tiny_myow

from mtneuro.ssl import progress
from mtneuro.ssl.trainer import Trainer, TrainSettings


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_log_lines_are_timed_and_carry_samples_per_second(monkeypatch):
    stream = io.StringIO()
    clock = iter([0.0, 10.0, 20.0, 40.0, 45.0, 50.0])  # start, then one reading per update
    monkeypatch.setattr(progress.time, "perf_counter", lambda: next(clock))
    bar = progress.Progress(total_steps=40, batch_size=8, steps_per_epoch=10, stream=stream)
    bar.update(10, 10, loss=1.5, rate=8.0)   # t=10: first line
    bar.update(20, 10, loss=1.2, rate=8.0)   # t=20: 10 s later, no line
    bar.update(30, 10, loss=1.0, rate=16.0)  # t=40: 30 s after the first line
    bar.update(40, 10, loss=0.9, rate=16.0)  # t=45: the last step always has its line
    lines = stream.getvalue().splitlines()
    assert lines == [
        "step 10/40 (epoch 1/4): loss 1.5000, 8 samples/s (mean 8), eta 0.5 min",
        "step 30/40 (epoch 3/4): loss 1.0000, 16 samples/s (mean 6), eta 0.2 min",
        "step 40/40 (epoch 4/4): loss 0.9000, 16 samples/s (mean 7.11), eta 0.0 min",
    ]


def test_a_slow_rate_keeps_its_significant_digits(monkeypatch):
    """A CPU run of a big encoder printed "0 samples/s (mean 0)": below 100 a rate has 3
    significant digits, and so has the bench's view of it."""
    from mtneuro.progress import describe_state

    stream = io.StringIO()
    clock = iter([0.0, 60.0])
    monkeypatch.setattr(progress.time, "perf_counter", lambda: next(clock))
    monkeypatch.setattr(progress, "publish", lambda *a, **k: published.update(k, done=a[1]))
    published: dict = {}
    bar = progress.Progress(total_steps=40, batch_size=8, steps_per_epoch=10, stream=stream)
    bar.update(10, 10, loss=1.5, rate=1.3)  # 80 samples in 60 s
    assert stream.getvalue() == ("step 10/40 (epoch 1/4): loss 1.5000, 1.3 samples/s "
                                 "(mean 1.33), eta 3.0 min\n")
    state = {"what": "pre-training", "total": 40, "unit": "steps", **published}
    assert describe_state(state) == ("pre-training 10/40 steps, 1.3 samples/s, epoch 1/4, "
                                     "loss 1.5000")


def test_terminal_bar_counts_samples():
    stream = _Terminal()
    bar = progress.Progress(total_steps=4, batch_size=16, steps_per_epoch=2, stream=stream)
    bar.update(2, 2, loss=0.5, rate=100.0)
    bar.close()
    out = stream.getvalue()
    assert "32/64" in out and "samples/s" in out and "epoch=1/2" in out and "loss=0.5000" in out


def test_trainer_writes_progress_lines_to_a_log(digits_images, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(progress, "LINE_INTERVAL_S", 0.0)
    settings = TrainSettings(epochs=1, batch_size=16, lr=0.05, warmup_epochs=0, pool_size=16,
                             mined_weight=0.1, log_every=1)
    method = tiny_myow()
    optimizer = __import__("torch").optim.SGD(method.parameters(), lr=0.05, momentum=0.9)
    Trainer(method, optimizer, digits_images[:48], flip_noise_view, settings, tmp_path).fit()
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 3 and all("samples/s" in line for line in lines)
    assert lines[-1].startswith("step 3/3 (epoch 1/1): loss ")
