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
  ``module:callable``, registered name, or ``mtneuro.encoders`` entry point;
  :func:`resolve_encoder_at_seed` builds it under a fixed seed (the same random weights).
- ``create_segmentation_model`` / ``SEGMENTATION_MODELS`` / ``list_segmentation_models`` /
  ``input_side`` from :mod:`mtneuro.models.segmentation`, imported on first use (it pulls
  in segmentation_models_pytorch, which is slow to import).
"""

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
from mtneuro.models.user import resolve_encoder, resolve_encoder_at_seed
from mtneuro.registry import lazy_dir, lazy_exports

_LAZY = {name: "segmentation" for name in ("create_segmentation_model", "SEGMENTATION_MODELS",
                                           "list_segmentation_models", "input_side")}
__getattr__ = lazy_exports(__name__, _LAZY)
__dir__ = lazy_dir(globals(), _LAZY)


__all__ = [
    "ENCODERS",
    "FORMAT",
    "SEGMENTATION_MODELS",
    "MLPEncoder",
    "ResNet",
    "TorchvisionResNet18",
    "create_encoder",
    "create_segmentation_model",
    "encoder_input_spec",
    "input_side",
    "list_encoders",
    "list_segmentation_models",
    "load_encoder",
    "read_checkpoint",
    "resolve_encoder",
    "resolve_encoder_at_seed",
    "save_encoder",
]
