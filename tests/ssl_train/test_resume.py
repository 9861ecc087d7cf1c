"""Resuming an interrupted run reproduces the uninterrupted run exactly (CPU)."""

from __future__ import annotations

import json

import pytest
import torch
from ssl_train_helpers import flip_noise_view, tiny_byol, tiny_myow

from mtneuro.errors import MtneuroError, TrainingError
from mtneuro.ssl.checkpoint import load_checkpoint
from mtneuro.ssl.trainer import Trainer, TrainSettings

SETTINGS = TrainSettings(epochs=3, batch_size=16, lr=0.05, warmup_epochs=1, base_momentum=0.9,
                         seed=7, log_every=2, checkpoint_every=1, quiet=True)


class Interrupt(Exception):
    """Stands in for a crash or Ctrl-C in the middle of a step."""


def counting_view(fail_at: int, poison: bool = False):
    """A view function that, at call ``fail_at``, raises (or returns NaNs if ``poison``)."""
    calls = {"n": 0}

    def view(batch, generator):
        out = flip_noise_view(batch, generator)
        calls["n"] += 1
        if calls["n"] > fail_at:
            if not poison:
                raise Interrupt
            out = out * float("nan")
        return out

    return view


# MYOW draws one of k=2 neighbours from a separate pool: exercises the pool and method generators.
MYOW_SETTINGS = TrainSettings(**{**SETTINGS.__dict__, "mined_weight": 0.5, "mined_rampup_epochs": 1,
                                 "pool_size": 16})


def make_trainer(images, out_dir, view=flip_noise_view, settings=SETTINGS, widths=(4, 8)):
    images = images[:48]  # 3 steps per epoch
    if settings.pool_size:
        method = tiny_myow(seed=settings.seed, layout="merged", k=2, widths=widths)
    else:
        method = tiny_byol(seed=settings.seed)
    optimizer = torch.optim.SGD(method.parameters(), lr=settings.lr, momentum=0.9, weight_decay=1e-4)
    return Trainer(method, optimizer, images, view, settings, out_dir)


