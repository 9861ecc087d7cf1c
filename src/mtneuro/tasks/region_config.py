"""Task 1's config (:class:`Task1Config`): plain data, so a command checks it (and the
bench every cell's) without importing what runs the task (torchvision, scikit-learn)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from mtneuro.config import CheckedConfig, check, positive
from mtneuro.tasks.mixup import MIXUP_ALPHA
from mtneuro.tasks.pretrain.config import PretrainConfig
from mtneuro.tasks.probe import DEFAULT_CS
from mtneuro.tasks.volume import EVEN_SIDE, FULL, QUICK, SOME_SEEDS, Method


@dataclass(frozen=True)
class Task1Config(CheckedConfig):
    """Task-1 run configuration (``None`` fields take the protocol's or preset's value).

    Attributes:
        setting: ``roi-c1`` / ``roi-c2`` / ``roi-c3``.
        method: one of :data:`mtneuro.vocab.VOLUME_METHODS`.
        source: volume source name; source_params: its keyword arguments.
        dim: ``2d`` tiles or ``3d`` 8-slice blocks.
        seeds: one full run per seed; mean +- std reported over them.
        encoder: encoder spec for ``encoder`` (required) and SSL methods (optional; else
            each seed pre-trains one on the training tiles, see ``pretrain``).
        quick: small preset (``z_step`` 8, ``resnet-tiny``, 8 epochs, quick pre-training).
        protocol: ``paper`` (the released MTNeuro scripts) or ``resized``; ``None``:
            ``resized`` for quick runs, else ``paper`` (see
            :mod:`mtneuro.tasks.region_protocol`).
        input_size: side tiles are resized to (``resized``: 64; ``paper`` PCA / NMF: 128).
        test_crops: ``resized`` protocol: ``quadrants`` (default) or ``none``.
        crop: ``paper`` probe: side of the random training crops and test corner crops.
        probe_inputs: ``paper`` probe head inputs: ``as-released`` (default: what the
            released trainer executes, so that numbers stand beside the published rows:
            whole un-normalised tiles, encoder BatchNorm in training mode) or
            ``random-crops`` (normalised random crops, encoder in eval mode, as
            ``task1_ssl.py`` sets up but never uses; see :mod:`mtneuro.tasks.region_head`).
        z_step: keep every ``z_step``-th tile / block of each split.
        backbone: encoder trained by the supervised methods.
        epochs: supervised epochs (paper 1, resized 30, quick 8).
        head_epochs: ``paper`` probe head epochs (BYOL 100, MYOW 10).
        batch_size, lr, momentum, weight_decay: supervised SGD (paper: 8, 0.01, 0, 0;
            resized: 32, 0.05, 0.9, 5e-4, so that short CPU runs converge); in the paper
            protocol batch_size and lr also set the probe head's.
        mixup_alpha: Beta parameter of ``supervised-mixup``.
        n_components: PCA / NMF components (capped by samples and pixels).
        nmf_max_iter: NMF iterations (quick 100, full 200: scikit-learn's default, which
            the reference's NMF(...) keeps, annots/latents.py:63).
        probe_cs: candidate C of the logistic-regression probe.
        pretrain: the on-the-fly SSL pre-training (SSL methods without ``encoder``, 2D),
            resolved when the config is built (``TASK1.make_config``): the ``quick`` or
            ``default`` pre-training preset, this config's method, data and device, then
            the given values (e.g. ``{"epochs": 3}``); its ``seed`` is replaced by each
            task seed, and it trains on the task's training tiles at its ``z_step`` (a
            multiple of the task's); ``None`` for every other config.
        device: torch device; quiet: no progress bars.
    """

    setting: Literal["roi-c1", "roi-c2", "roi-c3"] = "roi-c1"
    method: Method = "supervised"
    source: str = "phantom"
    source_params: dict[str, Any] = field(default_factory=dict)
    dim: Literal["2d", "3d"] = "2d"
    seeds: tuple[int, ...] = field(default=(0, 1, 2), metadata=SOME_SEEDS)
    encoder: str | None = None
    quick: bool = False
    protocol: Literal["paper", "resized"] | None = None
    input_size: int | None = field(default=None, metadata=EVEN_SIDE)
    test_crops: Literal["quadrants", "none"] | None = None
    crop: int = field(default=128, metadata=positive())
    probe_inputs: Literal["random-crops", "as-released"] = "as-released"
    z_step: int | None = field(default=None, metadata=positive())
    backbone: str | None = None
    epochs: int | None = field(default=None, metadata=positive())
    head_epochs: int | None = field(default=None, metadata=positive())
    batch_size: int | None = field(default=None, metadata=check(lambda v: v >= 2, "int >= 2"))
    lr: float | None = field(default=None, metadata=positive("float"))
    momentum: float | None = field(default=None, metadata=check(lambda v: 0 <= v < 1,
                                                                "float in [0, 1)"))
    weight_decay: float | None = field(default=None, metadata=check(lambda v: v >= 0,
                                                                    "float >= 0"))
    mixup_alpha: float = field(default=MIXUP_ALPHA, metadata=positive("float"))
    n_components: int = field(default=256, metadata=positive())
    nmf_max_iter: int | None = field(default=None, metadata=positive())
    probe_cs: tuple[float, ...] = field(default=DEFAULT_CS, metadata=check(
        lambda v: len(v) > 0 and all(c > 0 for c in v), "a non-empty list of floats > 0"))
    pretrain: PretrainConfig | None = None
    device: str = "cpu"
    quiet: bool = True

    def preset(self, key: str) -> Any:
        """Value of ``key`` with ``None`` resolved from the quick or full preset."""
        value = getattr(self, key)
        return value if value is not None else (QUICK if self.quick else FULL)[key]
