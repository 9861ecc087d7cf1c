"""MYOW: Mine Your Own vieW (Azabou et al. 2021, arXiv 2102.10106), and MYOW-merged.

BYOL plus across-sample prediction. For each sample a "mined view" is chosen among
candidates by k-nearest-neighbour search (cosine): the query is the sample's online
representation, the candidates are represented by the target encoder
(``mine_space="target"``, the default of the reference code) or the online encoder.
One of the k neighbours is drawn at random (:func:`mtneuro.ssl.miner.knn_mine`).

Candidates are ``pool`` (a separate batch of raw samples, the MTNeuro image setup) or,
if ``pool`` is None, the batch itself (``view_b``) with each sample excluded from its
own candidates (the MYOW neural setup). ``exclude`` adds exclusions (e.g. the same
trial's temporal window).

Layouts:

- ``"cascaded"`` (MYOW): a second projector ``g_m`` sits on the first projector's output
  and a second predictor ``q_m`` predicts across mined pairs:
  ``loss_m = L(q_m(g_m(z_a)), g'_m(g'(y'_mined)))`` with primes the EMA target copies.
- ``"merged"`` (MYOW-m, MTNeuro): the mined pair goes through the main projector /
  predictor, symmetrically: ``0.5 * (L(q(z_a), g'(y'_mined)) + L(q(z_mined), z'_a))``.

Total loss, with ``w = mined_weight`` ramped by the trainer
(:func:`mtneuro.ssl.schedules.linear_ramp`):

- ``loss_mix="normalised"``: ``(byol + w * mined) / (1 + w)``, the MTNeuro image trainers
  (``MTNeuro/self_supervised/trainer/myow_trainer.py`` lines 554, 564 and 627, and
  ``myow_trainer_merged.py`` lines 554, 564 and 624: BYOL weighted ``1 / (1 + w)``, the
  mined term ``w / (1 + w)``); the default of image pre-training.
- ``loss_mix="convex"``: ``(1 - w) * byol + w * mined``, the myow-neuro code (the neural path).
- ``loss_mix="add"``: ``byol + w * mined``, unnormalised: ``1 + w`` times the normalised
  loss, so the BYOL term keeps weight 1 as ``w`` grows and the gradients grow with it
  (with SGD, a learning rate ``1 + w`` times larger). No reference trainer uses it; kept
  for runs recorded with it.

In the merged layout the mined samples' online predictions ``q(z_mined)`` and their target
projections ``g'(y'_mined)`` come from separate forwards of the mined raw views, as in
``myow_trainer_merged.py`` (the mined batch is forwarded on its own through both networks),
also when mining within the batch: reusing the batch's or the pool's representations would
give other BatchNorm statistics than the reference, and than a multi-process run, which must
gather the raw views and forward them anyway. The cascaded layout projects the candidates'
target representations ``y'_mined`` already computed for mining, as ``myow_trainer.py`` does.

Mining runs at every call, also at ``w = 0``, so every parameter gets a gradient
(DistributedDataParallel requires it) and ``mined_index`` can be logged.

Distributed: under an initialised ``torch.distributed`` process group with more than
one process (``gather="auto"``, the default), candidate embeddings (and, for the merged
layout, the raw candidates) are all-gathered without gradient, so every process mines
in the global pool: ``exclude`` must then be ``(B, world * P)`` (``P`` = local pool or
batch size; each process passes an equal share) and in-batch self-exclusion uses
``rank * B + i``. ``gather`` may also be an explicit callable (with ``rank``) or None.
"""

from __future__ import annotations

import copy
import inspect
import math
from collections.abc import Callable
from typing import Any, Literal

import torch
import torch.distributed as dist
from torch import nn

from mtneuro.errors import ConfigError
from mtneuro.registry import Registry, check_choice
from mtneuro.ssl.byol import BYOL
from mtneuro.ssl.distributed import all_gather_nograd
from mtneuro.ssl.heads import make_head
from mtneuro.ssl.losses import normalized_mse
from mtneuro.ssl.miner import knn_mine
from mtneuro.ssl.momentum import deactivate_requires_grad

LAYOUTS = ("cascaded", "merged")
MINE_SPACES = ("target", "online")
LOSS_MIXES = ("normalised", "convex", "add")
#: MYOW's arguments that shape the cascaded layout's second projector / predictor; the
#: merged layout has neither.
CASCADED_ONLY = ("mined_projector_hidden", "mined_out", "mined_predictor_hidden",
                 "projector_m", "predictor_m")


