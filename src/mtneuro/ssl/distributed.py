"""Data-parallel helpers for ``torchrun``: process group, sharding, gathers, SyncBatchNorm.

One process per device. ``torchrun`` sets ``RANK``, ``WORLD_SIZE`` and
``LOCAL_RANK``; :func:`init_distributed` reads them and opens a process group
(NCCL on CUDA, gloo on CPU). Without those variables everything degrades to a
single process and every helper is a no-op, so the trainer has one code path.

Sharding is by contiguous blocks of the *global* batch: rank ``r`` of ``W``
takes samples ``[r*B/W, (r+1)*B/W)``. Gathering the ranks' blocks in rank order
therefore rebuilds the global batch in its single-process order, which is what
makes a ``W``-process run comparable to a one-process run with the same global
batch (tested in ``tests/ssl_train/test_ddp.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from mtneuro.devices import resolve_device
from mtneuro.errors import ConfigError
from mtneuro.torchrun_env import torchrun_int
from mtneuro.torchrun_env import world_size as torchrun_world_size


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits in the job.

    Attributes:
        rank: global process index.
        world_size: number of processes.
        local_rank: index on this node (selects the CUDA device).
        device: the device this process trains on.
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def is_main(self) -> bool:
        """Only the main process writes checkpoints, logs and progress bars."""
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init_distributed(device: str = "cpu") -> DistInfo:
    """Join the ``torchrun`` job described by the environment, if any.

    Args:
        device: ``"cpu"`` (gloo), ``"cuda"`` (NCCL; process ``LOCAL_RANK`` uses GPU
            ``LOCAL_RANK``), ``"cuda:N"`` (one process) or ``"auto"``.

    Returns:
        The process's :class:`DistInfo`; a single-process one when not under ``torchrun``.
    """
    world_size = torchrun_world_size()
    local_rank = torchrun_int("LOCAL_RANK", 0)
    torch_device = resolve_device(device)
    if torch_device.type not in ("cpu", "cuda"):
        raise ConfigError(f"device {device!r}: pre-training runs on cpu or cuda (its random "
                          "streams and process groups are tested there); use device='cpu' "
                          "(--device cpu)")
    if torch_device.type == "cuda":
        if world_size > 1 and torch_device.index is not None:
            raise ConfigError(f"device {device!r}: under torchrun each process takes GPU "
                              "LOCAL_RANK; use device='cuda' (--device cuda; "
                              "CUDA_VISIBLE_DEVICES picks GPUs)")
        index = local_rank if torch_device.index is None else torch_device.index
        visible = torch.cuda.device_count()
        if index >= visible:  # torch's own error names an "invalid device ordinal" only
            raise ConfigError(f"device cuda: this process needs GPU {index} (LOCAL_RANK "
                              f"{local_rank}) but {visible} GPU(s) are visible; run at most "
                              f"{visible} processes per node (torchrun --nproc_per_node)")
        torch.cuda.set_device(index)
        torch_device = torch.device("cuda", index)
    if world_size <= 1:
        return DistInfo(device=torch_device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if torch_device.type == "cuda" else "gloo")
    return DistInfo(dist.get_rank(), dist.get_world_size(), local_rank, torch_device)


def shutdown_distributed() -> None:
    """Close the process group opened by :func:`init_distributed` (safe to call always)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def local_slice(global_size: int, info: DistInfo, what: str = "batch_size") -> slice:
    """This rank's contiguous block of a global batch of ``global_size`` samples (``what``:
    the setting that sizes it, named in the error)."""
    if global_size % info.world_size:
        raise ConfigError(
            f"{what}: {global_size} is not divisible by the {info.world_size} processes"
        )
    per_rank = global_size // info.world_size
    return slice(info.rank * per_rank, (info.rank + 1) * per_rank)


@torch.no_grad()
def all_gather_nograd(tensor: torch.Tensor) -> torch.Tensor:
    """Concatenate equally shaped ``tensor`` from every rank along dim 0, in rank order.

    No gradient flows through the gather: it is meant for the kNN candidate pool,
    whose target-network embeddings are constants. Identity in a single process.
    """
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return tensor
    parts = [torch.empty_like(tensor) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, tensor.contiguous())
    return torch.cat(parts, dim=0)


