"""The input of a frozen encoder in the neural task: rates z-scored with learning bins'
statistics (:func:`zscore_rates`), and the features of a user's encoder, or of one
``mtneuro neural`` saved, which reads its own neurons as it was trained
(:func:`encoder_features`)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from mtneuro.data.neural import NeuralRecording
from mtneuro.errors import ConfigError
from mtneuro.models.user import refuse_meta_weights
from mtneuro.ssl.augment.neural import NeuralAugment
from mtneuro.tasks.neural import splits as S
from mtneuro.tasks.neural.zscore import checked_zscores, learning_statistics, varying
from mtneuro.tasks.probe import checked_finite


def zscore_rates(rates: np.ndarray, bins: np.ndarray, *,
                 recording: NeuralRecording | str = "rates") -> torch.Tensor:
    """Every bin's rates z-scored with :func:`~mtneuro.ssl.augment.neural.zscore_statistics`
    of ``bins`` alone (training or learning bins, never test; taken in float64,
    :func:`~mtneuro.tasks.neural.zscore.learning_statistics`); neurons constant there are 0.
    The one z-scoring of an encoder's input, learned or given: readouts see both alike.

    Raises:
        DataError: a z-score of a varying neuron is NaN or inf (naming ``recording``).
    """
    learning = rates[bins]
    mean, std = learning_statistics(learning)
    z = NeuralAugment(mean=mean, std=std).normalize(torch.from_numpy(rates))
    z = torch.where(torch.from_numpy(varying(learning)), z, torch.zeros_like(z))
    return checked_zscores(z, std, recording, np.arange(rates.shape[1]))


def encoder_features(rec: NeuralRecording, split: S.Split, encoder: nn.Module, *,
                     refit: bool = False) -> tuple[np.ndarray, dict]:
    """Features (bins, D) of a frozen user encoder and the input spec it was given: every
    neuron's rates z-scored (:func:`zscore_rates`, as a learned encoder's) with the
    statistics of the learning bins (training; with ``refit`` training + validation),
    neurons constant there 0. An encoder ``mtneuro neural`` saved declares the neurons it
    kept and their statistics (``live_neurons``, ``mean``, ``std`` of its input spec): it
    gets those neurons z-scored as it was trained (:func:`_as_trained`)."""
    own = getattr(encoder, "input_spec", None)
    if isinstance(own, dict) and {"live_neurons", "mean", "std"} <= set(own):
        z, spec = _as_trained(rec, own)
    else:
        z = zscore_rates(rec.rates, S.learning_bins(split, refit), recording=rec)
        spec = {"neurons": rec.n_neurons,
                "units": "Hz, z-scored; neurons constant in learning bins 0"}
    refuse_meta_weights(encoder, type(encoder).__name__)  # torch's error would blame devices
    was_training = encoder.training  # the caller's model: left as it was given
    encoder.eval()
    try:
        with torch.no_grad():
            features = encoder(z)
    except (RuntimeError, ValueError, TypeError) as err:  # e.g. an image encoder
        raise ConfigError(
            f"encoder: cannot map {rec.name}'s rates, a (bins, {rec.n_neurons}) matrix "
            f"({type(err).__name__}: {str(err).splitlines()[0]}); a neural encoder takes "
            f"(N, {rec.n_neurons}) z-scored rates and returns (N, D)") from None
    finally:
        encoder.train(was_training)
    if not isinstance(features, torch.Tensor) or features.dim() != 2 or len(features) != len(z):
        shape = tuple(features.shape) if isinstance(features, torch.Tensor) else type(features)
        raise ConfigError(f"encoder: expected ({len(z)}, D) features for {rec.name}, got {shape}")
    features = checked_finite(features.float().numpy(),
                              f"encoder {type(encoder).__name__} on {rec.name}")
    return features, spec


def _as_trained(rec: NeuralRecording, own: dict) -> tuple[torch.Tensor, dict]:
    """``rec``'s rates as a saved neural encoder was trained on them: its neurons, z-scored
    with its own statistics.

    Raises:
        ConfigError: the encoder was trained on another kind of recording, or on neurons
            ``rec`` does not have (another recording: its neurons are no others' neurons).
        DataError: a neuron's rates z-score to NaN or inf with those statistics.
    """
    live = np.asarray(own["live_neurons"], dtype=np.int64)
    mean = np.asarray(own["mean"], dtype=np.float32)
    std = np.asarray(own["std"], dtype=np.float32)
    total = own.get("recording_neurons")
    if own.get("kind", rec.kind) != rec.kind:
        raise ConfigError(f"encoder: trained on a {own['kind']} recording, not on a "
                          f"{rec.kind} one like {rec.name}")
    if (total not in (None, rec.n_neurons) or not live.size or live.min() < 0
            or live.max() >= rec.n_neurons or mean.shape != live.shape
            or std.shape != live.shape or not (std > 0).all()):
        had = (f"{total} neurons" if total is not None
               else f"at least {live.max() + 1} neurons" if live.size and live.min() >= 0
               else "neurons it does not name")
        raise ConfigError(f"encoder: trained on {live.size} neurons of a recording with {had}, "
                          f"which {rec.name} ({rec.n_neurons} neurons) is not; a saved neural "
                          "encoder reads the recording it was trained on")
    # torch, not NumPy: an overflow is refused in one line, not warned about and fed on
    z = NeuralAugment(mean=torch.from_numpy(mean), std=torch.from_numpy(std)).normalize(
        torch.from_numpy(rec.rates[:, live])).float()  # float32, as the encoder was trained
    z = checked_zscores(z, torch.from_numpy(std), rec, live)
    spec = {"neurons": int(live.size), "live_neurons": own["live_neurons"],
            "units": "Hz, z-scored with the encoder's own statistics (as it was trained)"}
    return z, spec
