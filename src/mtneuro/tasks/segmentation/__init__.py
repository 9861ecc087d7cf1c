"""MTNeuro task 2: per-pixel segmentation of vessels, cell bodies and myelinated axons.

Public API:

- :class:`Task2Config`, :func:`task2_config` (presets ``quick``, ``paper``; no torch) and
  :func:`run_task2(config) -> dict` (per-seed scores and mean +- std over seeds); the task
  in the contract: :data:`mtneuro.tasks.segmentation.task.TASK2`;
- :class:`ConfusionAccumulator`, :func:`confusion_matrix`, :func:`per_image_iou`,
  :func:`segmentation_scores`: F1 (Dice) and balanced accuracy from counts pooled over
  the test set, IoU per image as published (the pooled IoU as ``iou_pooled``);
- :func:`train_segmentation`, :class:`TrainSettings`, :class:`CropBatches`;
- :func:`sliding_window_logits`, :func:`predict_tiles`, :func:`evaluate_tiles`.

Names load their submodule on first use; all need only the core install (``inference``
blends its windows without MONAI), and only smp's and MONAI's networks need the ``seg`` extra.
"""

from mtneuro.registry import lazy_exports

#: public name -> submodule defining it.
_EXPORTS = {
    "CropBatches": "batches",
    "evaluate_tiles": "inference",
    "predict_tiles": "inference",
    "sliding_window_logits": "inference",
    "ConfusionAccumulator": "metrics",
    "confusion_matrix": "metrics",
    "per_image_iou": "metrics",
    "segmentation_scores": "metrics",
    "PRESETS": "config",
    "Task2Config": "config",
    "run_task2": "run",
    "task2_config": "config",
    "TrainSettings": "config",
    "train_segmentation": "train",
}
__getattr__ = lazy_exports(__name__, _EXPORTS)

__all__ = sorted(_EXPORTS)
