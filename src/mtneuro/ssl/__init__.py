"""Self-supervised learning: BYOL, MYOW, MYOW-merged and their building blocks.

Public API (each piece usable alone):

- methods: :class:`BYOL`, :class:`MYOW` (``layout="cascaded"|"merged"``),
  :data:`METHODS` / :func:`create_method(name, encoder, **kw)` for ``byol``, ``myow``,
  ``myow-merged``. Common call ``method(view_a, view_b, *, pool=None, exclude=None,
  mined_weight=0.0, generator=None) -> dict`` (``loss``, ``byol_loss``, MYOW also
  ``mined_loss``, ``mined_index``); ``method.update_target(m)``; ``method.online_encoder``.
  BYOL ignores MYOW's keywords of that call but refuses any other name
  (:data:`mtneuro.ssl.byol.COMMON_CALL_NAMES`); ``create_method`` names a keyword the
  method does not take (:class:`~mtneuro.errors.ConfigError`).
- heads: :class:`MLPHead`, :func:`make_head`.
- losses: :func:`normalized_mse`.
- momentum: :func:`update_momentum`, :func:`deactivate_requires_grad`.
- schedules: :func:`cosine_schedule`, :func:`warmup_cosine_lr`, :func:`momentum_schedule`,
  :func:`linear_ramp`, :func:`lars_lr` (and :mod:`mtneuro.ssl.schedules`' ``warmup_lr``,
  ``ema_momentum``).
- the training step of every driver: :func:`mtneuro.ssl.step.ssl_step`; the image driver
  :class:`mtneuro.ssl.trainer.Trainer`.
- mining: :func:`knn_mine`.
- optimisation: :func:`param_groups`, :class:`LARS`, :func:`build_optimizer`.
- augmentations: :mod:`mtneuro.ssl.augment`.
"""

from mtneuro.ssl.byol import BYOL
from mtneuro.ssl.heads import MLPHead, make_head
from mtneuro.ssl.losses import normalized_mse
from mtneuro.ssl.miner import knn_mine
from mtneuro.ssl.momentum import deactivate_requires_grad, update_momentum
from mtneuro.ssl.myow import METHODS, MYOW, create_method
from mtneuro.ssl.optim import LARS, build_optimizer, param_groups
from mtneuro.ssl.schedules import (
    cosine_schedule,
    lars_lr,
    linear_ramp,
    momentum_schedule,
    warmup_cosine_lr,
)

__all__ = [
    "BYOL",
    "LARS",
    "METHODS",
    "MYOW",
    "MLPHead",
    "build_optimizer",
    "cosine_schedule",
    "create_method",
    "deactivate_requires_grad",
    "knn_mine",
    "lars_lr",
    "linear_ramp",
    "make_head",
    "momentum_schedule",
    "normalized_mse",
    "param_groups",
    "update_momentum",
    "warmup_cosine_lr",
]
