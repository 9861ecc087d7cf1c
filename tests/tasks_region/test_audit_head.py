"""Known answers for the paper probe's linear head (mutation audit of
mtneuro.tasks.region_head): trained exactly as plain SGD or Adam over the seed's shuffled full
batches, and its random crops reach every offset of both axes."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mtneuro.tasks.region_head import HeadSettings, random_crop, train_linear_head


def test_random_crops_reach_every_offset_of_both_axes():
    # 3 x 5 tiles, 2 x 2 crops: tops 0-1 and lefts 0-3, read back from the crop's first pixel
    batch = torch.arange(15).reshape(1, 1, 3, 5)
    generator = torch.Generator().manual_seed(0)
    corners = {int(random_crop(batch, 2, generator)[0, 0, 0, 0]) for _ in range(200)}
    assert {(c // 5, c % 5) for c in corners} == {(t, s) for t in range(2) for s in range(4)}


def _reference_head(images: torch.Tensor, labels: torch.Tensor, optimiser: type,
                    lr: float, epochs: int, seed: int) -> nn.Linear:
    """The head trained by hand: the seed's initialisation and shuffles, full batches of 2
    (a partial last batch dropped), plain cross-entropy steps of ``optimiser``."""
    torch.manual_seed(seed)
    expected = nn.Linear(images[0].numel(), int(labels.max()) + 1)
    step = optimiser(expected.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(len(images), generator=generator)
        for start in range(0, len(images) - 1, 2):
            index = order[start : start + 2]
            loss = F.cross_entropy(expected(images[index].flatten(1)), labels[index])
            step.zero_grad()
            loss.backward()
            step.step()
    return expected


@pytest.mark.parametrize("seed", [0, 7])
def test_the_head_is_plain_sgd_over_the_seeds_shuffled_full_batches(seed):
    # 5 images in batches of 2: two steps an epoch, the fifth image's partial batch dropped;
    # the identity-like encoder makes the head's input the pixels themselves
    images = torch.tensor([[0.1, 0.9], [0.8, 0.2], [0.5, 0.5], [0.3, 0.6], [0.7, 0.1]])
    images = images.reshape(5, 1, 1, 2)
    labels = torch.tensor([0, 1, 2, 0, 1])
    settings = HeadSettings(optimizer="sgd", lr=0.5, epochs=2, batch_size=2, crop=None,
                            normalise=False)
    head = train_linear_head(nn.Flatten(), 3, images, labels.numpy(), settings,
                             mean=0.0, std=1.0, seed=seed)
    # no momentum, as the reference
    expected = _reference_head(images, labels, torch.optim.SGD, 0.5, epochs=2, seed=seed)
    assert torch.allclose(head.weight, expected.weight, atol=1e-6)
    assert torch.allclose(head.bias, expected.bias, atol=1e-6)


@pytest.mark.parametrize("seed", [0, 5])
def test_an_adam_head_is_adam_at_the_configured_lr_over_the_seeds_batches(seed):
    images = torch.tensor([[0.1, 0.9], [0.8, 0.2], [0.5, 0.5], [0.3, 0.6]]).reshape(4, 1, 1, 2)
    labels = torch.tensor([0, 1, 2, 1])
    settings = HeadSettings(optimizer="adam", lr=0.05, epochs=3, batch_size=2, crop=None,
                            normalise=False)
    head = train_linear_head(nn.Flatten(), 3, images, labels.numpy(), settings,
                             mean=0.0, std=1.0, seed=seed)
    # betas 0.9, 0.999
    expected = _reference_head(images, labels, torch.optim.Adam, 0.05, epochs=3, seed=seed)
    torch.testing.assert_close(head.weight, expected.weight)
    torch.testing.assert_close(head.bias, expected.bias)
