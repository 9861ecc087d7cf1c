"""Protocol card of a task-2 run against ``scripts/task2_main.py`` and its network configs.

The published task-2 rows come from ``task2_main.py`` with the ``UNet_{2D,3D}_*class``
network configs (lines in ``docs/protocols.md``). What the card checks:

* training: every field the reference fixes (:data:`REFERENCE_TRAIN`), the slices
  used, and inference on whole tiles (no sliding window);
* 3D samples: the block depth (``volume_z``), and how a z range that is not a multiple of
  it ends: our last block is aligned to the range end and scores only the slices the block
  before it has not; the reference's last block of a region reads past the range into the
  next region's slices (:func:`~mtneuro.data.tiles.covering_starts`);
* the network: the reference's ``UNet`` configs build MTNeuro's own U-Net
  (``MTNeuro/models/unet.py``), not smp's; no config was released for the other
  networks of the table; smp encoders start from ImageNet weights there
  (``encoder_weights: imagenet``), so random initialisation is a deviation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mtneuro.data.spec import Z_SPLITS
from mtneuro.data.tiles import covering_starts
from mtneuro.tasks.protocol import card, data_deviations, differs
from mtneuro.tasks.segmentation.config import block_depth
from mtneuro.vocab import MTNEURO_UNETS, PAPER_MODELS_2D, SEGMENTATION_MODEL_DIMS

#: Card version per dimension; 3D v2: z ranges covered to their end (v1 dropped the slices
#: after the last whole block: 2 of the 50 test slices of every region).
TASK2_VERSIONS = {"2d": 1, "3d": 2}
_BOSSDB = "MTNeuro/bossdbdataset.py"
_CONFIG = {"2d": "UNet_2D_*class.json", "3d": "UNet_3D_*class.json"}
_MAIN = "scripts/task2_main.py"


def reference_train(dim: str) -> dict[str, tuple[Any, str]]:
    """``train`` field -> (reference value, where) for ``dim``."""
    config = _CONFIG[dim]
    return {
        "epochs": (5, f"{config}:6"),
        "batch_size": (8 if dim == "2d" else 1, f"{config}:7"),
        "crop": (256, "task2_*.json:23 tile_size, whole tiles"),
        "steps_per_epoch": (None, f"{_MAIN}:49-51, one pass over the tiles"),
        "optimizer": ("sgd", f"{config}:2"),
        "momentum": (0.0, f"{_MAIN}:147-148"),
        "lr": (0.01, f"{config}:5"),
        "schedule": ("constant", f"{_MAIN}:159, lr_scheduler=None"),
        "weight_decay": (0.0, f"{_MAIN}:147-148"),
        "loss": ("ce", f"{_MAIN}:144"),
        "class_weights": ("none", f"{_MAIN}:144"),
        "augment": (False, f"{config}:9, {_MAIN}:30-32"),
        "drop_last": (False, f"{_MAIN}:49-51, DataLoader default"),
        "amp": ("none", f"{_MAIN}, fp32"),
    }


def _model_deviations(config: Any, dim: str) -> list[str]:
    model = config.model
    if model in MTNEURO_UNETS:  # the reference's own network (models/unet_mtneuro.py)
        return []
    if model == "unet":
        return _unet_deviations(config)
    if model == "unet3d":
        return ["3D U-Net: MONAI's; the reference's UNet_3D configs build MTNeuro's own U-Net "
                f"with dim 3 (MTNeuro/models/unet.py via {_MAIN}:69-78)"]
    if model in ("vnet", "highresnet"):
        return [f"{model}: no network config or code was released for it; ours is MONAI's"]
    if model not in PAPER_MODELS_2D:
        return [f"{model}: not a network of the published table"]
    out = [f"{model}: no network config was released for it; trained as the UNet_2D configs "
           f"(smp via {_MAIN}:80-141)"]
    out += differs("smp encoder", config.encoder_name or "resnet18", "resnet18",
                   "UNet_2D_*class.json:13")
    if str(config.encoder_weights) != "imagenet":
        weights = "local weights file" if config.encoder_weights else "random init"
        out.append(f"{weights} instead of ImageNet weights (UNet_2D_*class.json:14; pass "
                   "--encoder-weights imagenet)")
    return out


def _unet_deviations(config: Any) -> list[str]:
    """The 2D U-Net: smp's, with the encoder and weights the config names, against the
    reference's own U-Net (which has no such encoder, and random Xavier weights)."""
    encoder = config.encoder_name or "resnet18"
    out = [f"2D U-Net: smp's U-Net with a {encoder} encoder; the reference's UNet_2D configs "
           f"build MTNeuro's own U-Net (MTNeuro/models/unet.py via {_MAIN}:69-78, "
           "UNet_2D_*class.json:11,17-18: 4 blocks, 32 start filters, random init; the "
           "configs' encoder_weights key is not used by it)"]
    if config.encoder_weights:
        weights = ("ImageNet" if str(config.encoder_weights) == "imagenet"
                   else "a local file's")
        out.append(f"encoder starts from {weights} weights; the reference's U-Net starts from "
                   "random ones (Xavier, MTNeuro/models/unet.py:386-395)")
    return out


