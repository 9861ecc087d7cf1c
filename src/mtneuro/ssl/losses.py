"""BYOL's normalised mean squared error (Grill et al. 2020, eq. 2).

``||p/|p| - z/|z|||^2 = 2 - 2 cos(p, z)``: 0 for parallel, 2 for orthogonal and 4 for
opposite vectors, averaged over the batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def normalized_mse(p: torch.Tensor, z: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Mean over the batch of ``2 - 2 cos(p_i, z_i)``.

    Args:
        p: online predictions ``(B, D)``.
        z: target projections ``(B, D)``; the caller supplies them without gradient
            (they come from the target network).
        eps: guards the norm of all-zero rows.

    Returns:
        Scalar tensor in [0, 4] up to rounding: ``normalized_mse(x, x)`` can be a few ulps
        below 0 (-4.8e-08 in float32). It is not clamped, which would zero the gradient at
        the bounds.
    """
    if p.shape != z.shape or p.dim() != 2:
        raise ValueError(
            f"normalized_mse expects two (B, D) tensors of equal shape, "
            f"got {tuple(p.shape)} and {tuple(z.shape)}"
        )
    # at least float32 even under bf16/fp16 autocast: 2 - 2 cos loses digits near cos = 1
    # (float64 inputs stay float64).
    dtype = torch.promote_types(p.dtype, torch.float32)
    p, z = p.to(dtype), z.to(dtype)
    cos = (F.normalize(p, dim=1, eps=eps) * F.normalize(z, dim=1, eps=eps)).sum(dim=1)
    return (2 - 2 * cos).mean()
