"""Known answers for the paper probe's linear head (mutation audit of
mtneuro.tasks.region_head): trained exactly as plain SGD over the seed's shuffled full
batches, and its random crops reach every offset of both axes."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mtneuro.tasks.region_head import (
    HeadSettings,
    predict_with_head,
    random_crop,
    train_linear_head,
)


def test_random_crops_reach_every_offset_of_both_axes():
    # 3 x 5 tiles, 2 x 2 crops: tops 0-1 and lefts 0-3, read back from the crop's first pixel
    batch = torch.arange(15).reshape(1, 1, 3, 5)
    generator = torch.Generator().manual_seed(0)
    corners = {int(random_crop(batch, 2, generator)[0, 0, 0, 0]) for _ in range(200)}
    assert {(c // 5, c % 5) for c in corners} == {(t, s) for t in range(2) for s in range(4)}


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
    torch.manual_seed(seed)
    expected = nn.Linear(2, 3)
    step = torch.optim.SGD(expected.parameters(), lr=0.5)  # no momentum, as the reference
    generator = torch.Generator().manual_seed(seed)
    for _ in range(2):
        order = torch.randperm(5, generator=generator)
        for index in (order[:2], order[2:4]):
            loss = F.cross_entropy(expected(images[index].flatten(1)), labels[index])
            step.zero_grad()
            loss.backward()
            step.step()
    assert torch.allclose(head.weight, expected.weight, atol=1e-6)
    assert torch.allclose(head.bias, expected.bias, atol=1e-6)


@pytest.mark.parametrize("training", [True, False])
def test_the_head_hands_the_encoder_back_in_the_mode_it_was_given(training):
    # the encoder runs in eval mode (its frozen features) inside both calls; the caller's
    # mode is theirs to keep, as extract_features keeps it
    modes: list[bool] = []

    class Recorder(nn.Flatten):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            modes.append(self.training)
            return super().forward(x)

    encoder = Recorder().train(training)
    images = torch.rand(4, 1, 1, 2)
    settings = HeadSettings(optimizer="sgd", lr=0.1, epochs=1, batch_size=2, crop=None,
                            normalise=False)
    head = train_linear_head(encoder, 2, images, [0, 1, 0, 1], settings, mean=0.0, std=1.0,
                             seed=0)
    assert encoder.training is training
    predict_with_head(encoder, head, images, settings, mean=0.0, std=1.0)
    assert encoder.training is training
    assert modes == [False] * len(modes) and len(modes) == 1 + 2 + 1
