"""2D segmentation networks of the MTNeuro task-2 table, from segmentation-models-pytorch.

U-Net, MAnet, FPN, UNet++, PAN and PSPNet with a ResNet-18 encoder (the MTNeuro
configuration) and one input channel. The encoder starts from random weights
unless ``encoder_weights`` says otherwise: ``"imagenet"`` asks smp for its ImageNet
weights (as MTNeuro's configs do; smp downloads them once from the Hugging Face hub
and caches them, so this needs network access the first time), and a path loads a
*local* file holding an encoder ``state_dict`` (nothing is downloaded).

Input sizes (smp 0.6; the table task configs are checked against is
:data:`mtneuro.input_sides.MODEL_INPUT_SIDES`): MAnet, UNet++ and FPN
need H and W divisible by 32 (the encoder downsamples five times), PAN multiples of 16 and at
least 128 (its pyramid attention pools the 1/16 map three more times), PSPNet multiples of 8;
U-Net resizes its skips and takes any side. Tiles of 256 and crops of 128 satisfy all. In
training mode the models hold BatchNorm layers that see 1 x 1 maps at 32 x 32 input (PAN's
pooled attention branch at any input), so use a batch of at least 2 there.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from mtneuro.errors import ConfigError
from mtneuro.extras import require
from mtneuro.models.checkpoint import read_state_dict
from mtneuro.registry import check_choice
from mtneuro.vocab import IMAGENET
from mtneuro.vocab import SMP_DEFAULT_ENCODER as DEFAULT_ENCODER

smp = require("segmentation_models_pytorch", "seg")

#: registry name -> smp architecture class.
SMP_ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {
    "unet": smp.Unet,
    "manet": smp.MAnet,
    "fpn": smp.FPN,
    "unetplusplus": smp.UnetPlusPlus,
    "pan": smp.PAN,
    "pspnet": smp.PSPNet,
}


def load_local_encoder_weights(encoder: nn.Module, path: str | Path) -> None:
    """Copy an encoder ``state_dict`` saved in a local file into ``encoder``.

    A first convolution stored for 3 input channels is summed over them, so RGB
    weights (e.g. ImageNet) serve a 1-channel encoder as smp does itself.
    Classifier keys (``fc.*``) are ignored.

    Raises:
        ConfigError: the file is missing or its keys/shapes do not fit the encoder.
        CheckpointError: the file does not load with ``weights_only=True`` (damaged, not a
            torch file, pickled objects) or holds no state dict of tensors
            (:func:`~mtneuro.models.checkpoint.read_state_dict`).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"encoder_weights: file not found: {path}")
    state = read_state_dict(path, what="encoder_weights file")
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    own = encoder.state_dict()
    for key, value in state.items():
        target = own.get(key)
        if target is not None and value.ndim == 4 and value.shape[1] != target.shape[1] == 1:
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
    """Build one smp network; its encoder random, ImageNet-pretrained or loaded from a file.

    Args:
        architecture: a key of :data:`SMP_ARCHITECTURES`.
        n_classes: output channels (logits), 3 or 4 in MTNeuro.
        encoder_name: any smp encoder name (default ``resnet18``, as MTNeuro).
        encoder_weights: ``None`` (random), ``"imagenet"`` (smp's pretrained weights,
            fetched and cached by smp) or a local file with an encoder ``state_dict``.
        in_channels: image channels (1 for X-ray slices).

    Returns:
        module mapping ``(B, in_channels, H, W)`` to logits ``(B, n_classes, H, W)``.

    Raises:
        ConfigError: unknown encoder, weights not available for it, or ImageNet weights
            that cannot be fetched (one line saying how to pre-fetch them).
    """
    # timm encoders ("tu-<name>") are resolved by smp itself.
    if not encoder_name.startswith("tu-"):
        check_choice("smp encoder", encoder_name, smp.encoders.get_encoder_names())
    if str(encoder_weights) == IMAGENET:
        return _build_imagenet(architecture, n_classes, encoder_name, in_channels)
    model = SMP_ARCHITECTURES[architecture](
        encoder_name=encoder_name,
        encoder_weights=None,
        in_channels=in_channels,
        classes=n_classes,
    )
    if encoder_weights is not None:
        load_local_encoder_weights(model.encoder, encoder_weights)
    return model


def prefetch_command(encoder_name: str) -> str:
    """A shell command that makes smp download and cache the ImageNet weights of an encoder."""
    return (f"python -c \"import segmentation_models_pytorch as smp; "
            f"smp.encoders.get_encoder('{encoder_name}', weights='{IMAGENET}')\"")


def _build_imagenet(architecture: str, n_classes: int, encoder_name: str,
                    in_channels: int) -> nn.Module:
    """smp network whose encoder starts from ImageNet weights (smp adapts the first
    convolution to ``in_channels``); fetching failures become one actionable line."""
    settings = smp.encoders.encoders.get(encoder_name, {}).get("pretrained_settings", {})
    if not encoder_name.startswith("tu-") and IMAGENET not in settings:
        raise ConfigError(f"encoder_weights {IMAGENET!r}: smp has no ImageNet weights for encoder "
                          f"{encoder_name!r} (it has: {', '.join(settings) or 'none'})")
    try:
        return SMP_ARCHITECTURES[architecture](encoder_name=encoder_name, encoder_weights=IMAGENET,
                                               in_channels=in_channels, classes=n_classes)
    except Exception as err:  # noqa: BLE001 - any fetch failure (offline, proxy, hub) is reported
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise ConfigError(
            f"encoder_weights {IMAGENET!r}: cannot fetch the ImageNet weights of smp encoder "
            f"{encoder_name!r} ({type(err).__name__}: {first}); fetch them once with network "
            f"access ({prefetch_command(encoder_name)}, cached by smp under ~/.cache/huggingface) "
            "or leave encoder_weights unset for random initialisation") from None


