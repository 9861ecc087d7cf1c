"""Why a user's encoder failed on the tasks' inputs, beyond their shape: hints that the
models layer (probing a module on zeros) and the tasks layer (a forward failing on real
inputs) both give."""

from __future__ import annotations

from itertools import chain

from torch import nn


def float32_hint(encoder: nn.Module) -> str | None:
    """What to do when ``encoder`` holds floating-point weights or buffers of a dtype other
    than float32 (a half-precision or bfloat16 model), which the tasks' float32 inputs meet
    in its first layer; None when every floating-point tensor is float32."""
    found = {t.dtype for t in chain(encoder.parameters(), encoder.buffers())
             if t.is_floating_point()}
    other = sorted(str(dtype).removeprefix("torch.") for dtype in found
                   if str(dtype) != "torch.float32")
    if not other:
        return None
    return (f"its weights are {', '.join(other)}, but the tasks feed float32 inputs: return the "
            "module in float32 (module.float()), or cast the input inside forward "
            "(x.to(weight dtype)) and return float32 features")
