"""Bring your own encoder: a callable that returns an ``nn.Module`` mapping (B, 1, H, W) -> (B, D).

Benchmark it on every task that probes frozen image encoders (task 1 and task 3), next to
the built-in methods and the published numbers::

    PYTHONPATH=examples/byo_encoder mtneuro bench --suite quick --encoder my_encoder:build --out runs/mine

or on one task::

    PYTHONPATH=examples/byo_encoder mtneuro task1 --setting roi-c1 --method encoder --encoder my_encoder:build \
        --quick --out runs/t1

mtneuro calls ``build()`` with no arguments, puts the module in eval mode, feeds it
float32 images in [0, 1] (normalised with ``input_spec["mean"]``/``["std"]`` when given) at
the size the task's protocol sets (``input_spec["size"]`` is recorded, not used to resize),
and reads ``out_dim`` (or infers D from one forward pass). See
docs/bring_your_own_encoder.md.
"""

from __future__ import annotations

import torch
from torch import nn


class SmallConvEncoder(nn.Module):
    """Three stride-2 conv blocks and global average pooling: (B, 1, H, W) -> (B, width * 4).

    Args:
        width: channels of the first block (doubled twice).
    """

    def __init__(self, width: int = 16) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 1
        for out in (width, width * 2, width * 4):
            layers += [nn.Conv2d(channels, out, 3, stride=2, padding=1), nn.BatchNorm2d(out), nn.ReLU()]
            channels = out
        self.features = nn.Sequential(*layers)
        self.out_dim = channels  # feature size D, read by mtneuro
        # What the encoder expects; missing keys take mtneuro's defaults.
        self.input_spec = {"spatial_dims": 2, "in_channels": 1, "size": 64}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) float in [0, 1] -> (B, D) features."""
        return self.features(x).mean(dim=(2, 3))


def build() -> nn.Module:
    """The callable named on the command line (``my_encoder:build``).

    Load your trained weights here, e.g.
    ``model.load_state_dict(torch.load(path, weights_only=True))``.
    """
    torch.manual_seed(0)  # the same random weights each time (a baseline without training)
    return SmallConvEncoder(width=16)