def all_reduce_mean(tensor: torch.Tensor) -> torch.Tensor:
    """Mean of ``tensor`` over ranks (a copy; identity in a single process)."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return tensor
    out = tensor.detach().clone()
    dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out / dist.get_world_size()


def barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


class _AllReduceSum(torch.autograd.Function):
    """Sum over ranks with a gradient: each rank's input influences every rank's
    output, so the input gradient is the sum of all ranks' output gradients."""

    @staticmethod
    def forward(ctx: object, tensor: torch.Tensor) -> torch.Tensor:
        out = tensor.clone()
        dist.all_reduce(out, op=dist.ReduceOp.SUM)
        return out

    @staticmethod
    def backward(ctx: object, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        return grad


def all_reduce_sum_autograd(tensor: torch.Tensor) -> torch.Tensor:
    """Differentiable sum of ``tensor`` over ranks (every rank must call it)."""
    return _AllReduceSum.apply(tensor)


class GlobalBatchNorm(_BatchNorm):
    """BatchNorm whose training statistics cover the samples of every rank.

    ``torch.nn.SyncBatchNorm`` only runs on accelerators; this version works on
    any backend (gloo included) through a differentiable all-reduce
    (:func:`all_reduce_sum_autograd`). Two passes (mean, then the
    centred second moment) keep it numerically identical in form to
    ``BatchNorm`` on the concatenated batch. Accepts (B, C), (B, C, L),
    (B, C, H, W) and (B, C, D, H, W) inputs.

    Half-precision input (bf16 / fp16 under autocast) is normalised in float32, as
    ``BatchNorm`` does: sums over many samples in bf16 lose most of their digits. The
    running statistics keep their own dtype and the output has the input's.
    """

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input, got {input.dim()}D")

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_available() and dist.is_initialized()):
            return super().forward(input)
        all_reduce = all_reduce_sum_autograd
        dims = [0, *range(2, input.dim())]
        shape = [1, -1] + [1] * (input.dim() - 2)
        # float32 at least (float64 input stays float64); cast back at the end.
        x = input.to(torch.promote_types(input.dtype, torch.float32))
        local_count = torch.tensor([x.numel() / x.shape[1]], dtype=x.dtype, device=x.device)
        sums = all_reduce(torch.cat([x.sum(dims), local_count]))
        count = sums[-1]
        mean = sums[:-1] / count
        centred = x - mean.view(shape)
        var = all_reduce((centred * centred).sum(dims)) / count
        if self.track_running_stats and self.running_mean is not None:
            with torch.no_grad():
                self.num_batches_tracked += 1
                momentum = (
                    1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
                )
                unbiased = var * count / (count - 1).clamp_min(1)
                self.running_mean.lerp_(mean.to(self.running_mean.dtype), momentum)
                self.running_var.lerp_(unbiased.to(self.running_var.dtype), momentum)
        out = centred * torch.rsqrt(var + self.eps).view(shape)
        if self.affine:
            out = out * self.weight.view(shape) + self.bias.view(shape)
        return out.to(input.dtype)


def convert_sync_batchnorm(module: nn.Module, device: torch.device) -> nn.Module:
    """Replace every BatchNorm layer so its statistics span all ranks.

    Uses ``torch.nn.SyncBatchNorm`` on CUDA and :class:`GlobalBatchNorm` elsewhere;
    weights and running statistics are carried over.
    """
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    return _convert_global(module)


def _convert_global(module: nn.Module) -> nn.Module:
    if isinstance(module, _BatchNorm) and not isinstance(module, GlobalBatchNorm):
        new = GlobalBatchNorm(
            module.num_features, module.eps, module.momentum, module.affine,
            module.track_running_stats,
        )
        new.load_state_dict(module.state_dict())
        new.train(module.training)
        for param, old in zip(new.parameters(), module.parameters()):
            param.requires_grad_(old.requires_grad)
        return new.to(next(module.buffers(), torch.empty(0)).device)
    for name, child in module.named_children():
        module.add_module(name, _convert_global(child))
    return module


def wrap_ddp(method: nn.Module, info: DistInfo, *, find_unused_parameters: bool = False) -> nn.Module:
    """The module to call each step: ``method`` itself, or a DDP wrapper in a job.

    Set ``find_unused_parameters`` for a method that skips a head in some steps
    (DDP otherwise waits forever for that head's gradients).
    Convert BatchNorm (:func:`convert_sync_batchnorm`) *before* building the
    optimiser and calling this, since conversion creates new parameters.
    """
    if not info.enabled:
        return method
    device_ids = [info.local_rank] if info.device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(
        method, device_ids=device_ids, find_unused_parameters=find_unused_parameters
    )