def read_log(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


# The static step (device-tensor schedules, static buffers) resumes exactly as well.
STATIC_SETTINGS = TrainSettings(**{**MYOW_SETTINGS.__dict__, "step": "static"})


@pytest.mark.parametrize(
    ("settings", "widths"),
    [(SETTINGS, (4, 8)), (MYOW_SETTINGS, (4, 8)), (MYOW_SETTINGS, (16, 32)),
     (STATIC_SETTINGS, (4, 8))],
    ids=["byol", "myow-merged-pool", "myow-merged-pool-channels-last", "myow-merged-pool-static"],
)
def test_interrupted_then_resumed_equals_uninterrupted(digits_images, tmp_path, settings, widths):
    views_per_step = 3 if settings.pool_size else 2
    full = make_trainer(digits_images, tmp_path / "full", settings=settings, widths=widths)
    assert full.channels_last == (widths == (16, 32))
    result = full.fit()
    assert result["steps"] == 3 * 3

    # Interrupt in the middle of epoch 1 (0-based): 2 views per step, 3 steps per epoch.
    broken = make_trainer(digits_images, tmp_path / "cut", counting_view(fail_at=views_per_step * 4),
                          settings=settings, widths=widths)
    with pytest.raises(Interrupt):
        broken.fit()
    assert load_checkpoint(tmp_path / "cut" / "checkpoint.pt")["epoch"] == 1

    resumed = make_trainer(digits_images, tmp_path / "cut", settings=settings, widths=widths)
    resumed.fit(resume=True)

    assert resumed.guard.losses == full.guard.losses  # the loss-jump check's level too
    expected = full.method.state_dict()
    for name, value in resumed.method.state_dict().items():
        assert torch.equal(value, expected[name]), name  # bitwise on CPU
    full_log, cut_log = read_log(tmp_path / "full/train_log.jsonl"), read_log(tmp_path / "cut/train_log.jsonl")
    assert [r["step"] for r in cut_log] == list(range(1, 10))
    assert [r["loss"] for r in cut_log] == [r["loss"] for r in full_log]
    assert [r["lr"] for r in cut_log] == [r["lr"] for r in full_log]

    # Resuming a finished run does nothing and reports the logged final loss.
    again = make_trainer(digits_images, tmp_path / "cut", settings=settings, widths=widths)
    again = again.fit(resume=True)
    assert again["steps_run"] == 0 and again["final_loss"] == full_log[-1]["loss"]


def test_resume_refuses_changed_settings(digits_images, tmp_path):
    one_epoch = TrainSettings(**{**SETTINGS.__dict__, "epochs": 1})
    make_trainer(digits_images, tmp_path, settings=one_epoch).fit()
    changed = TrainSettings(**{**one_epoch.__dict__, "batch_size": 8})
    with pytest.raises(TrainingError, match="batch_size was 16, now 8"):
        make_trainer(digits_images, tmp_path, settings=changed).fit(resume=True)


def test_resume_names_a_changed_method_first(digits_images, tmp_path):
    # merged -> cascaded MYOW: same settings, other heads; the method is named, not a head key.
    one_epoch = TrainSettings(**{**MYOW_SETTINGS.__dict__, "epochs": 1})
    make_trainer(digits_images, tmp_path, settings=one_epoch).fit()
    assert load_checkpoint(tmp_path / "checkpoint.pt")["method_name"] == "myow-merged"
    method = tiny_myow(seed=one_epoch.seed, layout="cascaded", k=2, widths=(4, 8))
    optimizer = torch.optim.SGD(method.parameters(), lr=one_epoch.lr, momentum=0.9)
    cascaded = Trainer(method, optimizer, digits_images[:48], flip_noise_view, one_epoch, tmp_path)
    with pytest.raises(TrainingError, match="method was 'myow-merged', now 'myow'"):
        cascaded.fit(resume=True)
    # BYOL differs in mined_weight too; the method is what the message names.
    byol = TrainSettings(**{**SETTINGS.__dict__, "epochs": 1})
    with pytest.raises(TrainingError, match="method was 'myow-merged', now 'byol'$"):
        make_trainer(digits_images, tmp_path, settings=byol).fit(resume=True)


def test_nan_loss_stops_and_keeps_last_good_checkpoint(digits_images, tmp_path):
    # NaN views from call 2*4 on: the first bad step is step 5 (1-based), in epoch 1.
    trainer = make_trainer(digits_images, tmp_path, counting_view(fail_at=2 * 4, poison=True))
    with pytest.raises(TrainingError, match=r"non-finite loss at step 5 \(epoch 2"
                                      r" as the progress line counts; \"epoch\": 1") as err:
        trainer.fit()
    assert "last good checkpoint" in str(err.value) and "(epoch 1)" in str(err.value)
    state = load_checkpoint(tmp_path / "checkpoint.pt")
    assert state["epoch"] == 1 and state["step"] == 3
    assert all(torch.isfinite(v).all() for v in state["method"].values() if v.is_floating_point())
    log = read_log(tmp_path / "train_log.jsonl")
    assert log[-1]["step"] == 4 and all(r["loss"] == r["loss"] for r in log)


def _interrupted_run(digits_images, tmp_path):
    """An uninterrupted run in ``full`` and one cut at step 5 (log: steps 1-4) in ``cut``."""
    make_trainer(digits_images, tmp_path / "full").fit()
    with pytest.raises(Interrupt):
        make_trainer(digits_images, tmp_path / "cut", counting_view(fail_at=2 * 4)).fit()
    log = tmp_path / "cut" / "train_log.jsonl"
    assert [r["step"] for r in read_log(log)] == [1, 2, 3, 4]
    return log


def test_torn_last_log_line_is_dropped_with_one_warning(digits_images, tmp_path):
    log = _interrupted_run(digits_images, tmp_path)
    with log.open("a") as handle:
        handle.write('{"step": 5, "epoch": 1, "lo')  # the write a full disk or power loss cut
    with pytest.warns(UserWarning, match=rf"{log}.* line 5 .*torn") as caught:
        make_trainer(digits_images, tmp_path / "cut").fit(resume=True)
    assert len([w for w in caught if "torn" in str(w.message)]) == 1
    full_log, cut_log = read_log(tmp_path / "full/train_log.jsonl"), read_log(log)
    assert [r["step"] for r in cut_log] == list(range(1, 10))
    assert [r["loss"] for r in cut_log] == [r["loss"] for r in full_log]


def test_damaged_line_inside_the_log_is_a_one_line_error(digits_images, tmp_path):
    log = _interrupted_run(digits_images, tmp_path)
    lines = log.read_text().splitlines()
    log.write_text("\n".join([lines[0], lines[1][:20], *lines[2:]]) + "\n")
    with pytest.raises(MtneuroError) as err:
        make_trainer(digits_images, tmp_path / "cut").fit(resume=True)
    message = str(err.value)
    assert "\n" not in message and str(log) in message and "line 2" in message


def test_resume_takes_the_thread_count_the_run_started_with(digits_images, tmp_path, capsys):
    """CPU float sums depend on torch's thread count, which follows the machine's load at
    start (mtneuro.threads.usable_cpus): a resumed run uses the checkpoint's count."""
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        with pytest.raises(Interrupt):
            make_trainer(digits_images, tmp_path, counting_view(fail_at=2 * 4)).fit()
        assert load_checkpoint(tmp_path / "checkpoint.pt")["torch_threads"] == 2
        torch.set_num_threads(1)  # a busier machine at resume
        make_trainer(digits_images, tmp_path).fit(resume=True)
        assert torch.get_num_threads() == 2
        assert "with its 2 torch threads (not 1)" in capsys.readouterr().err
    finally:
        torch.set_num_threads(before)


def test_resume_with_another_step_mode_says_it_will_not_be_bit_identical(digits_images, tmp_path):
    """Changing the step mode on resume is allowed (the modes agree up to float rounding),
    but a user who expects an exact continuation is told (reliability audit, session 18)."""
    with pytest.raises(Interrupt):
        make_trainer(digits_images, tmp_path, counting_view(fail_at=3 * 4),
                     settings=MYOW_SETTINGS).fit()
    assert load_checkpoint(tmp_path / "checkpoint.pt")["step_plan"] == ["eager", None]
    with pytest.warns(UserWarning, match=r"with step static, not eager as it ran: .* not end "
                                         r"bit-identical"):
        make_trainer(digits_images, tmp_path, settings=STATIC_SETTINGS).fit(resume=True)
    with pytest.warns(UserWarning, match="with step eager, not static"):  # finished: said too
        make_trainer(digits_images, tmp_path, settings=MYOW_SETTINGS).fit(resume=True)




def test_resume_names_the_compile_mode_it_ran_with(digits_images, tmp_path):  # tr1 tr3
    from mtneuro.ssl.checkpoint import save_checkpoint
    with pytest.raises(Interrupt):
        make_trainer(digits_images, tmp_path, counting_view(fail_at=3 * 4),
                     settings=MYOW_SETTINGS).fit()
    path = tmp_path / "checkpoint.pt"
    state = load_checkpoint(path)
    save_checkpoint(path, {**state, "step_plan": ["eager", "default"]})
    with pytest.warns(UserWarning, match=r"with step eager, not eager compiled \(default\) as "
                                         "it ran"):
        make_trainer(digits_images, tmp_path, settings=MYOW_SETTINGS).fit(resume=True)


def test_a_checkpoint_without_step_plan_resumes_silently(digits_images, tmp_path):  # tr2b
    import warnings
    from mtneuro.ssl.checkpoint import save_checkpoint
    with pytest.raises(Interrupt):
        make_trainer(digits_images, tmp_path, counting_view(fail_at=3 * 4),
                     settings=MYOW_SETTINGS).fit()
    path = tmp_path / "checkpoint.pt"
    state = load_checkpoint(path)
    del state["step_plan"]
    save_checkpoint(path, state)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make_trainer(digits_images, tmp_path, settings=MYOW_SETTINGS).fit(resume=True)
    assert not [w for w in caught if "bit-identical" in str(w.message)]
