"""BYOL: Bootstrap Your Own Latent (Grill et al. 2020, arXiv 2006.07733).

An online network (encoder -> projector -> predictor) predicts the projection that a
slowly moving target copy (encoder -> projector, EMA of the online weights) gives for
another view of the same sample. The loss is BYOL's normalised MSE, symmetric over
the two views.

>>> from mtneuro.models import create_encoder
>>> method = BYOL(create_encoder("resnet-tiny"), projector_hidden=64, projector_out=32,
...               predictor_hidden=64)
>>> optimizer = torch.optim.SGD(method.parameters(), lr=0.1)
>>> view_a, view_b = torch.rand(4, 1, 32, 32), torch.rand(4, 1, 32, 32)
>>> out = method(view_a, view_b)
>>> sorted(out)
['byol_loss', 'loss']
>>> out["loss"].backward(); optimizer.step(); method.update_target(0.996)
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from mtneuro.errors import ConfigError
from mtneuro.registry import check_keywords
from mtneuro.ssl.heads import make_head
from mtneuro.ssl.losses import normalized_mse
from mtneuro.ssl.momentum import deactivate_requires_grad, update_momentum

#: The keywords of the common method call that only MYOW's forward reads
#: (:meth:`mtneuro.ssl.myow.MYOW.forward`); BYOL's forward accepts and ignores them.
COMMON_CALL_NAMES: tuple[str, ...] = (
    "pool", "exclude", "mined_weight", "generator", "uniform", "gather", "rank", "view_m",
)


def _feature_dim(encoder: nn.Module) -> int:
    dim = getattr(encoder, "out_dim", None)
    if not isinstance(dim, int):
        raise ConfigError(
            f"encoder {type(encoder).__name__}: expected an integer attribute "
            f"out_dim (feature size), got {dim!r}"
        )
    return dim


class BYOL(nn.Module):
    """BYOL with a configurable projector and predictor.

    Args:
        encoder: maps a view ``(B, ...)`` to ``(B, encoder.out_dim)``.
        projector_hidden: hidden width of the projector MLP; 0 makes it the identity.
        projector_out: projection size.
        predictor_hidden: hidden width of the predictor MLP (output = projection size).
        projector: a ready-made projector module (overrides the three sizes above
            for the projector); give ``projector_out`` its output size.
        predictor: a ready-made predictor module.
        batch_norm: BatchNorm in the heads.

    Attributes:
        online_encoder: the encoder being trained (save or probe this one).
        target_encoder, target_projector: EMA copies, never receiving gradients.
    """

    def __init__(
        self,
        encoder: nn.Module,
        *,
        projector_hidden: int = 4096,
        projector_out: int = 256,
        predictor_hidden: int = 4096,
        projector: nn.Module | None = None,
        predictor: nn.Module | None = None,
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        rep = _feature_dim(encoder)
        self.online_encoder = encoder
        if projector is None:
            projector, projector_out = make_head(rep, projector_hidden, projector_out, batch_norm)
        self.online_projector = projector
        self.projection_dim = projector_out
        if predictor is None:
            predictor, _ = make_head(projector_out, predictor_hidden, projector_out, batch_norm)
        self.predictor = predictor
        self.target_encoder = deactivate_requires_grad(copy.deepcopy(encoder))
        self.target_projector = deactivate_requires_grad(copy.deepcopy(projector))

    def ema_pairs(self) -> list[tuple[nn.Module, nn.Module]]:
        """(online, target) module pairs moved by :meth:`update_target`."""
        return [
            (self.online_encoder, self.target_encoder),
            (self.online_projector, self.target_projector),
        ]

    @torch.no_grad()
    def update_target(self, m: float) -> None:
        """EMA step ``target = m * target + (1 - m) * online`` for every pair."""
        for online, target in self.ema_pairs():
            update_momentum(online, target, m)

    def online(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Online branch: representation y, projection z, prediction p, each ``(B, *)``."""
        y = self.online_encoder(x)
        z = self.online_projector(y)
        return y, z, self.predictor(z)

    @torch.no_grad()
    def target(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Target branch (no gradient): representation y' and projection z'."""
        y = self.target_encoder(x)
        return y, self.target_projector(y)

    def byol_terms(
        self,
        view_a: torch.Tensor,
        view_b: torch.Tensor,
        *,
        target_extra: torch.Tensor | None = None,
        fuse_target_views: bool = False,
    ) -> dict[str, torch.Tensor]:
        """Both branches on both views and the symmetric loss; intermediate tensors returned.

        Args:
            view_a, view_b: the two views ``(B, ...)``.
            target_extra: more samples ``(P, ...)`` for the target encoder alone (MYOW's
                pool); their representations come back as ``ty_extra``.
            fuse_target_views: run the target encoder once on all its inputs
                concatenated (fewer, larger kernels). Its batch-norm layers then
                normalise over the concatenation instead of over each view: a departure
                from the MTNeuro protocol (which forwards each view alone), so off by
                default.
        """
        y_a, z_a, p_a = self.online(view_a)
        y_b, z_b, p_b = self.online(view_b)
        if fuse_target_views:
            inputs = [view_a, view_b] + ([target_extra] if target_extra is not None else [])
            with torch.no_grad():
                ty = self.target_encoder(torch.cat(inputs)).split([x.shape[0] for x in inputs])
            ty_a, ty_b = ty[0], ty[1]
            with torch.no_grad():
                tz_a, tz_b = self.target_projector(ty_a), self.target_projector(ty_b)
            extra = ty[2] if target_extra is not None else None
        else:
            ty_a, tz_a = self.target(view_a)
            ty_b, tz_b = self.target(view_b)
            extra = None
            if target_extra is not None:
                with torch.no_grad():
                    extra = self.target_encoder(target_extra)
        loss = 0.5 * (normalized_mse(p_a, tz_b) + normalized_mse(p_b, tz_a))
        terms = {
            "byol_loss": loss,
            "y_a": y_a,
            "z_a": z_a,
            "p_a": p_a,
            "y_b": y_b,
            "z_b": z_b,
            "p_b": p_b,
            "ty_a": ty_a,
            "tz_a": tz_a,
            "ty_b": ty_b,
            "tz_b": tz_b,
        }
        if extra is not None:
            terms["ty_extra"] = extra
        return terms

    def forward(
        self, view_a: torch.Tensor, view_b: torch.Tensor, *, fuse_target_views: bool = False,
        **common: object,
    ) -> dict[str, torch.Tensor]:
        """Symmetric BYOL loss of two views ``(B, ...)``.

        The other keyword arguments of the common method call (:data:`COMMON_CALL_NAMES`:
        ``pool``, ``exclude``, ``mined_weight``, ``generator``, ...) are accepted and
        ignored, so a trainer can drive BYOL and MYOW identically. ``fuse_target_views``:
        see :meth:`byol_terms`.

        Returns:
            ``{"loss": scalar with graph, "byol_loss": detached scalar}``.

        Raises:
            ConfigError: a keyword neither BYOL's nor MYOW's forward takes (named, with the
                closest and every one they take), so a typo fails here as it does on MYOW.
        """
        if any(key not in COMMON_CALL_NAMES for key in common):  # the message only on a typo
            check_keywords(f"{type(self).__name__}.forward", common,
                           ("fuse_target_views", *COMMON_CALL_NAMES))
        loss = self.byol_terms(view_a, view_b, fuse_target_views=fuse_target_views)["byol_loss"]
        return {"loss": loss, "byol_loss": loss.detach()}
