"""Encoders by name, the encoder checkpoint format and user-encoder resolution.

Public API:

- :data:`ENCODERS` / :func:`create_encoder(name, **kwargs) -> nn.Module` /
  :func:`list_encoders`: ``resnet18`` (MTNeuro X-ray, 2D/3D), ``resnet18-imagenet``,
  ``resnet18-small``, ``resnet-tiny``, ``mlp``. Every encoder has ``out_dim`` and
  ``forward(x) -> (B, out_dim)``.
- :func:`save_encoder(path, encoder, *, name, kwargs, input_spec, meta)`,
  :func:`load_encoder(path, map_location="cpu")`, :func:`encoder_input_spec(path)`:
  the ``mtneuro-encoder/1`` checkpoint format used by pre-training and every task.
- :func:`resolve_encoder(spec) -> (nn.Module, input_spec)`: checkpoint path,
  ``module:callable``, registered name, or ``mtneuro.encoders`` entry point.
- ``create_segmentation_model`` / ``SEGMENTATION_MODELS`` from
  :mod:`mtneuro.models.segmentation`, imported on first use (it pulls in
  segmentation_models_pytorch, which is slow to import).
"""

from typing import Any

from mtneuro.models.checkpoint import (
    FORMAT,
    encoder_input_spec,
    load_encoder,
    read_checkpoint,
    save_encoder,
)
from mtneuro.models.mlp import MLPEncoder
from mtneuro.models.registry import ENCODERS, create_encoder, list_encoders
from mtneuro.models.resnet import ResNet, TorchvisionResNet18
from mtneuro.models.user import resolve_encoder

_LAZY = {"create_segmentation_model", "SEGMENTATION_MODELS"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from mtneuro.models import segmentation

        return getattr(segmentation, name)
    raise AttributeError(f"module 'mtneuro.models' has no attribute {name!r}")


__all__ = [
    "ENCODERS",
    "FORMAT",
    "MLPEncoder",
    "ResNet",
    "TorchvisionResNet18",
    "create_encoder",
    "encoder_input_spec",
    "list_encoders",
    "load_encoder",
    "read_checkpoint",
    "resolve_encoder",
    "save_encoder",
]
