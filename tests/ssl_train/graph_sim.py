"""A CPU stand-in for a CUDA graph, to test on CPU that a step can be captured.

:class:`RecordedGraph` records the ATen operations of one call (through a
``TorchDispatchMode``) and replays them on the same tensors, with every Python number
frozen at its recorded value and every result written back into the tensor it was
recorded in, as a CUDA graph replays its kernels on fixed addresses. So a step that
bakes a schedule value in, reads an input that is not one of its static buffers, or
draws random numbers inside, replays differently from the eager step, and an
equivalence test catches it; an operation that reads the device back (``.item()``,
``bool(tensor)``, ``nonzero``) raises at capture, as CUDA capture would fail.
"""

from __future__ import annotations

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from mtneuro.acceleration import GraphedStep

aten = torch.ops.aten
HOST_READS = {aten._local_scalar_dense.default, aten.is_nonzero.default, aten.nonzero.default,
              aten.equal.default, aten.masked_select.default}


class RecordedGraph:
    """Recorded operations ``(op, args, kwargs, outputs)`` and their replay."""

    def __init__(self) -> None:
        self.ops: list[tuple[object, tuple, dict, object]] = []
        self.replays = 0
        self._executed_at_capture = True  # recording ran the captured call once

    def replay(self) -> None:
        if self._executed_at_capture:  # a real capture runs nothing: skip its replay
            self._executed_at_capture = False
            return
        self.replays += 1
        with torch.no_grad():
            for op, args, kwargs, recorded in self.ops:
                fresh = op(*args, **kwargs)
                for old, new in zip(tree_flatten(recorded)[0], tree_flatten(fresh)[0]):
                    if isinstance(old, torch.Tensor) and not _same_memory(old, new):
                        old.copy_(new)


def _same_memory(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.data_ptr() == b.data_ptr() and a.stride() == b.stride() and a.shape == b.shape


class _Recorder(TorchDispatchMode):
    def __init__(self, graph: RecordedGraph) -> None:
        super().__init__()
        self.graph = graph

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in HOST_READS:
            raise RuntimeError(f"{func} reads the device back: it cannot be captured")
        out = func(*args, **kwargs)
        self.graph.ops.append((func, args, kwargs, out))
        return out


class SimulatedGraphedStep(GraphedStep):
    """:class:`GraphedStep` with the CUDA parts replaced by :class:`RecordedGraph`."""

    def _warmup_call(self):
        return self.step()

    def _capture(self):
        graph = RecordedGraph()
        with _Recorder(graph):
            outputs = self.step()
        return graph, outputs