# ---------------------------------------------------------------- SSL encoder + U-Net decoder
def encoder_stages(encoder: nn.Module) -> list[nn.Module]:
    """Split a ResNet-like encoder into stages whose outputs feed the U-Net skips.

    Understands the encoders of :mod:`mtneuro.models.resnet`: torchvision-style
    (``net.conv1 ... net.layer4``) and ``stem`` + ``stages``.

    Raises:
        ConfigError: the encoder has neither layout.
    """
    net = getattr(encoder, "net", encoder)
    if all(hasattr(net, f"layer{i}") for i in range(1, 5)) and hasattr(net, "conv1"):
        stem = nn.Sequential(net.conv1, net.bn1, net.relu, getattr(net, "maxpool", nn.Identity()))
        return [stem, net.layer1, net.layer2, net.layer3, net.layer4]
    if hasattr(encoder, "stem") and isinstance(getattr(encoder, "stages", None), nn.Sequential):
        return [encoder.stem, *encoder.stages]
    raise ConfigError(
        f"encoder: expected a ResNet-like 2D encoder (torchvision layer1..layer4, or stem + "
        f"stages), got {type(encoder).__name__}"
    )


class _ConvBlock(nn.Sequential):
    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__(
            nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_ch),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_ch),
            nn.ReLU(inplace=True),
        )


class EncoderUNet(nn.Module):
    """A U-Net decoder on the stages of any ResNet-like encoder (e.g. SSL-pretrained).

    The decoder upsamples the deepest map to the size of the next skip (not by a
    fixed factor, so stems that keep full resolution, like MTNeuro's X-ray
    ResNet-18, work), concatenates, and applies two 3x3 convolutions; logits are
    resized to the input if the shallowest stage is strided.

    Args:
        encoder: e.g. ``create_encoder("resnet18", in_channels=1)`` or a loaded
            ``mtneuro pretrain`` encoder.
        n_classes: output classes.
        decoder_channels: channels after each merge, deepest first.
        freeze_encoder: keep encoder weights fixed (linear-probe style).
        mean, std: normalisation the encoder was pre-trained with, applied to the
            [0, 1] input (``input.mean``/``input.std`` of an encoder checkpoint).

    Shapes:
        ``(B, C, H, W)`` -> ``(B, n_classes, H, W)``; H, W divisible by the encoder's total stride.
    """

    def __init__(
        self,
        encoder: nn.Module,
        n_classes: int,
        *,
        decoder_channels: tuple[int, ...] = (256, 128, 64, 32),
        freeze_encoder: bool = False,
        mean: float = 0.0,
        std: float = 1.0,
    ) -> None:
        super().__init__()
        if not std > 0:
            raise ConfigError(f"encoder input std: expected float > 0, got {std!r}")
        self.encoder = encoder
        self.mean, self.std = float(mean), float(std)
        # A plain list: the stages are already registered (and saved) under ``encoder``.
        self.stages = encoder_stages(encoder)
        in_channels = int(getattr(encoder, "in_channels", 1))
        with torch.no_grad():
            was_training = encoder.training
            encoder.eval()
            widths = [f.shape[1] for f in self._features(torch.zeros(1, in_channels, 64, 64))]
            encoder.train(was_training)
        merges = len(widths) - 1
        channels = list(decoder_channels)[:merges]
        channels += [channels[-1]] * (merges - len(channels))
        blocks, below = [], widths[-1]
        for skip, out in zip(reversed(widths[:-1]), channels):
            blocks.append(_ConvBlock(below + skip, out))
            below = out
        self.decoder = nn.ModuleList(blocks)
        self.head = nn.Conv2d(below, n_classes, 1)
        self.freeze_encoder = freeze_encoder
        if freeze_encoder:
            for p in self.encoder.parameters():
                p.requires_grad_(False)

    def _features(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = []
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        return features

    def train(self, mode: bool = True) -> EncoderUNet:
        super().train(mode)
        if self.freeze_encoder:
            self.encoder.eval()  # frozen BatchNorm statistics too
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self._features((x - self.mean) / self.std)
        y = features[-1]
        for block, skip in zip(self.decoder, reversed(features[:-1])):
            if y.shape[-2:] != skip.shape[-2:]:
                y = nn.functional.interpolate(
                    y, size=skip.shape[-2:], mode="bilinear", align_corners=False
                )
            y = block(torch.cat([y, skip], dim=1))
        logits = self.head(y)
        if logits.shape[-2:] != x.shape[-2:]:
            logits = nn.functional.interpolate(
                logits, size=x.shape[-2:], mode="bilinear", align_corners=False
            )
        return logits
