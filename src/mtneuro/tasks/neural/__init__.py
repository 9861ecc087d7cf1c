"""Neural decoding (MYOW protocols): reach direction from monkey M1, arousal state from mouse CA1.

Public API: :class:`NeuralConfig` (no torch), :func:`fit_neural` (metrics plus encoder,
curve and test predictions; a user encoder's frozen features with ``encoder=``), and
the task of the contract, :data:`mtneuro.tasks.neural.task.NEURAL` (``mtneuro neural``,
bench cells, ``mtneuro.evaluate``). Names load their submodule on first use.
"""

from mtneuro.registry import lazy_exports

#: public name -> submodule defining it.
_EXPORTS = {
    "KIND_DEFAULTS": "config",
    "NeuralConfig": "config",
    "resolve": "config",
    "NeuralOutcome": "run",
    "fit_neural": "run",
}
__getattr__ = lazy_exports(__name__, _EXPORTS)

__all__ = ["KIND_DEFAULTS", "NeuralConfig", "NeuralOutcome", "fit_neural", "resolve"]
