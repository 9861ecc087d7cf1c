"""Linear-probe and kNN evaluation of frozen encoders on vision image sets.

The usual self-supervised protocol: features of the frozen encoder (global
average pool) for the train and test splits, then

* a linear probe: multinomial logistic regression on standardised features,
  its inverse regularisation ``C`` chosen by 3-fold cross-validation on the
  training split only (:class:`~mtneuro.tasks.probe.LinearProbe`, as tasks 1 and 3);
* a kNN classifier: cosine similarity, the ``k`` nearest training samples vote
  with weights ``exp(sim / T)`` (Wu et al. 2018, as in most SSL code bases).

The raw-pixel baseline is the same linear probe on flattened pixels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from mtneuro.data.vision import ImageSet
from mtneuro.tasks.probe import LinearProbe, extract_features

DEFAULT_CS = (0.01, 0.1, 1.0, 10.0)


def linear_probe_accuracy(
    train_x: np.ndarray | torch.Tensor,
    train_y: np.ndarray | torch.Tensor,
    test_x: np.ndarray | torch.Tensor,
    test_y: np.ndarray | torch.Tensor,
    *,
    cs: Sequence[float] = DEFAULT_CS,
    seed: int = 0,
) -> dict[str, float]:
    """Test accuracy of a logistic-regression probe on standardised features
    (:class:`~mtneuro.tasks.probe.LinearProbe`, ``C`` by 3-fold CV on the training split).

    Returns:
        ``{"accuracy": float, "C": chosen inverse regularisation}``.
    """
    probe = LinearProbe(Cs=cs, cv=3, max_iter=2000, seed=seed)
    probe.fit(_numpy(train_x), _numpy(train_y).astype(np.int64))
    return {"accuracy": probe.score(_numpy(test_x), _numpy(test_y)), "C": probe.C_}


def knn_accuracy(
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    test_x: torch.Tensor,
    test_y: torch.Tensor,
    *,
    k: int = 20,
    temperature: float = 0.07,
    chunk: int = 1024,
) -> float:
    """Accuracy of a similarity-weighted kNN vote in cosine space.

    Args:
        train_x, test_x: features (N, D), (M, D).
        train_y, test_y: int labels (N,), (M,).
        k: neighbours voting (clipped to N).
        temperature: T of the vote weights ``exp(sim / T)``.
        chunk: test rows per similarity block (bounds memory at chunk x N).
    """
    train_x = nn.functional.normalize(torch.as_tensor(train_x).float(), dim=1)
    test_x = nn.functional.normalize(torch.as_tensor(test_x).float(), dim=1)
    train_y = torch.as_tensor(train_y).long()
    test_y = torch.as_tensor(test_y).long()
    n_classes = int(max(train_y.max(), test_y.max())) + 1
    k = min(k, train_x.shape[0])
    correct = 0
    for start in range(0, test_x.shape[0], chunk):
        sims = test_x[start : start + chunk] @ train_x.T
        top_sim, top_idx = sims.topk(k, dim=1)
        votes = torch.zeros(top_idx.shape[0], n_classes)
        votes.scatter_add_(1, train_y[top_idx], (top_sim / temperature).exp())
        correct += int((votes.argmax(1) == test_y[start : start + chunk]).sum())
    return correct / max(1, test_x.shape[0])


def evaluate_encoder(
    encoder: nn.Module,
    train: ImageSet,
    test: ImageSet,
    *,
    device: str | torch.device = "cpu",
    mean: float | Sequence[float] = 0.0,
    std: float | Sequence[float] = 1.0,
    k: int = 20,
    cs: Sequence[float] = DEFAULT_CS,
    seed: int = 0,
) -> dict[str, float]:
    """Linear-probe and kNN accuracy of a frozen ``encoder`` (train on ``train``, test on ``test``)."""
    kwargs = {"device": device, "mean": mean, "std": std}
    train_f = extract_features(encoder, train.images, **kwargs)
    test_f = extract_features(encoder, test.images, **kwargs)
    probe = linear_probe_accuracy(train_f, train.labels, test_f, test.labels, cs=cs, seed=seed)
    return {
        "linear_accuracy": probe["accuracy"],
        "linear_C": probe["C"],
        "knn_accuracy": knn_accuracy(train_f, train.labels, test_f, test.labels, k=k),
    }


def raw_pixel_probe(
    train: ImageSet, test: ImageSet, *, cs: Sequence[float] = DEFAULT_CS, seed: int = 0
) -> dict[str, float]:
    """The baseline: the same linear probe on flattened [0, 1] pixels."""
    train_x = train.float_images().flatten(1)
    test_x = test.float_images().flatten(1)
    probe = linear_probe_accuracy(train_x, train.labels, test_x, test.labels, cs=cs, seed=seed)
    return {"linear_accuracy": probe["accuracy"], "linear_C": probe["C"]}


def _numpy(value: np.ndarray | torch.Tensor) -> np.ndarray:
    return value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
