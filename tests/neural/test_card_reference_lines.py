"""The neural protocol card names every place where a run departs from the reference scripts
(nerdslab/myow-neuro ``train_monkey.py`` / ``train_mouse.py``), not only the settings that differ
from mtneuro's own defaults: known answers, with the reference lines they cite."""

from __future__ import annotations

from mtneuro.tasks.neural.config import NeuralConfig
from mtneuro.tasks.protocol import neural_card

SLEEP_EMA = ("target EMA rate constant 0.98 (reference cosine from 0.02 to 1, "
             "train_mouse.py:54,160-161,178,232: 1 - 0.98 (1 + cos(pi step / total steps)) / 2)")
SLEEP_MINED = "MYOW mined projector / predictor output 32 (reference 16, train_mouse.py:45,126,129)"
REACH_WARMUP = ("learning rate: 50-step linear warm-up, then constant (reference: constant; its "
                "warm-up and cosine are computed and logged, never set on the optimiser, "
                "train_monkey.py:153-157,177,236)")
REACH_DECAY = ("weight decay on the weights of linear layers only, not on biases or BatchNorm "
               "weights (reference: on every parameter, exclude_bias_and_bn=False, "
               "train_monkey.py:135)")
REACH_POSITIVES = ("temporal positives within bins t-2 .. t+2 of the same trial (reference: "
                   "t .. t+2, forward only, pos_kmin=0, train_monkey.py:61,110-111)")
ENCODER = ("encoder: BatchNorm momentum 0.1 and ReLU, output layer with a bias, target encoder "
           "starting as a copy of the online one (reference: momentum 0.99, PReLU, no bias, "
           "myow/mlp.py:36,38,41; target encoder re-initialised, myow/myow.py:66)")
ZSCORE = ("{} z-scores with the training bins' statistics and drops the neurons constant in them "
          "(reference: training + validation bins, train_monkey.py:83,94,118, "
          "myow/transforms/normalize.py:18-23)")
READOUT = ("readout fitted in closed form / by L-BFGS as an L2 penalty on standardised features "
           "over the values of the reference's weight-decay grid, not the same strengths "
           "(reference: a linear layer trained by AdamW for 100 passes per decoupled weight "
           "decay, myow/tasks/train_reach_angle_regressor.py, train_sleep_classifier.py)")
TIES = ("readout penalties that tie on validation accuracy are told apart by {} (reference: the "
        "first best in grid order, the smallest weight decay, MetricLogger's strict "
        "improvement)")
REFIT_READOUT = ("readout refitted on training + validation with the penalty chosen on "
                 "validation (reference: fitted on training)")


def _deviations(**values: object) -> list[str]:
    return neural_card(NeuralConfig(**values))["deviations"]


def test_a_sleep_card_names_the_mouse_scripts_ema_schedule_and_mined_size() -> None:
    lines = _deviations(data="mouse-ca1", method="myow")
    assert SLEEP_EMA in lines and SLEEP_MINED in lines, lines
    # the mouse script's own values leave nothing to name
    as_script = _deviations(data="mouse-ca1", method="myow", ema_schedule="cosine",
                            ema_start=0.02, mined_dim=16)
    assert not any(line.startswith(("target EMA", "MYOW mined projector")) for line in as_script)
    # reach's defaults are the monkey script's: no EMA or mined-size line
    reach = _deviations(data="chewie-1", method="myow")
    assert not any(line.startswith(("target EMA", "MYOW mined projector")) for line in reach)
    # the mouse script decays BatchNorm weights (only names with "bias" are skipped)
    assert ("weight decay on the weights of linear layers only, not on biases or BatchNorm "
            "weights (reference: on every parameter but biases: BatchNorm and PReLU weights "
            "too, train_mouse.py:136, myow/utils.py:33)") in lines


def test_a_reach_card_names_warm_up_weight_decay_positives_and_encoder() -> None:
    for method in ("byol", "myow"):
        lines = _deviations(data="chewie-1", method=method)
        for line in (REACH_WARMUP, REACH_DECAY, REACH_POSITIVES, ENCODER):
            assert line in lines, (method, line, lines)
    # a run that sets them as the reference does is not named for them
    plain = _deviations(data="chewie-1", method="byol", warmup_steps=0, weight_decay=0.0)
    assert not any(line.startswith(("learning rate:", "weight decay")) for line in plain)
    cosine = _deviations(data="chewie-1", method="byol", warmup_steps=0, lr_schedule="cosine")
    assert any(line.startswith("learning rate: cosine decay to 0 (reference: constant")
               for line in cosine)


def test_a_raw_card_gets_the_z_scoring_line_only_with_training_bin_statistics() -> None:
    # without the refit, raw rates are z-scored on the training bins alone: the one line
    # that concerns a method with no encoder
    ties = TIES.format("delta-accuracy, then mean angular error")
    assert _deviations(data="chewie-1", method="raw", refit=False) == [ZSCORE.format("the run"),
                                                                         READOUT, ties]
    # with it (the default) they are re-scaled on training + validation, as the reference
    assert _deviations(data="chewie-1", method="raw") == [REFIT_READOUT, READOUT, ties]


def test_a_trained_card_gets_the_z_scoring_line_for_training_bin_scaled_encoders() -> None:
    first_pass = ZSCORE.format("the first-pass encoder, whose features the readout also reads,")
    assert first_pass in _deviations(data="chewie-1", method="myow")  # the refit ensemble's
    alone = _deviations(data="chewie-1", method="myow", refit_ensemble=False)
    assert not any("z-scores with the training bins" in line for line in alone)
    assert ZSCORE.format("the run") in _deviations(data="chewie-1", method="byol", refit=False)
    # no reference row to compare the supervised MLP with: none of the reference lines
    supervised = _deviations(data="chewie-1", method="supervised", refit=False)
    assert not any(line.startswith(("the run z-scores", "encoder:", "temporal positives"))
                   for line in supervised)


def test_the_readouts_tie_rule_is_on_the_card_of_each_kind() -> None:
    assert TIES.format("delta-accuracy, then mean angular error") in _deviations(
        data="chewie-1", method="raw")
    assert TIES.format("weighted F1") in _deviations(data="mouse-ca1", method="raw")
