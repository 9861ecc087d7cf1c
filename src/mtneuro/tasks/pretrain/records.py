"""What a pre-training run writes beside the trainer's files, for ``mtneuro pretrain`` and
``mtneuro.pretrain(out=...)`` alike: ``encoder.pt`` with what it was trained on
(:func:`save_pretrained`), and the numbers ``metrics.json`` keeps of the run
(:func:`run_metrics`; the file itself is the report layer's ``write_metrics``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mtneuro.tasks.pretrain.config import PretrainConfig
from mtneuro.vocab import VISION_SOURCES

#: The encoder file of a run folder.
ENCODER_NAME = "encoder.pt"
#: The trainer's summary values ``metrics.json`` keeps (``samples_per_s`` and ``wall_s``
#: time the ``steps_run`` this invocation trained: after a resume, fewer than ``steps``).
METRIC_KEYS = ("final_loss", "steps", "steps_run", "epochs", "samples_per_s", "pool_size",
               "n_images", "world_size", "step_mode", "compile_mode", "wall_s", "backbone",
               "view")


def save_pretrained(config: PretrainConfig, trained: Any, path: str | Path,
                    n_images: int) -> Path:
    """Write ``trained`` (a :class:`~mtneuro.tasks.pretrain.run.PretrainedEncoder`) to
    ``path`` in the ``mtneuro.models.checkpoint`` format, its meta saying what it trained on
    (for the cards of the runs that load it)."""
    from mtneuro.models.checkpoint import save_encoder

    summary = trained.summary
    meta = {"method": config.method, "epochs": summary["epochs"], "steps": summary["steps"],
            "seed": config.seed, "source": config.source, "final_loss": summary["final_loss"],
            "source_params": dict(config.source_params),
            **({} if config.source in VISION_SOURCES
               else {"setting": config.setting, "z_step": config.z_step}),
            "training_images": int(n_images)}
    save_encoder(path, trained.encoder, name=trained.name, kwargs=trained.kwargs,
                 input_spec=trained.input_spec, meta=meta)
    return Path(path)


def run_metrics(summary: dict[str, Any]) -> dict[str, Any]:
    """The ``metrics`` of a run's ``metrics.json`` from its summary (:data:`METRIC_KEYS`,
    and ``peak_lr``: the schedule's top; ``train_log.jsonl`` has every step's)."""
    return {**{key: summary[key] for key in METRIC_KEYS}, "peak_lr": summary["lr"]}


__all__ = ["ENCODER_NAME", "METRIC_KEYS", "run_metrics", "save_pretrained"]
