"""2D segmentation networks of the MTNeuro task-2 table, from segmentation-models-pytorch.

U-Net, MAnet, FPN, UNet++, PAN and PSPNet with a ResNet-18 encoder (the MTNeuro
configuration), one input channel and random initialisation. Nothing is ever
downloaded: ``encoder_weights`` is a *local* file holding an encoder
``state_dict`` (for example torchvision ImageNet weights saved beforehand).

Input sizes: U-Net, MAnet, UNet++, PAN and FPN need H and W divisible by 32
(the encoder downsamples five times); PSPNet by 8. Tiles of 256 and crops of
128 satisfy both. In training mode the models hold BatchNorm layers that see
1 x 1 maps at 32 x 32 input, so use a batch of at least 2 there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import segmentation_models_pytorch as smp
import torch
from torch import nn

from mtneuro.errors import ConfigError
from mtneuro.registry import check_choice

#: registry name -> smp architecture class.
SMP_ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {
    "unet": smp.Unet,
    "manet": smp.MAnet,
    "fpn": smp.FPN,
    "unetplusplus": smp.UnetPlusPlus,
    "pan": smp.PAN,
    "pspnet": smp.PSPNet,
}
DEFAULT_ENCODER = "resnet18"


def load_local_encoder_weights(encoder: nn.Module, path: str | Path) -> None:
    """Copy an encoder ``state_dict`` saved in a local file into ``encoder``.

    A first convolution stored for 3 input channels is summed over them, so RGB
    weights (e.g. ImageNet) serve a 1-channel encoder as smp does itself.
    Classifier keys (``fc.*``) are ignored.

    Raises:
        ConfigError: the file is missing or its keys/shapes do not fit the encoder.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"encoder_weights: file not found: {path}")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    own = encoder.state_dict()
    for key, value in state.items():
        target = own.get(key)
        if target is not None and value.ndim == 4 and value.shape[1] != target.shape[1]:
            if target.shape[1] == 1:
                state[key] = value.sum(dim=1, keepdim=True)
    mismatched = [k for k, v in state.items() if k in own and own[k].shape != v.shape]
    missing = [k for k in own if k not in state]
    if mismatched or missing:
        bad = (mismatched or missing)[:3]
        raise ConfigError(
            f"encoder_weights: {path} does not fit the encoder "
            f"({len(missing)} missing, {len(mismatched)} mis-shaped keys, e.g. {bad})"
        )
    encoder.load_state_dict({k: v for k, v in state.items() if k in own})


def build_smp(
    architecture: str,
    n_classes: int,
    *,
    encoder_name: str = DEFAULT_ENCODER,
    encoder_weights: str | Path | None = None,
    in_channels: int = 1,
) -> nn.Module:
    """Build one smp network with a randomly initialised (or locally loaded) encoder.

    Args:
        architecture: a key of :data:`SMP_ARCHITECTURES`.
        n_classes: output channels (logits), 3 or 4 in MTNeuro.
        encoder_name: any smp encoder name (default ``resnet18``, as MTNeuro).
        encoder_weights: optional local file with an encoder ``state_dict``.
        in_channels: image channels (1 for X-ray slices).

    Returns:
        module mapping ``(B, in_channels, H, W)`` to logits ``(B, n_classes, H, W)``.
    """
    # timm encoders ("tu-<name>") are resolved by smp itself.
    if not encoder_name.startswith("tu-"):
        check_choice("smp encoder", encoder_name, smp.encoders.get_encoder_names())
    model = SMP_ARCHITECTURES[architecture](
        encoder_name=encoder_name,
        encoder_weights=None,
        in_channels=in_channels,
        classes=n_classes,
    )
    if encoder_weights is not None:
        load_local_encoder_weights(model.encoder, encoder_weights)
    return model
