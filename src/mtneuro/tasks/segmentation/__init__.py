"""MTNeuro task 2: per-pixel segmentation of vessels, cell bodies and myelinated axons.

Public API:

- :class:`Task2Config`, :func:`task2_config` (presets ``quick``, ``paper``) and
  :func:`run_task2(config) -> dict` (per-seed scores and mean +- std over seeds);
- :class:`ConfusionAccumulator`, :func:`confusion_matrix`, :func:`per_image_iou`,
  :func:`segmentation_scores`: F1 (Dice) and balanced accuracy from counts pooled over
  the test set, IoU per image as published (the pooled IoU as ``iou_pooled``);
- :func:`train_segmentation`, :class:`TrainSettings`, :class:`CropBatches`;
- :func:`sliding_window_logits`, :func:`predict_tiles`, :func:`evaluate_tiles`.
"""

from mtneuro.tasks.segmentation.batches import CropBatches
from mtneuro.tasks.segmentation.inference import (
    evaluate_tiles,
    predict_tiles,
    sliding_window_logits,
)
from mtneuro.tasks.segmentation.metrics import (
    ConfusionAccumulator,
    confusion_matrix,
    per_image_iou,
    segmentation_scores,
)
from mtneuro.tasks.segmentation.run import PRESETS, Task2Config, run_task2, task2_config
from mtneuro.tasks.segmentation.train import TrainSettings, train_segmentation

__all__ = [
    "PRESETS",
    "ConfusionAccumulator",
    "CropBatches",
    "Task2Config",
    "TrainSettings",
    "confusion_matrix",
    "evaluate_tiles",
    "per_image_iou",
    "predict_tiles",
    "run_task2",
    "segmentation_scores",
    "sliding_window_logits",
    "task2_config",
    "train_segmentation",
]
