"""Task 2 walkthrough fixes (t2walk F1, F2, F4-F6, F9): what the summary calls a value equal
over seeds, the 3D card's slice step, encoder options and the slice source named with the
config, before any file is opened."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cli_probe import invoke

from mtneuro.errors import ConfigError
from mtneuro.tasks.api import Result
from mtneuro.tasks.segmentation.protocol import task2_card
from mtneuro.tasks.segmentation.task import TASK2


def _stats(mean: float, std: float) -> dict[str, Any]:
    return {"mean": mean, "std": std, "n": 2}


def test_a_class_equal_over_seeds_that_varied_the_run_is_not_called_deterministic(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mtneuro.report import record

    def fake(task: Any, config: Any, out_dir: Any, **_: Any) -> Result:
        names = ["background", "vessel"]
        summary = {"avg_f1": _stats(0.4, 0.01), "avg_iou": _stats(0.3, 0.01),
                   "avg_iou_pooled": _stats(0.178, 0.0),
                   "balanced_accuracy": _stats(0.6, 0.0),
                   "f1": {"background": _stats(0.8, 0.013), "vessel": _stats(0.0, 0.0)},
                   "iou": {"background": _stats(0.6, 0.01), "vessel": _stats(0.0, 0.0)},
                   "iou_pooled": {n: _stats(0.5, 0.0) for n in names}}
        return Result(task="task2", setting="2d-4class", method="unet",
                      metrics={"summary": summary, "setting": {"dim": "2d",
                                                               "class_names": names}},
                      headline={}, source=None,
                      config={"seeds": [0, 1], "classes": 4, "model": "unet",
                              "source": "phantom"},
                      card={}, figures=[])

    monkeypatch.setattr(record, "run_and_record", fake)
    outcome = invoke(["task2", "--model", "unet", "--quick", "--seeds", "0", "1", "--out",
                      "run"], tmp_path)
    assert outcome.code == 0, outcome.err
    lines = outcome.out.splitlines()
    assert lines[2] == ("            vessel: F1 0.000 (identical over 2 seeds), IoU 0.000 "
                        "(identical over 2 seeds)")
    assert "deterministic" not in outcome.out
    # the average pooled IoU is printed beside the per-class pooled ones
    assert lines[3].endswith("background 0.500, vessel 0.500; average 0.178")


@pytest.mark.parametrize(("values", "message"), [
    ({"model": "unet", "encoder": "missing.pt"},
     r"^encoder: applies to model 'ssl-unet' \(a pre-trained encoder under its decoder\), "
     r"not 'unet'$"),
    ({"model": "unet3d", "encoder_name": "resnet34"},
     r"^encoder_name: applies to the 2D smp models, not 'unet3d' \(3d\)$"),
    ({"model": "vnet", "encoder_name": "resnet34", "encoder_weights": "imagenet"},
     r"^encoder_name / encoder_weights: apply to the 2D smp models, not 'vnet' \(3d\)$"),
    ({"model": "ssl-unet", "encoder_weights": "imagenet"},
     r"^encoder_weights: applies to the 2D smp models; ssl-unet takes --encoder$"),
    ({"model": "unet", "source": "slice"},
     r"^source: 'slice' is one image slice without the pixel labels task 2 trains and scores "
     r"on; expected phantom, bossdb or cache$"),
])
def test_encoder_options_and_the_source_are_checked_with_the_config(values: dict,
                                                                    message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TASK2.make_config("quick", values)


def test_a_missing_encoder_file_on_another_model_names_the_option_first(tmp_path: Path) -> None:
    outcome = invoke(["task2", "--model", "unet", "--quick", "--encoder", "missing.pt", "--out",
                      "run"], tmp_path)
    assert outcome.code == 2 and "encoder: applies to model 'ssl-unet'" in outcome.err
    assert "file not found" not in outcome.err


def test_the_3d_card_steps_over_blocks_of_slices() -> None:
    config = TASK2.make_config("quick", {"model": "unet3d"})
    lines = task2_card(config, "bossdb")["deviations"]
    assert ("every n-th training block of 8 slices, n = 2 (reference 1, task2_*.json:18, all "
            "slices)") in lines
    assert not any("training slice" in line for line in lines)
    flat = task2_card(TASK2.make_config("quick", {"model": "unet"}), "bossdb")["deviations"]
    assert any(line.startswith("every n-th training slice, n = 4") for line in flat)