class MYOW(BYOL):
    """MYOW (``layout="cascaded"``) and MYOW-merged (``layout="merged"``).

    Args:
        encoder: maps a view ``(B, ...)`` to ``(B, encoder.out_dim)``.
        batch_norm, **byol_kwargs: as in :class:`~mtneuro.ssl.byol.BYOL` (``projector_hidden``,
            ``projector_out``, ``predictor_hidden``, ``projector``, ``predictor``).
        layout: ``"cascaded"`` or ``"merged"``.
        mined_projector_hidden: hidden width of the second projector (0 = identity).
        mined_out: output size of the second projector.
        mined_predictor_hidden: hidden width of the second predictor (default: same as
            ``mined_projector_hidden``, or 4096 when that is 0).
        projector_m, predictor_m: ready-made second projector / predictor modules
            (give ``mined_out`` the projector's output size).
        mine_space: encoder representing the candidates, ``"target"`` or ``"online"``.
            Mining within the batch (no pool), ``"online"`` searches the online
            representations of view ``b`` (the reference code searches the query view's own,
            where the nearest candidate of a sample is mostly itself; ours is excluded).
        k: neighbours to draw the mined view from.
        loss_mix: ``"normalised"``, ``"convex"`` or ``"add"`` (see the module docstring).

    The monkey-reach setup of the reference code is
    ``MYOW(mlp, projector_hidden=0, predictor_hidden=256, mined_projector_hidden=256,
    mined_out=32, k=5, loss_mix="convex")``.
    """

    def __init__(
        self,
        encoder: nn.Module,
        *,
        batch_norm: bool = True,
        layout: str = "cascaded",
        mined_projector_hidden: int = 4096,
        mined_out: int = 256,
        mined_predictor_hidden: int | None = None,
        projector_m: nn.Module | None = None,
        predictor_m: nn.Module | None = None,
        mine_space: str = "target",
        k: int = 1,
        loss_mix: str = "normalised",
        **byol_kwargs: Any,
    ) -> None:
        super().__init__(encoder, batch_norm=batch_norm, **byol_kwargs)
        self.layout = check_choice("MYOW layout", layout, LAYOUTS)
        self.mine_space = check_choice("MYOW mine_space", mine_space, MINE_SPACES)
        self.loss_mix = check_choice("MYOW loss_mix", loss_mix, LOSS_MIXES)
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise ConfigError(f"MYOW k: expected int >= 1, got {k!r}")
        self.k = k
        self.online_projector_m: nn.Module | None = None
        self.target_projector_m: nn.Module | None = None
        self.predictor_m: nn.Module | None = None
        if layout == "cascaded":
            if projector_m is None:
                projector_m, mined_out = make_head(
                    self.projection_dim, mined_projector_hidden, mined_out, batch_norm
                )
            if predictor_m is None:
                hidden = mined_predictor_hidden or mined_projector_hidden or 4096
                predictor_m, _ = make_head(mined_out, hidden, mined_out, batch_norm)
            self.online_projector_m = projector_m
            self.predictor_m = predictor_m
            self.target_projector_m = deactivate_requires_grad(copy.deepcopy(projector_m))

    def ema_pairs(self) -> list[tuple[nn.Module, nn.Module]]:
        """BYOL's (online, target) pairs, plus the second projector's in the cascaded layout."""
        pairs = super().ema_pairs()
        if self.online_projector_m is not None:
            pairs.append((self.online_projector_m, self.target_projector_m))
        return pairs

    @torch.no_grad()
    def _candidates(
        self,
        terms: dict,
        pool: torch.Tensor | None,
        gather: Callable[[torch.Tensor], torch.Tensor] | None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Search representations, target representations and raw inputs of the candidates."""
        if pool is None:
            raw, target_y = terms["view_b"], terms["ty_b"]
            search = target_y if self.mine_space == "target" else terms["y_b"].detach()
        else:
            raw = pool
            target_y = terms["ty_extra"]
            search = target_y if self.mine_space == "target" else self.online_encoder(pool)
        if gather is not None:
            target_y = gather(target_y)
            search = target_y if self.mine_space == "target" else gather(search)
            if self.layout == "merged":
                raw = gather(raw)
        return search, target_y, raw

    def forward(
        self,
        view_a: torch.Tensor,
        view_b: torch.Tensor,
        *,
        pool: torch.Tensor | None = None,
        exclude: torch.Tensor | None = None,
        mined_weight: float | torch.Tensor = 0.0,
        generator: torch.Generator | None = None,
        uniform: torch.Tensor | None = None,
        fuse_target_views: bool = False,
        gather: Callable[[torch.Tensor], torch.Tensor] | Literal["auto"] | None = "auto",
        rank: int = 0,
        view_m: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """BYOL loss on ``(view_a, view_b)`` plus the mined-view loss.

        Args:
            view_a, view_b: two augmented views ``(B, ...)`` of the same samples.
            view_m: a third view ``(B, ...)`` of them that mines and predicts across
                samples on its own forward, as the MTNeuro image trainers do (they crop it
                together with the pool, ``myow_trainer.py:383,445-452,585``); None: view
                ``a`` does (its forward is shared with the BYOL loss).
            pool: optional candidate samples ``(P, ...)``; None mines within the batch.
            exclude: optional bool ``(B, P)`` of forbidden candidates.
            mined_weight: weight ``w`` of the mined loss (ramped by the caller); a 0-dim
                tensor in a static step (float64 keeps ``1 - w`` as exact as a float).
            generator: randomness of the k-neighbour draw.
            uniform: the draw itself, ``(B,)`` in [0, 1), instead of ``generator``
                (see :func:`~mtneuro.ssl.miner.knn_mine`).
            fuse_target_views: one target-encoder forward for both views and the pool
                (see :meth:`~mtneuro.ssl.byol.BYOL.byol_terms`; off in the MTNeuro protocol).
            gather, rank: distributed candidate gathering (see the module docstring):
                ``"auto"``, a callable concatenating a tensor over processes, or None.

        Returns:
            ``loss`` (scalar with graph), detached ``byol_loss`` and ``mined_loss``, and
            ``mined_index`` ``(B,)`` (indices into the (gathered) candidates).
        """
        if gather == "auto":
            gather = None
            if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
                gather, rank = all_gather_nograd, dist.get_rank()
        terms = self.byol_terms(view_a, view_b, target_extra=pool,
                                fuse_target_views=fuse_target_views)
        terms["view_b"] = view_b
        search, target_y, raw = self._candidates(terms, pool, gather)
        b = view_a.shape[0]
        self_index = None
        if pool is None:
            self_index = torch.arange(b, device=view_a.device) + rank * b
        if view_m is None:
            y_q, z_q, p_q, tz_q = terms["y_a"], terms["z_a"], terms["p_a"], terms["tz_a"]
        else:
            y_q, z_q, p_q = self.online(view_m)
            tz_q = self.target(view_m)[1] if self.layout == "merged" else None
        index = knn_mine(
            y_q.detach(),
            search,
            self.k,
            exclude=exclude,
            generator=generator,
            self_index=self_index,
            uniform=uniform,
        )
        with torch.no_grad():
            # merged: the mined views get a target forward of their own, so that its
            # BatchNorm sees the mined batch, as myow_trainer_merged.py's does
            tz_mined = (self.target_projector(target_y[index]) if self.layout == "cascaded"
                        else self.target(raw[index])[1])
        if self.layout == "cascaded":
            q_m = self.predictor_m(self.online_projector_m(z_q))
            with torch.no_grad():
                tv_mined = self.target_projector_m(tz_mined)
            mined = normalized_mse(q_m, tv_mined)
        else:
            # One path for one and W processes (see the module docstring).
            p_mined = self.online(raw[index])[2]
            mined = 0.5 * (normalized_mse(p_q, tz_mined) + normalized_mse(p_mined, tz_q))
        byol = terms["byol_loss"]
        loss = self._mix(byol, mined, mined_weight)
        return {
            "loss": loss,
            "byol_loss": byol.detach(),
            "mined_loss": mined.detach(),
            "mined_index": index,
        }

    def _mix(self, byol: torch.Tensor, mined: torch.Tensor,
             mined_weight: float | torch.Tensor) -> torch.Tensor:
        """``a * byol + b * mined`` with the weights of ``self.loss_mix``.

        The weights are computed in double precision (a Python float, or a float64 0-dim
        tensor in a static step) and rounded to the loss type once, so both give the same
        loss bit for bit.
        """
        w = mined_weight if isinstance(mined_weight, torch.Tensor) else float(mined_weight)
        top = 1.0 if self.loss_mix == "convex" else math.inf
        # a Python weight is checked (-1 divided by zero, -0.99 gave a loss of -13); a tensor
        # comes from the trainer's own schedule, and reading it would wait for the device
        if not isinstance(w, torch.Tensor) and not 0.0 <= w <= top:
            raise ConfigError(f"mined_weight: expected a float in [0, {top:g}] (loss_mix "
                             f"{self.loss_mix!r}), got {w!r}")
        if self.loss_mix == "normalised":
            a, b = 1 / (1 + w), w / (1 + w)
        elif self.loss_mix == "convex":
            a, b = 1 - w, w
        else:
            a, b = 1.0, w
        if isinstance(w, torch.Tensor):
            a = a.to(byol.dtype) if isinstance(a, torch.Tensor) else a
            b = b.to(mined.dtype)
        return a * byol + b * mined


def _factory_signature() -> inspect.Signature:
    """MYOW's own arguments and BYOL's (in place of ``**byol_kwargs``), less ``layout``,
    which the registered name fixes: what :meth:`Registry.create` checks a call against,
    so a misspelt keyword is named with the valid ones, not left to ``BYOL.__init__``."""
    own = [p for p in inspect.signature(MYOW.__init__).parameters.values()
           if p.name not in ("self", "layout") and p.kind is not p.VAR_KEYWORD]
    taken = {p.name for p in own}
    byol = [p for p in inspect.signature(BYOL.__init__).parameters.values()
            if p.kind is p.KEYWORD_ONLY and p.name not in taken]
    return inspect.Signature(own + byol)


def _check_merged_arguments(name: str, kwargs: dict[str, Any]) -> None:
    """A cascaded-only argument given to the merged layout, other than its default, would be
    ignored without a word: it is refused. A default is let through, so one set of keywords
    may build either layout (and :class:`MYOW` itself takes them all, as before)."""
    defaults = inspect.signature(MYOW.__init__).parameters
    unused = [key for key in CASCADED_ONLY
              if key in kwargs and kwargs[key] != defaults[key].default]
    if unused:
        given = ", ".join(
            f"{key}=<{type(kwargs[key]).__name__}>" if isinstance(kwargs[key], nn.Module)
            else f"{key}={kwargs[key]!r}" for key in unused)
        raise ConfigError(f"ssl method {name!r}: does not use {given} (only 'myow', the "
                          f"cascaded layout, has a second projector / predictor); leave "
                          f"{'it' if len(unused) == 1 else 'them'} out")


def _myow_factory(layout: str) -> Callable[..., nn.Module]:
    def factory(encoder: nn.Module, **kwargs: Any) -> nn.Module:
        if layout == "merged":
            _check_merged_arguments("myow-merged", kwargs)
        return MYOW(encoder, layout=layout, **kwargs)

    factory.__signature__ = _factory_signature()  # type: ignore[attr-defined]
    factory.__doc__ = f"MYOW with ``layout={layout!r}`` (:class:`MYOW`'s other arguments)."
    return factory


METHODS: Registry[nn.Module] = Registry("ssl method")
METHODS.register("byol")(BYOL)
METHODS.register("myow")(_myow_factory("cascaded"))
METHODS.register("myow-merged")(_myow_factory("merged"))


def create_method(name: str, encoder: nn.Module, **kwargs: Any) -> nn.Module:
    """Build ``byol``, ``myow`` or ``myow-merged`` around ``encoder``.

    Args:
        name: a name of :data:`METHODS`.
        encoder: the encoder to train (an ``out_dim`` attribute, ``(B, ...) -> (B, out_dim)``).
        **kwargs: :class:`~mtneuro.ssl.byol.BYOL`'s keyword arguments (and, for the MYOW
            names, :class:`MYOW`'s but ``layout``); ``None`` values are dropped so defaults win.

    Raises:
        ConfigError: an unknown name, or a keyword the method does not take (named, with
            the closest and every one it takes), or for ``myow-merged`` one of
            :data:`CASCADED_ONLY` set to other than its default (the layout ignores it).
    """
    return METHODS.create(name, encoder=encoder, **kwargs)
