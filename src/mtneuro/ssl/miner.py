"""k-nearest-neighbour view mining for MYOW (Azabou et al. 2021).

For each query, the candidates are ranked by cosine similarity, the ``k`` most
similar admissible ones kept, and one of them drawn uniformly at random. Everything
is one matrix product, one ``topk`` and one gather: no Python loop over samples.
"""

from __future__ import annotations

import numbers

import torch
import torch.nn.functional as F

from mtneuro.acceleration import in_sync_free
from mtneuro.errors import ConfigError


def _check(ok: torch.Tensor, message: str, n_valid: torch.Tensor | None = None) -> None:
    """Raise ``ValueError`` on CPU; on an accelerator, in a static (capturable) step or
    under ``torch.compile``, assert asynchronously.

    Reading a device tensor back would stall the training step on every call (and cannot
    be captured in a CUDA graph), so there a violation surfaces as a device-side
    assertion at a later synchronisation (on CPU: a RuntimeError at once).
    """
    if ok.device.type != "cpu" or in_sync_free():
        torch._assert_async(ok, message)
    elif not bool(ok):
        if n_valid is not None:
            rows = torch.nonzero(n_valid == 0).flatten()[:5].tolist()
            message = f"knn_mine: queries {rows} have no admissible candidate among the pool"
        raise ValueError(message)


@torch.no_grad()
def knn_mine(
    query: torch.Tensor,
    pool: torch.Tensor,
    k: int,
    exclude: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    self_index: torch.Tensor | bool | None = None,
    uniform: torch.Tensor | None = None,
) -> torch.Tensor:
    """Pick, for each query, one of its ``k`` cosine-nearest admissible pool entries.

    Args:
        query: ``(B, D)`` representations of the samples.
        pool: ``(P, D)`` representations of the candidates.
        k: neighbours to draw from (1 = the nearest). A row with fewer than ``k``
            admissible candidates draws among those it has.
        exclude: optional bool ``(B, P)``; True marks candidates a query must never get
            (for example the same trial's temporal window).
        generator: source of the uniform draw; on CPU or on the query's device.
        self_index: each query's own position in the pool, excluded as well: a long
            tensor ``(B,)``, or True meaning ``arange(B)`` (the pool is the batch itself).
        uniform: the draw itself, ``(B,)`` in [0, 1) (instead of ``generator``): a step
            captured in a CUDA graph or compiled draws it outside, from the same
            generator, so ``torch.rand(B, generator=g)`` here and there pick the same.

    Returns:
        Long tensor ``(B,)`` of pool indices.

    Raises:
        ValueError: a query has no admissible candidate, or shapes disagree (on an
            accelerator the candidate check is an asynchronous device assertion, so
            the mining step never waits for the device).
        ConfigError: ``k`` is no int >= 1 (a ``ValueError`` too).
    """
    if query.dim() != 2 or pool.dim() != 2 or query.shape[1] != pool.shape[1]:
        raise ValueError(
            f"knn_mine expects query (B, D) and pool (P, D), "
            f"got {tuple(query.shape)} and {tuple(pool.shape)}"
        )
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ConfigError(f"k: expected int >= 1, got {k!r}")
    b, p = query.shape[0], pool.shape[0]
    device = query.device
    sim = F.normalize(query.float(), dim=1) @ F.normalize(pool.float(), dim=1).T  # (B, P)
    banned = torch.zeros(b, p, dtype=torch.bool, device=device)
    if exclude is not None:
        if exclude.shape != (b, p) or exclude.dtype != torch.bool:
            raise ValueError(
                f"exclude: expected a bool mask of shape {(b, p)}, "
                f"got {exclude.dtype} {tuple(exclude.shape)}"
            )
        banned |= exclude.to(device)
    if self_index is not None and self_index is not False:
        own = torch.arange(b, device=device) if self_index is True else self_index.to(device).long()
        if own.shape != (b,):
            raise ValueError(f"self_index: expected shape ({b},), got {tuple(own.shape)}")
        _check(((own >= 0) & (own < p)).all(), f"self_index: expected indices in [0, {p})")
        banned[torch.arange(b, device=device), own] = True
    n_valid = (~banned).sum(dim=1)
    _check((n_valid > 0).all(), "knn_mine: a query has no admissible candidate", n_valid)
    sim = sim.masked_fill(banned, float("-inf"))
    kk = min(k, p)
    top = sim.topk(kk, dim=1).indices  # (B, kk); admissible entries come first
    n_pick = n_valid.clamp(max=kk)
    if uniform is None:
        gen_device = generator.device if generator is not None else device
        uniform = torch.rand(b, generator=generator, device=gen_device)
    elif uniform.shape != (b,):
        raise ValueError(f"uniform: expected shape ({b},), got {tuple(uniform.shape)}")
    u = uniform.to(device)
    # floor(u * n) is uniform over 0..n-1; clamp guards u rounding up to 1 in float32.
    choice = torch.minimum((u * n_pick).long(), n_pick - 1)
    return top.gather(1, choice[:, None]).squeeze(1)
