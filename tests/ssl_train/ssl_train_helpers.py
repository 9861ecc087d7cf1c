"""Small pieces shared by the trainer tests and the DDP worker script.

Real 8x8 digits, a tiny BYOL and a cheap random view. A plain module (not a
conftest) so that ``ddp_worker.py``, run by ``torchrun`` in a subprocess, can
import it too.
"""

from __future__ import annotations

import torch
from torch import nn

from mtneuro.data.vision import load_vision
from mtneuro.models.registry import create_encoder
from mtneuro.ssl.byol import BYOL
from mtneuro.ssl.myow import MYOW


def flip_noise_view(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A cheap random view: per-sample horizontal flip plus Gaussian noise."""
    flip = torch.rand(batch.shape[0], 1, 1, 1, generator=generator, device=batch.device) < 0.5
    noise = torch.randn(batch.shape, generator=generator, device=batch.device)
    return torch.where(flip, batch.flip(-1), batch) + 0.1 * noise


def tiny_byol(seed: int = 0, batch_norm: bool = True) -> BYOL:
    """BYOL on a 2-stage ResNet (widths 4, 8) with 16-wide heads; weights from ``seed``."""
    torch.manual_seed(seed)
    encoder = create_encoder("resnet-tiny", in_channels=1, widths=(4, 8))
    return BYOL(encoder, projector_hidden=16, projector_out=8, predictor_hidden=16,
                batch_norm=batch_norm)


def tiny_myow(
    seed: int = 0, layout: str = "cascaded", k: int = 1, widths: tuple[int, ...] = (4, 8)
) -> MYOW:
    """MYOW (target-space mining) on the same tiny ResNet, 16-wide heads. The default
    widths keep it NCHW on CPU; (16, 32) trains it channels-last there."""
    torch.manual_seed(seed)
    encoder = create_encoder("resnet-tiny", in_channels=1, widths=widths)
    return MYOW(encoder, projector_hidden=16, projector_out=8, predictor_hidden=16,
                mined_projector_hidden=16, mined_out=8, layout=layout, k=k)


def digits_subset(n: int = 96) -> torch.Tensor:
    """The first ``n`` training digits, uint8 (n, 1, 8, 8)."""
    return load_vision("digits", "train").images[:n]


class RecordingMethod(nn.Module):
    """Records the views a MYOW-like method is given (``view_a``, ``pool``, ``view_m``);
    its loss is on its one weight, so a trainer runs it in milliseconds."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))
        self.given: list[dict] = []

    def forward(self, view_a, view_b, pool=None, exclude=None, mined_weight=0.0,
                generator=None, uniform=None, fuse_target_views=False, view_m=None):
        self.given.append({"view_a": view_a, "pool": pool, "view_m": view_m})
        return {"loss": (self.w - view_a.mean()) ** 2, "byol_loss": torch.zeros(())}

    def update_target(self, momentum: float) -> None:
        pass

    def ema_pairs(self) -> list:
        return []
