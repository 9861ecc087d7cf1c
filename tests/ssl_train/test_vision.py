"""Vision image sets and the linear-probe / kNN evaluation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mtneuro.data.vision import load_vision
from mtneuro.errors import ConfigError, DataError
from mtneuro.tasks.vision_eval import knn_accuracy, linear_probe_accuracy, raw_pixel_probe


def test_digits_split_is_fixed_stratified_and_disjoint():
    train, test, every = (load_vision("digits", s) for s in ("train", "test", "all"))
    assert every.images.shape == (1797, 1, 8, 8) and every.images.dtype == torch.uint8
    assert len(train) + len(test) == 1797 and abs(len(test) / 1797 - 0.3) < 0.01
    assert int(every.images.max()) == 255 and every.classes == tuple("0123456789")
    rows = {bytes(x.numpy()) for x in train.images}
    assert sum(bytes(x.numpy()) in rows for x in test.images) < 5  # (a few digits are duplicates)
    counts = torch.bincount(test.labels, minlength=10).float()
    assert counts.min() / counts.max() > 0.9
    assert torch.equal(load_vision("digits", "train").labels, train.labels)


def test_missing_cifar_says_how_to_download(tmp_path):
    with pytest.raises(DataError, match="--download"):
        load_vision("cifar10", root=tmp_path)
    with pytest.raises(ConfigError, match="unknown vision source 'cifar1'"):
        load_vision("cifar1")


def test_image_folder_with_train_test_subfolders(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for name in ("cat", "dog"):
            (tmp_path / split / name).mkdir(parents=True)
            for i in range(3):
                pixels = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(tmp_path / split / name / f"{i}.png")
    data = load_vision("folder", "test", root=tmp_path, image_size=16)
    assert data.images.shape == (6, 3, 16, 16) and data.classes == ("cat", "dog")
    assert data.labels.tolist() == [0, 0, 0, 1, 1, 1]
    gray = load_vision("folder", "all", root=tmp_path, image_size=16, channels=1)
    assert gray.images.shape == (12, 1, 16, 16)


def test_a_class_missing_from_one_split_keeps_every_label_of_the_others(tmp_path):
    from PIL import Image

    for split, names in (("train", ("cat", "dog", "owl")), ("test", ("cat", "owl"))):
        for name in names:
            (tmp_path / split / name).mkdir(parents=True)
            Image.fromarray(np.zeros((9, 9), np.uint8)).save(tmp_path / split / name / "0.png")
    test = load_vision("folder", "test", root=tmp_path, image_size=8)
    assert test.classes == ("cat", "dog", "owl") and test.labels.tolist() == [0, 2]  # owl: 2
    assert load_vision("folder", "all", root=tmp_path, image_size=8).labels.tolist() == [
        0, 1, 2, 0, 2]


def test_bad_image_folders_and_sizes_are_named(tmp_path):
    from PIL import Image

    with pytest.raises(DataError, match="expected one sub-folder of images per class"):
        load_vision("folder", root=tmp_path)  # empty
    (tmp_path / "cat").mkdir()
    Image.fromarray(np.zeros((9, 9), np.uint8)).save(tmp_path / "cat" / "0.png")
    (tmp_path / "cat" / "1.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match=r"cannot read .*cat/1\.png"):
        load_vision("folder", root=tmp_path)
    for size in (0, -4, 100_000, 16.5):
        with pytest.raises(ConfigError, match=r"image_size: expected an integer in \[8, 1024\]"):
            load_vision("folder", root=tmp_path, image_size=size)


def test_knn_and_linear_probe_on_known_clusters():
    g = torch.Generator().manual_seed(0)
    centres = torch.eye(3) * 10
    labels = torch.arange(3).repeat_interleave(20)
    feats = centres[labels] + torch.randn(60, 3, generator=g)
    assert knn_accuracy(feats[::2], labels[::2], feats[1::2], labels[1::2], k=5) == 1.0
    probe = linear_probe_accuracy(feats[::2], labels[::2], feats[1::2], labels[1::2])
    assert probe["accuracy"] == 1.0
    # Labels unrelated to the features: the probe is at chance level, not better.
    shuffled = labels[torch.randperm(60, generator=g)]
    chance = linear_probe_accuracy(feats[::2], shuffled[::2], feats[1::2], shuffled[1::2], cs=(1.0,))
    assert chance["accuracy"] < 0.7


def test_knn_vote_is_weighted_by_similarity_on_a_hand_computed_case():
    # Test point 0 and 2 lie next to the one class-0 sample and farther from the two class-1
    # samples: a sharp vote (T 0.07) follows the nearest, a flat one (T 100) the majority.
    train_x = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.6, 0.8]])
    train_y = torch.tensor([0, 1, 1])
    test_x = torch.tensor([[1.0, 0.2], [0.0, 1.0], [1.0, 0.1]])
    test_y = torch.tensor([0, 1, 0])
    sharp = knn_accuracy(train_x, train_y, test_x, test_y, k=3, temperature=0.07)
    flat = knn_accuracy(train_x, train_y, test_x, test_y, k=3, temperature=100.0, chunk=1)
    assert (sharp, flat) == (1.0, pytest.approx(1 / 3))  # predictions 0 1 0, then 1 1 1
    assert knn_accuracy(train_x, train_y, test_x, test_y, k=50, temperature=100.0) == flat


def test_linear_probe_scores_the_test_split_not_the_training_one():
    g = torch.Generator().manual_seed(1)
    labels = torch.arange(3).repeat_interleave(20)
    feats = torch.eye(3)[labels] * 10 + torch.randn(60, 3, generator=g)
    wrong = (labels[1::2] + 1) % 3  # every test label names another cluster
    assert linear_probe_accuracy(feats[::2], labels[::2], feats[1::2], wrong)["accuracy"] == 0.0


def test_raw_pixel_probe_on_digits():
    result = raw_pixel_probe(load_vision("digits", "train"), load_vision("digits", "test"), cs=(0.1,))
    assert 0.93 < result["linear_accuracy"] <= 1.0
