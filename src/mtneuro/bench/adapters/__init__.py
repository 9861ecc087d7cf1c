"""Bench adapters: one module per task, turning a suite cell into the task's config and back.

See :mod:`mtneuro.bench.tasks` for the functions each adapter defines.
"""

from __future__ import annotations

from typing import Any

from mtneuro.bench.suite import Cell
from mtneuro.registry import check_choice

#: Presets of the volume tasks 1 and 3: ``paper`` (the published protocol at full size) or
#: ``quick`` (small, minutes on a CPU); no preset is ``paper``.
VOLUME_PRESETS = ("paper", "quick")


def volume_task_fields(cell: Cell) -> dict[str, Any]:
    """Config fields shared by the volume tasks 1 and 3: the cell's own ``params`` first,
    then setting, method, source (cell source parameters merged under the param ones),
    its one seed, encoder and preset."""
    if cell.preset is not None:
        check_choice(f"cell {cell.id}: preset", cell.preset, list(VOLUME_PRESETS))
    params = dict(cell.params)
    return {
        **params,
        "setting": cell.setting,
        "method": cell.method,
        "source": cell.source,
        "source_params": {**cell.source_params, **params.get("source_params", {})},
        "seeds": (cell.seed,),
        "encoder": cell.encoder or params.get("encoder"),
        "quick": cell.preset == "quick",
        "quiet": True,
    }


def ssl_pretrain_config(config: Any) -> Any | None:
    """The :class:`~mtneuro.ssl.pretrain.PretrainConfig` a task-1 / task-3 ``config`` would
    pre-train with on the fly, or ``None`` when it pre-trains nothing.

    As :func:`mtneuro.tasks.region_encoders.frozen_encoder` decides: SSL methods without
    an ``encoder``, 2D, one seed per cell.
    """
    from mtneuro.tasks.region_encoders import SSL_METHODS, on_the_fly_config

    if (config.method not in SSL_METHODS or config.encoder is not None
            or getattr(config, "dim", "2d") != "2d" or len(config.seeds) != 1):
        return None  # the task itself uses its encoder or reports why it cannot
    return on_the_fly_config(config, int(config.seeds[0]))


def pretrain_distributed(config: Any, launch: Any) -> Any:
    """Adapter hook of :mod:`mtneuro.bench.ddp` for tasks 1 and 3: pre-train with
    ``launch`` and evaluate the written encoder (``config.encoder``)."""
    import dataclasses

    pretrain = ssl_pretrain_config(config)
    if pretrain is None:
        return config
    return dataclasses.replace(config, encoder=str(launch(pretrain)))