def _block_deviations(config: Any) -> list[str]:
    """3D: the block depth, and the end of each z range (module docstring)."""
    depth = block_depth(config)
    out = differs("3D block depth", depth, 8, "task2_3D_*class.json:21 volume_z")
    ends = []
    for split, step in (("train", config.train_z_step), ("test", config.test_z_step)):
        z = Z_SPLITS[split]
        starts, scored_from = covering_starts(z, depth, step)
        if scored_from.any():
            ends.append(f"{split} [{z.start}, {z.stop}): {len(starts)} blocks per region, the "
                        f"last overlapping the one before by {scored_from[-1]} slices")
    if ends:
        out.append(f"3D z ranges end with a block of {depth} slices aligned to the range end ("
                   f"{'; '.join(ends)}), its overlap scored once, in the earlier block; the "
                   f"reference's last block of a region reads past the range into the next "
                   f"region's slices, or fewer slices for the last region ({_BOSSDB}:127-210 "
                   "block starts, 243-252 one array of all regions)")
    return out


def task2_card(config: Any, source: str | Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Protocol card of a :class:`~mtneuro.tasks.segmentation.run.Task2Config`."""
    # the dims table, not the models module: that imports smp and MONAI (seconds) for a card
    dim = config.dim or SEGMENTATION_MODEL_DIMS[config.model]
    out = _model_deviations(config, dim)
    for key, (reference, where) in reference_train(dim).items():
        if key == "momentum" and config.train.optimizer != "sgd":
            continue  # AdamW has none; the optimiser line already differs
        label = "train.amp (mixed precision on CUDA)" if key == "amp" else f"train.{key}"
        ours = getattr(config.train, key)
        if key == "amp" and ours == "auto" and config.device == "cpu":
            ours = reference  # autocast is off on CPU: the run is in fp32, as the reference
        out += differs(label, ours, reference, where)
    # 3D steps over whole blocks of consecutive slices, not over slices
    unit = "slice" if dim == "2d" else f"block of {block_depth(config)} slices"
    out += differs(f"every n-th training {unit}, n =", config.train_z_step, 1,
                   "task2_*.json:18, all slices")
    out += differs(f"every n-th test {unit}, n =", config.test_z_step, 1,
                   "task2_*.json:20, all slices")
    window = config.window or config.train.crop
    if window < 256:
        out.append(f"sliding-window inference with {window}-px windows (reference: whole "
                   f"256-px tiles, {_MAIN}:184-194)")
    if dim == "3d":
        out += _block_deviations(config)
    out += data_deviations(source if source is not None else config.source)
    return card(f"task2-{config.preset or 'custom'}", TASK2_VERSIONS[dim], out)


def undefined_f1(per_seed: list[Mapping[str, Any]]) -> list[str]:
    """The deviation of a run in which a class present in the test set or the predictions
    got no correct pixel: its F1 here is 0 (``2 TP / (2 TP + FP + FN)``), where the
    reference's ``2 P R / (P + R)`` is 0 / 0 (``task2_main.py:273-277``), so its F1 and its
    average F1 would print NaN. Read from each seed's confusion matrix (rows: truth)."""
    seeds: dict[str, list[str]] = {}
    for row in per_seed:
        scores = row.get("scores") or {}
        matrix, names = scores.get("confusion_matrix"), list(scores.get("f1") or {})
        if matrix is None or len(names) != len(matrix):
            continue
        for i, name in enumerate(names):
            truth, predicted = sum(matrix[i]), sum(r[i] for r in matrix)
            if matrix[i][i] == 0 and truth + predicted > 0:
                seeds.setdefault(name, []).append(str(row.get("seed")))
    return [f"F1 of {name} is 0 in seed(s) {', '.join(ids)}: no pixel of it predicted "
            "correctly (the reference's 2 P R / (P + R) gives NaN there, and NaN for the "
            f"average F1, {_MAIN}:273-277)" for name, ids in seeds.items()]
