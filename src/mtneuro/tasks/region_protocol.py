"""Task-1 protocols: what each method trains and tests on, resolved once from a config.

``paper`` follows the released MTNeuro task-1 scripts (file and line of every
choice in ``docs/protocols.md``):

* ``supervised`` / ``supervised-mixup`` (``scripts/task1_sup.py`` with
  ``networkconfig/SUP_ResNet-18_2D.json``): the ResNet-18 classifier is trained and
  tested on whole 256 x 256 tiles in [0, 1] (``ToTensor``, no normalisation, no
  resize, no crop), plain SGD at lr 0.01 (no momentum, no weight decay), batch 8, no
  scheduler, no augmentation, 1 epoch (the released config's value), and the model
  after the last epoch is tested;
* ``byol`` / ``myow`` / ``myow-merged`` / ``encoder`` (``scripts/task1_ssl.py``): the
  frozen encoder gets a linear head trained, as the released trainer runs it
  (``MTNeuro/ssl_eval_trainer.py``), on whole un-normalised training tiles with the
  encoder's BatchNorm in training mode (``probe_inputs: random-crops`` trains on the
  normalised random 128 x 128 crops the script sets up and the trainer discards), with
  the network config's optimiser (BYOL: Adam lr 0.01, 100 epochs; MYOW and MYOW-merged:
  SGD lr 0.01, 10 epochs; batch 8, last batch dropped), and is tested on the four
  128 x 128 corner crops of every test tile, accuracy over all crops;
* ``pca`` / ``nmf``: no task-1 script was released; the inputs of the task-3
  reference (``annots/latents.py``: tiles resized to 128, 64 x 64 quadrant crops,
  256 components) with a logistic-regression readout.

``resized`` is the protocol this package used before it read the released scripts
closely (kept for quick CPU runs): tiles resized to ``input_size`` (64), models
trained on whole resized tiles and tested on their quadrant crops, supervised
training with momentum, cosine decay, flips and the best validation epoch, and a
logistic-regression probe. It is the default of the ``quick`` preset.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from mtneuro.errors import ConfigError
from mtneuro.tasks.supervised import QUICK_EPOCHS, RESIZED
from mtneuro.vocab import PIXEL_METHODS, SUPERVISED_METHODS

#: Linear-head optimisation of ``task1_ssl.py`` per method, from its network configs:
#: (optimiser, lr, epochs, batch).
PAPER_HEADS = {
    "byol": ("adam", 0.01, 100, 8),         # SSL_BYOL_ResNet-18_2D.json:35-40
    "myow": ("sgd", 0.01, 10, 8),           # SSL_MYOW_ResNet-18_2D.json:42-47
    "myow-merged": ("sgd", 0.01, 10, 8),    # SSL_MYOWMerged_ResNet-18_2D.json:42-47
    "encoder": ("sgd", 0.01, 10, 8),        # a user encoder: no published row; MYOW's
}
#: ``task1_sup.py`` with ``SUP_ResNet-18_2D.json``: epochs, batch, lr (SGD, no momentum).
PAPER_SUPERVISED = {"epochs": 1, "batch_size": 8, "lr": 0.01, "momentum": 0.0,
                    "weight_decay": 0.0}
PAPER_CROP, PAPER_PIXEL_SIZE = 128, 128


@dataclass(frozen=True)
class RegionRecipe:
    """Everything one task-1 run does, resolved from its config.

    Attributes:
        protocol: ``paper`` or ``resized``.
        train_input: ``whole`` tiles, ``resized`` tiles, ``random-crops`` of whole tiles
            (paper probe head) or ``quadrants`` of resized tiles (pixel baselines).
        test_input: ``whole``, ``quadrants`` (of resized tiles), ``resized`` (whole
            resized tiles) or ``corners`` (four corner crops of whole tiles).
        input_size: side tiles are resized to (``None``: not resized).
        crop: side of the random training crops and test corner crops (paper probe).
        normalise: inputs normalised with the X-ray mean / std before the network.
        epochs, batch_size, lr, momentum, weight_decay: supervised SGD or head training.
        schedule: ``constant`` or ``cosine`` learning rate.
        augment: random flips of supervised training batches.
        select_best: keep the best validation epoch (else the last).
        recalibrate_bn: recompute BatchNorm statistics on the training inputs each epoch.
        head: ``logistic`` (L-BFGS, C chosen on validation) or ``sgd`` / ``adam``
            (a linear layer trained for ``epochs``).
        head_inputs: ``random-crops`` or ``as-released`` (see :class:`Task1Config`).
    """

    protocol: str
    train_input: str
    test_input: str
    input_size: int | None = None
    crop: int | None = None
    normalise: bool = True
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    momentum: float | None = None
    weight_decay: float | None = None
    schedule: str | None = None
    augment: bool = False
    select_best: bool = False
    recalibrate_bn: bool = False
    head: str | None = None
    head_inputs: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _pick(value: Any, default: Any) -> Any:
    return default if value is None else value


def resolve_recipe(config: Any) -> RegionRecipe:
    """The :class:`RegionRecipe` of a :class:`~mtneuro.tasks.region_config.Task1Config`
    under ``config.protocol`` (by default ``resized`` for quick runs, else ``paper``).

    Raises:
        ConfigError: an option that the config's protocol does not use.
    """
    protocol = config.protocol or ("resized" if config.quick else "paper")
    return _paper(config) if protocol == "paper" else _resized(config)


def _supervised_epochs(config: Any, full: int) -> int:
    return _pick(config.epochs, QUICK_EPOCHS if config.quick else full)


def _paper(config: Any) -> RegionRecipe:
    method = config.method
    if config.test_crops is not None:
        raise ConfigError("test_crops: applies to protocol 'resized'; the paper protocol tests "
                          "supervised models on whole tiles and probes on the corner crops")
    if method in SUPERVISED_METHODS:
        ref = PAPER_SUPERVISED
        return RegionRecipe(
            "paper", "whole", "whole", normalise=False,
            epochs=_supervised_epochs(config, ref["epochs"]),
            batch_size=_pick(config.batch_size, ref["batch_size"]), lr=_pick(config.lr, ref["lr"]),
            momentum=_pick(config.momentum, ref["momentum"]),
            weight_decay=_pick(config.weight_decay, ref["weight_decay"]), schedule="constant")
    if method in PIXEL_METHODS:
        return RegionRecipe("paper", "quadrants", "quadrants",
                            input_size=_pick(config.input_size, PAPER_PIXEL_SIZE), head="logistic")
    optimizer, lr, epochs, batch = PAPER_HEADS[method]
    as_released = config.probe_inputs == "as-released"
    return RegionRecipe(
        "paper", "whole" if as_released else "random-crops", "corners", crop=config.crop,
        normalise=not as_released, epochs=_pick(config.head_epochs, epochs),
        batch_size=_pick(config.batch_size, batch), lr=_pick(config.lr, lr), momentum=0.0,
        weight_decay=0.0, schedule="constant", head=optimizer, head_inputs=config.probe_inputs)


def _resized(config: Any) -> RegionRecipe:
    size = _pick(config.input_size, RESIZED["input_size"])
    crops = _pick(config.test_crops, "quadrants") == "quadrants"
    test_input = "quadrants" if crops else "resized"
    if config.method in SUPERVISED_METHODS:
        return RegionRecipe(
            "resized", "resized", test_input, input_size=size,
            epochs=_supervised_epochs(config, RESIZED["epochs"]),
            batch_size=_pick(config.batch_size, RESIZED["batch_size"]),
            lr=_pick(config.lr, RESIZED["lr"]),
            momentum=_pick(config.momentum, RESIZED["momentum"]),
            weight_decay=_pick(config.weight_decay, RESIZED["weight_decay"]), schedule="cosine",
            augment=True, select_best=True, recalibrate_bn=True)
    train_input = "quadrants" if config.method in PIXEL_METHODS and crops else "resized"
    return RegionRecipe("resized", train_input, test_input, input_size=size, head="logistic")


# -- protocol card ---------------------------------------------------------------------------
TASK1_VERSION = 1
_SUP = "SUP_ResNet-18_2D.json"


def task1_card(config: Any, source: Any = None) -> dict[str, Any]:
    """Protocol card (:mod:`mtneuro.tasks.protocol`) of a task-1 config against the released
    scripts (``task1_sup.py``, ``task1_ssl.py``)."""
    from mtneuro.tasks.protocol import card, data_deviations, pretraining_deviations

    recipe = resolve_recipe(config)
    method = config.method
    out: list[str] = []
    if recipe.protocol == "paper":
        out += _paper_deviations(config, recipe)
    else:
        out += _resized_deviations(config, recipe)
    data = source if source is not None else config.source
    out += _size_deviations(config, data)
    out += pretraining_deviations(config)
    if method == "encoder":
        out.append("a user encoder: no published row to compare with")
    if config.dim == "3d":
        out.append("3D blocks: the released task-1 scripts are 2D (taskconfig/task1.json:21, "
                   "volume_z 1)")
    out += data_deviations(data, config.setting)
    name = f"task1-{recipe.protocol}" + ("-quick" if config.quick else "")
    return card(name, TASK1_VERSION, out)


def _paper_deviations(config: Any, recipe: RegionRecipe) -> list[str]:
    from mtneuro.tasks.protocol import differs

    method = config.method
    out: list[str] = []
    if method in SUPERVISED_METHODS:
        ref = PAPER_SUPERVISED
        out += _mixup(config)
        out += differs("epochs", recipe.epochs, ref["epochs"], f"{_SUP}:9")
        out += differs("batch", recipe.batch_size, ref["batch_size"], f"{_SUP}:10")
        out += differs("SGD lr", recipe.lr, ref["lr"], f"{_SUP}:8")
        out += differs("SGD momentum", recipe.momentum, 0.0, "scripts/task1_sup.py:87")
        out += differs("weight decay", recipe.weight_decay, 0.0, "scripts/task1_sup.py:87")
    elif method in PIXEL_METHODS:
        out.append("no task-1 PCA / NMF script was released: tiles resized to "
                   f"{recipe.input_size}, quadrant crops, logistic regression with C chosen on "
                   "validation crops (inputs as the task-3 reference, annots/latents.py:48-55)")
        out += differs("components", config.n_components, 256, "annots/latents.py:58")
        if method == "nmf":
            out.append("NMF initialised with nndsvda (the task-3 reference: random, "
                       "annots/latents.py:63)")
    else:
        optimizer, lr, epochs, batch = PAPER_HEADS[method]
        where = {"byol": "SSL_BYOL_ResNet-18_2D.json:35-40"}.get(
            method, "SSL_MYOW_ResNet-18_2D.json:42-47")
        if recipe.head_inputs == "random-crops":
            out.append("probe head trained on normalised random crops with the encoder in eval "
                       "mode, as scripts/task1_ssl.py:80,213 intend; the released trainer "
                       "(MTNeuro/ssl_eval_trainer.py:72-82) discards that transform and trains on "
                       "whole un-normalised tiles with BatchNorm in training mode "
                       "(probe_inputs: as-released reproduces it)")
        out += differs("head epochs", recipe.epochs, epochs, where)
        out += differs("head batch", recipe.batch_size, batch, where)
        out += differs("head lr", recipe.lr, lr, where)
        out += differs("crop", recipe.crop, PAPER_CROP, "scripts/task1_ssl.py:80")
    return out


def _mixup(config: Any) -> list[str]:
    if config.method != "supervised-mixup":
        return []
    return [(f"no mixup script was released: mixup (alpha {config.mixup_alpha}) added to the "
             "scripts/task1_sup.py recipe")]


def _resized_deviations(config: Any, recipe: RegionRecipe) -> list[str]:
    size = recipe.input_size
    scored = f"{size // 2}-px quadrant crops" if recipe.test_input == "quadrants" else "whole"
    if config.method in SUPERVISED_METHODS:
        bn = ("BatchNorm statistics recomputed on the training tiles each epoch, "
              if recipe.recalibrate_bn else "")
        return [*_mixup(config),
                f"tiles resized to {size} px, tested as {scored} (reference: whole 256-px tiles, "
                "scripts/task1_sup.py:22-24,143-149)",
                f"SGD lr {recipe.lr}, momentum {recipe.momentum}, weight decay "
                f"{recipe.weight_decay}, batch {recipe.batch_size}, {recipe.epochs} epochs, cosine "
                f"decay, random flips, normalised inputs, {bn}best validation epoch (reference: "
                "plain SGD lr 0.01, batch 8, 1 epoch, constant rate, no augmentation, [0, 1] "
                f"inputs, running BatchNorm statistics, last epoch; {_SUP}:5-11)"]
    if config.method in PIXEL_METHODS:
        return [f"no task-1 PCA / NMF script was released: tiles resized to {size} px, "
                f"{scored}, logistic regression with C chosen on validation crops"]
    return [f"probe: logistic regression on tiles resized to {size} px, tested as {scored} "
            "(reference: a linear head trained on whole un-normalised 256-px tiles with the "
            "encoder's BatchNorm in training mode, MTNeuro/ssl_eval_trainer.py:72-82, tested on "
            "the four 128-px corner crops, scripts/task1_ssl.py:272-293)"]


def _size_deviations(config: Any, source: Any) -> list[str]:
    from mtneuro.tasks.protocol import differs, slice_step_differs

    # 3D samples are 8-slice blocks, and the step takes every n-th block (8n slices apart)
    unit = "every n-th slice" if config.dim == "2d" else "every n-th 8-slice block"
    out = slice_step_differs(f"{unit}, n =", config.preset("z_step"),
                             "taskconfig/task1.json:18-20, all slices", source)
    if config.method in SUPERVISED_METHODS:
        out += differs("backbone", config.preset("backbone"), "resnet18", f"{_SUP}:12")
    return out
