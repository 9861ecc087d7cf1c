"""A toy task: the whole of a new task, as docs/ARCHITECTURE.md shows it.

Images ``(N, 1, 8, 8)`` are dark (class 0) or bright (class 1) with noise; a method
gives features (``pixels``: the flattened images; ``encoder``: a user encoder's), and
the nearest class mean of the first half classifies the second half.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from mtneuro.stats import mean_std
from mtneuro.tasks.api import Task
from mtneuro.tasks.protocol import card


@dataclass(frozen=True)
class ToyConfig:
    setting: str = "easy"
    method: str = "pixels"
    seeds: tuple[int, ...] = (0,)
    encoder: str | None = None
    n: int = field(default=64, metadata={"check": (lambda v: v >= 4, "int >= 4")})


def run(config: ToyConfig, *, encoder=None):
    import torch

    rows = []
    for seed in config.seeds:
        rng = np.random.default_rng(seed)
        labels = np.arange(config.n) % 2
        noise = {"easy": 0.05, "hard": 0.4}[config.setting]
        images = (0.3 + 0.4 * labels[:, None, None, None]
                  + noise * rng.standard_normal((config.n, 1, 8, 8))).astype(np.float32)
        if encoder is not None:
            with torch.no_grad():
                features = encoder(torch.from_numpy(images)).numpy()
        else:
            features = images.reshape(config.n, -1)
        half = config.n // 2
        means = np.stack([features[:half][labels[:half] == c].mean(0) for c in (0, 1)])
        distance = ((features[half:, None] - means[None]) ** 2).sum(-1)
        rows.append({"seed": seed, "accuracy": float((distance.argmin(1) == labels[half:]).mean())})
    metrics = {"accuracy": mean_std([r["accuracy"] for r in rows]), "per_seed": rows}
    return TOY.result(config, setting=config.setting, method=config.method, metrics=metrics,
                      source={"source": "toy", "label": "synthetic toy images"})


def toy_card(config: ToyConfig, source=None) -> dict:
    return card("toy", 1, [])  # no published protocol to depart from


def headline(metrics: dict) -> dict:
    return {"accuracy": metrics["accuracy"]["mean"]}


TOY = Task(
    name="toy",
    title="Toy: dark or bright images (accuracy)",
    config=ToyConfig,
    run=run,
    card=toy_card,
    headline=headline,
    settings=("easy", "hard"),
    methods=("pixels", "encoder"),
    presets={"quick": {"n": 32}},
    encoder="image",
    encoder_method="encoder",
    volume=False,
)


class MeanBrightness(torch.nn.Module):
    """A user encoder of the toy images: (N, 1, H, W) -> their mean brightness (N, 1)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(1, 2, 3)).unsqueeze(1)
