"""Neural decoding (MYOW protocols): reach direction from monkey M1, arousal state from mouse CA1.

Public API: :class:`NeuralConfig` (no torch), :func:`fit_neural` (metrics plus encoder,
curve and test predictions; a user encoder's frozen features with ``encoder=``), and
the task of the contract, :data:`mtneuro.tasks.neural.task.NEURAL` (``mtneuro neural``,
bench cells, ``mtneuro.evaluate``). Names load their submodule on first use.
"""

import importlib
from typing import Any

#: public name -> submodule defining it.
_EXPORTS = {
    "KIND_DEFAULTS": "config",
    "NeuralConfig": "config",
    "resolve": "config",
    "NeuralOutcome": "run",
    "fit_neural": "run",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["KIND_DEFAULTS", "NeuralConfig", "NeuralOutcome", "fit_neural", "resolve"]
