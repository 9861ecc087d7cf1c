"""Task 3's config (:class:`Task3Config`): plain data, so a command checks it (and the
bench every cell's) without importing what runs the task."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from mtneuro.config import CheckedConfig, check, positive
from mtneuro.tasks.pretrain.config import PretrainConfig
from mtneuro.tasks.probe import DEFAULT_ALPHAS
from mtneuro.tasks.volume import EVEN_SIDE, FULL, QUICK, SOME_SEEDS, Method

# PCA / NMF components: the reference's 256 on the full data (4,304 training crops). The
# quick preset reads every 8th slice, so it keeps 1/8 of the components: 256 NMF factors
# of 544 crops are near-duplicates (cond(H H^T) ~ 1e12), the codes of unseen crops then
# depend on the solver's path, and held-out R^2 fell to ~0 (axons -0.16 where the full
# preset gives 0.92 and 32 components give 0.90). Task 1 keeps 256: its 4-class readout
# of the same quick crops showed no such failure (NMF accuracy 0.62 with 256, 0.60 with 32).
QUICK_TASK3 = {**QUICK, "n_components": 32}
FULL_TASK3 = {**FULL, "n_components": 256}


@dataclass(frozen=True)
class Task3Config(CheckedConfig):
    """Task-3 run configuration (``None`` fields take the quick or full preset value).

    Attributes:
        method: as task 1. setting: task-1 setting the encoders are trained on.
        source, source_params: volume source (needs ``image`` and ``pixel_labels``).
        seeds: one run each (encoder training, decomposition, probe).
        encoder: encoder spec (``encoder`` method, or an SSL checkpoint).
        pretrain: on-the-fly SSL pre-training, as ``Task1Config.pretrain``; it trains on the
            training tiles of task-1 ``setting``, read at its ``z_step``.
        quick: small preset (every 8th slice, resnet-tiny, 8 epochs, 32 PCA / NMF
            components).
        z_step: keep every ``z_step``-th slice.
        connectivity: cell components ``3d`` (reference; needs consecutive slices) or
            ``2d``; None: ``3d`` when ``z_step`` is 1, else ``2d``.
        reference_features: the published feature definitions (``features.py``: the 0
            self-distance averaged into the nearest-neighbour distance, size 0 for crops
            with < 2 cells), reported as ``cell_size`` / ``nn_distance``; ``False``: the
            corrected definitions, reported as ``cell_size_exact`` / ``nn_distance_exact``.
        few_cells_distance: ``nn_distance`` of crops with < 2 cells (reference 64).
        alphas, cv: ridge penalties and CV folds.
        n_components: PCA / NMF components (None: 256, quick 32). input_size /
            pixel_input_size: tile resize for encoders (64) and for PCA / NMF (128).
    """

    method: Method = "byol"
    setting: Literal["roi-c1", "roi-c3"] = "roi-c1"
    source: str = "phantom"
    source_params: dict[str, Any] = field(default_factory=dict)
    seeds: tuple[int, ...] = field(default=(0, 1, 2), metadata=SOME_SEEDS)
    encoder: str | None = None
    quick: bool = False
    z_step: int | None = field(default=None, metadata=positive())
    connectivity: Literal["2d", "3d"] | None = None
    reference_features: bool = True
    few_cells_distance: float = field(default=64.0,
                                      metadata=check(lambda v: v >= 0, "float >= 0 (pixels)"))
    alphas: tuple[float, ...] = field(default=DEFAULT_ALPHAS, metadata=check(
        lambda v: len(v) > 0 and all(a > 0 for a in v), "a non-empty list of penalties, each > 0"))
    cv: int = field(default=5, metadata=check(lambda v: v >= 2, "int >= 2"))
    n_components: int | None = field(default=None, metadata=positive())
    input_size: int = field(default=64, metadata=EVEN_SIDE)
    pixel_input_size: int = field(default=128, metadata=EVEN_SIDE)
    pretrain: PretrainConfig | None = None
    device: str = "cpu"
    quiet: bool = True

    def preset(self, key: str) -> Any:
        value = getattr(self, key) if hasattr(self, key) else None
        return value if value is not None else (QUICK_TASK3 if self.quick else FULL_TASK3)[key]

