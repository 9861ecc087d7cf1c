"""Neural decoding (MYOW protocols): reach direction from monkey M1, arousal state from mouse CA1.

Public API: :class:`NeuralConfig`, :func:`run_neural` (plain metrics) and
:func:`fit_neural` (metrics plus encoder, curve and test predictions).
"""

from mtneuro.tasks.neural.config import KIND_DEFAULTS, NeuralConfig, resolve
from mtneuro.tasks.neural.run import NeuralOutcome, fit_neural, run_neural

__all__ = ["KIND_DEFAULTS", "NeuralConfig", "NeuralOutcome", "fit_neural", "resolve", "run_neural"]
