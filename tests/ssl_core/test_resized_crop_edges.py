"""Edges of RandomResizedCrop's boxes, against torchvision's ``RandomResizedCrop.get_params``.

The offset of a box is uniform over every position that keeps it inside the image, both
ends included (torchvision draws ``randint(0, H - h + 1)``); when no draw fits, the box is
torchvision's deterministic fallback: the whole image narrowed to the nearest allowed
aspect, centred.
"""

from __future__ import annotations

from collections import Counter

import pytest
import torch
from torchvision import transforms

from mtneuro.ssl.augment import RandomResizedCrop


def _boxes(n: int, height: int, width: int, scale, ratio, seed: int = 0) -> torch.Tensor:
    crop = RandomResizedCrop(8, scale=scale, ratio=ratio)
    g = torch.Generator().manual_seed(seed)
    return crop.sample_boxes(n, height, width, torch.ones(n, dtype=torch.bool), g)


def _torchvision_boxes(n: int, height: int, width: int, scale, ratio) -> torch.Tensor:
    image = torch.zeros(1, height, width)
    with torch.random.fork_rng(devices=[]):  # get_params draws from the global RNG
        torch.manual_seed(0)
        rows = [transforms.RandomResizedCrop.get_params(image, list(scale), list(ratio))
                for _ in range(n)]
    return torch.tensor(rows)


def test_offsets_reach_both_ends_of_their_range():
    # a 10 x 20 image, boxes of exactly 9 x 18 (area 0.81, aspect 2): tops 0..1, lefts 0..2
    height, width, scale, ratio, n = 10, 20, (0.81, 0.81), (2.0, 2.0), 3000
    ours = _boxes(n, height, width, scale, ratio)
    assert (ours[:, 2] == 9).all() and (ours[:, 3] == 18).all()
    ref = _torchvision_boxes(n, height, width, scale, ratio)
    assert (ref[:, 2:] == ours[:, 2:]).all()  # the same box sides in torchvision
    for column, span in ((0, height - 9 + 1), (1, width - 18 + 1)):
        counts = Counter(ours[:, column].tolist())
        assert set(counts) == set(ref[:, column].tolist()) == set(range(span))
        for offset in range(span):  # uniform over the positions, as torchvision's randint
            assert counts[offset] / n == pytest.approx(1 / span, abs=0.05)


@pytest.mark.parametrize("height,width,scale,ratio", [
    (100, 10, (0.9, 1.0), (3 / 4, 4 / 3)),  # tall: narrowed in height to the widest aspect
    (10, 100, (0.9, 1.0), (3 / 4, 4 / 3)),  # wide: narrowed in width
    (10, 10, (0.9, 1.0), (2.0, 3.0)),       # square, but only wide aspects allowed
    (10, 10, (2.0, 3.0), (3 / 4, 4 / 3)),   # boxes larger than the image: the whole image
])
def test_when_no_draw_fits_the_box_is_torchvisions_centred_fallback(height, width, scale, ratio):
    ours = _boxes(64, height, width, scale, ratio)
    ref = _torchvision_boxes(64, height, width, scale, ratio)
    # no box fits in 10 draws, so torchvision's fallback is one box, whatever it drew
    assert (ref == ref[0]).all()
    assert (ours == ref[0]).all(), f"ours {ours[0].tolist()}, torchvision {ref[0].tolist()}"
