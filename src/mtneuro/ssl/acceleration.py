"""How a training step is made fast on its device: autocast type, memory format, compilation.

CPU memory reuse, which serves every training loop, is :mod:`mtneuro.cpu_memory`.

Used by :class:`mtneuro.ssl.trainer.Trainer` (task 2's training and inference share the
autocast type); none of it changes what is computed beyond rounding (the chosen
precision, the summation order of NHWC or compiled kernels).
"""

from __future__ import annotations

import torch
from torch import nn

from mtneuro.errors import ConfigError


def cuda_autocast_dtype() -> torch.dtype:
    """bfloat16 where the GPU has it, else float16 (which needs a gradient scaler).

    bfloat16 keeps float32's range, so activations cannot overflow to inf as they can in
    float16 (seen with MAnet logits at lr 3e-3), and it needs no scaler.
    """
    has_bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return torch.bfloat16 if has_bf16 else torch.float16


def autocast_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """The autocast type of ``amp`` (``auto``, ``none``, ``bf16``, ``fp16``) on ``device``.

    ``auto`` is :func:`cuda_autocast_dtype` on CUDA and off on CPU; None means full
    precision.
    """
    if amp == "auto":
        return cuda_autocast_dtype() if device.type == "cuda" else None
    if amp == "none":
        return None
    if amp not in ("bf16", "fp16"):
        raise ConfigError(f"amp: expected one of 'auto', 'none', 'bf16', 'fp16', got {amp!r}")
    if amp == "fp16" and device.type != "cuda":
        raise ConfigError("amp: 'fp16' needs a CUDA device (use 'bf16' or 'none' on CPU)")
    return torch.bfloat16 if amp == "bf16" else torch.float16


def channels_last_pays(
    method: nn.Module, device: torch.device, amp_dtype: torch.dtype | None
) -> bool:
    """Whether ``method`` should train in NHWC memory format on ``device``.

    NHWC pays on GPUs and in oneDNN's CPU kernels: measured on 2 CPU cores in fp32, the
    X-ray ResNet-18 forward + backward at 128 px runs 1.6x faster, ``resnet-tiny`` 1.3-1.7x;
    at 8 px it is even. The exception: with torch 2.14.1 oneDNN's fp32 weight gradient of
    a strided 1x1 convolution with 2-15 input channels crashes the process (segmentation
    fault; found on a grid of shapes, bf16 unaffected), so such models stay NCHW on CPU.
    """
    if device.type == "cuda" or amp_dtype is not None:
        return True
    return not any(_crashes_onednn_fp32(m) for m in method.modules())


def _crashes_onednn_fp32(module: nn.Module) -> bool:
    return (
        isinstance(module, nn.Conv2d)
        and module.kernel_size == (1, 1)
        and module.stride != (1, 1)
        and 1 < module.in_channels < 16
    )


def compile_encoders(method: nn.Module) -> None:
    """``torch.compile`` the online and target encoders of a BYOL-family ``method`` in place.

    The encoders hold nearly all the work (compiled: fused norm/activation kernels); the
    rest of the step (the generator-driven kNN draw, a mined weight that changes every
    step) would break or re-specialise a whole-step graph. ``Module.compile()`` works in
    place, so ``state_dict`` keys (and checkpoints) stay the same.
    """
    names = ("online_encoder", "target_encoder")
    missing = [n for n in names if not isinstance(getattr(method, n, None), nn.Module)]
    if missing:
        raise ConfigError(f"compile: expected a method with {names}, {type(method).__name__} "
                          f"lacks {missing}")
    for name in names:
        getattr(method, name).compile()

