"""Standard computer-vision image sets as in-memory tensors.

MYOW's claim covers ordinary vision datasets, so the SSL engine can also train
on them:

* ``digits``: scikit-learn's bundled 8x8 handwritten digits (1,797 real images,
  offline, 1 channel, 10 classes);
* ``cifar10`` / ``cifar100``: torchvision's CIFAR (32x32 RGB) under ``root``,
  downloaded only when ``download=True``;
* ``folder``: any ``ImageFolder`` tree (``root/<class>/<image>``, or
  ``root/train/...`` and ``root/test/...``), resized to ``image_size``.

Every loader returns an :class:`ImageSet`: uint8 images (N, C, H, W) and int64
labels (N,), so training and evaluation can batch on the device without a
per-sample Python loop.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mtneuro.errors import ConfigError, DataError
from mtneuro.registry import check_choice
from mtneuro.vocab import VISION_SOURCES

SPLITS = ("train", "test", "all")
#: Fraction held out as the test split when a set has no official split (digits, flat folders).
TEST_FRACTION = 0.3
#: Seed of the fixed train/test split: part of the dataset definition, not of a run.
SPLIT_SEED = 0


@dataclass(frozen=True)
class ImageSet:
    """Images and labels of one split.

    Attributes:
        images: uint8 tensor (N, C, H, W), intensities 0-255.
        labels: int64 tensor (N,), class indices.
        classes: class names, indexed by label.
        name: source name and split, e.g. ``"digits/train"``.
    """

    images: torch.Tensor
    labels: torch.Tensor
    classes: tuple[str, ...]
    name: str

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def channels(self) -> int:
        return int(self.images.shape[1])

    def float_images(self) -> torch.Tensor:
        """Images as float32 in [0, 1], shape (N, C, H, W)."""
        return self.images.float().div_(255.0)


#: Folder images are resized to a square of this many pixels (beyond it one image set
#: would not fit in memory: 20 images of 100,000 px take ~30 GB).
MIN_IMAGE_SIZE, MAX_IMAGE_SIZE = 8, 1024


def load_vision(
    name: str,
    split: str = "train",
    *,
    root: str | Path | None = None,
    download: bool = False,
    image_size: int = 64,
    channels: int | None = None,
) -> ImageSet:
    """Load split ``split`` of vision source ``name``.

    Args:
        name: one of :data:`VISION_SOURCES`.
        split: ``"train"``, ``"test"`` or ``"all"``.
        root: directory of CIFAR files or of the image folder (defaults to
            ``$MTNEURO_DATA/<name>`` for CIFAR).
        download: fetch CIFAR from the internet if it is not under ``root``.
        image_size: side length folders are resized to (CIFAR and digits keep theirs).
        channels: force 1 (grayscale) or 3 (RGB) channels for folders.

    Raises:
        ConfigError: unknown name or split.
        DataError: files missing (the message says how to get them).
    """
    check_choice("vision source", name, VISION_SOURCES)
    check_choice("split", split, SPLITS)
    if name == "volume":  # tiles of one file, no splits nor classes
        raise ConfigError("source volume: read it with mtneuro.data.volume_file.volume_tiles")
    if name == "digits":
        return _digits(split)
    if name in ("cifar10", "cifar100"):
        return _cifar(name, split, root, download)
    if root is None:
        raise ConfigError("folder: a root directory is required: root=DIR "
                          "(--source-param root=DIR)")
    return _folder(Path(root), split, image_size, channels)


def _split_indices(labels: np.ndarray, split: str, classes: tuple[str, ...] = (),
                   where: str = "") -> np.ndarray:
    """Fixed split of a set that has no official one: stratified, so each class keeps its
    share in both parts, where each class can be in both; else at random, with a warning
    naming the class (pre-training reads no label: refusing would stop it over the probe's
    test split). ``classes`` name the labels and ``where`` the set in messages.

    Raises:
        DataError: fewer than 2 images (no train and test part).
    """
    if split == "all":
        return np.arange(len(labels))
    from sklearn.model_selection import train_test_split

    total = len(labels)
    if total < 2:
        raise DataError(f"{where}: holds {total} image; without train/ and test/ sub-folders it "
                        f"is split {1 - TEST_FRACTION:.0%} / {TEST_FRACTION:.0%} into train and "
                        "test, which needs at least 2 images")
    reason = _unstratified_reason(labels, classes)
    if reason:
        warnings.warn(f"{where}: {reason}; its train / test split is drawn at random instead of "
                      "per class, so a class may be missing from one of them", UserWarning,
                      stacklevel=3)
    train, test = train_test_split(np.arange(total), test_size=TEST_FRACTION,
                                   stratify=None if reason else labels, random_state=SPLIT_SEED)
    return np.sort(train if split == "train" else test)


def _unstratified_reason(labels: np.ndarray, classes: tuple[str, ...]) -> str:
    """Why a stratified split of ``labels`` cannot be made (scikit-learn's conditions), or
    ``""``: a class of one image, or fewer images in a part than classes."""
    names, counts = np.unique(labels, return_counts=True)
    single = [classes[i] if i < len(classes) else str(i) for i in names[counts < 2]]
    if single:
        which = (f"class {single[0]!r} has" if len(single) == 1 else
                 f"classes {', '.join(map(repr, single[:3]))}{' ...' * (len(single) > 3)} have")
        return f"{which} 1 image (a split per class needs at least 2 in each class)"
    test = math.ceil(TEST_FRACTION * len(labels))
    smaller = min(test, len(labels) - test)
    if smaller < len(names):
        return (f"its {len(labels)} images give a part of {smaller}, fewer than its "
                f"{len(names)} classes (a split per class needs one of each in both parts)")
    return ""


def _digits(split: str) -> ImageSet:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    # Pixel values are counts 0..16 of a 4x4 block; rescale to the uint8 range.
    images = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)[:, None]
    labels = bunch.target.astype(np.int64)
    keep = _split_indices(labels, split)
    return ImageSet(
        torch.from_numpy(images[keep]),
        torch.from_numpy(labels[keep]),
        tuple(str(c) for c in bunch.target_names),
        f"digits/{split}",
    )


def _cifar(name: str, split: str, root: str | Path | None, download: bool) -> ImageSet:
    from torchvision import datasets

    if root is None:
        base = os.environ.get("MTNEURO_DATA")
        if not base:
            raise ConfigError(
                f"{name}: no root given; pass root=DIR (--source-param root=DIR) or set "
                "MTNEURO_DATA"
            )
        root = Path(base) / name
    cls = datasets.CIFAR10 if name == "cifar10" else datasets.CIFAR100
    parts = ("train", "test") if split == "all" else (split,)
    loaded = []
    for part in parts:
        try:
            loaded.append(cls(str(root), train=part == "train", download=download))
        except RuntimeError:
            raise DataError(
                f"{name} not found under {root}; rerun with download=True (--download; needs "
                "internet) or place the extracted python batches there"
            ) from None
    images = np.concatenate([d.data for d in loaded])  # (N, 32, 32, 3) uint8
    labels = np.concatenate([np.asarray(d.targets, dtype=np.int64) for d in loaded])
    return ImageSet(
        torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(),
        torch.from_numpy(labels),
        tuple(loaded[0].classes),
        f"{name}/{split}",
    )


#: PIL modes of 8-bit images, which convert to "L" / "RGB" without losing range
_EIGHT_BIT_MODES = ("1", "L", "LA", "P", "PA", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "La")


def _check_eight_bit(img: Any, path: Path) -> None:
    """One 8-bit image per file: PIL's conversion would clip 16-bit values at 255, turn
    floats in [0, 1] to black and read only a stack's first page, all silently.

    Raises:
        DataError: a stack of pages or an image of more than 8 bits, naming the file.
    """
    pages = getattr(img, "n_frames", 1)
    if pages > 1:
        raise DataError(f"{path} holds {pages} pages (an image stack); the folder source reads "
                        "one 2D image per file: save each page as its own file")
    if img.mode not in _EIGHT_BIT_MODES:
        raise DataError(f"{path} is a {img.mode} image (more than 8 bits a pixel); the folder "
                        "source reads 8-bit images: convert them with the intensity window "
                        "your data needs (no one scaling fits every 16-bit or float image)")


def _folder(root: Path, split: str, image_size: int, channels: int | None) -> ImageSet:
    from PIL import Image
    from torchvision.datasets import ImageFolder
    from torchvision.datasets.folder import find_classes

    if root.is_file():
        raise DataError(f"image folder {root} is a file, not a folder of class sub-folders "
                        "(root/<class>/<image>)")
    if not root.is_dir():
        raise DataError(f"image folder not found: {root}")
    if channels not in (None, 1, 3):
        raise ConfigError(f"channels: expected 1 or 3, got {channels!r}")
    if not isinstance(image_size, int) or not MIN_IMAGE_SIZE <= image_size <= MAX_IMAGE_SIZE:
        raise ConfigError(f"image_size: expected an integer in [{MIN_IMAGE_SIZE}, "
                          f"{MAX_IMAGE_SIZE}] pixels, got {image_size!r}")
    has_splits = (root / "train").is_dir() and (root / "test").is_dir()
    parts = [root / p for p in (("train", "test") if split == "all" else (split,))]
    try:
        folders = [ImageFolder(str(p)) for p in parts] if has_splits else [ImageFolder(str(root))]
    except FileNotFoundError as err:  # no class folder, or class folders without images
        raise DataError(f"image folder {root}: {err}; expected one sub-folder of images per "
                        "class (or train/ and test/ holding such sub-folders)") from None
    # One class list for every split: each ImageFolder numbers only its own class folders,
    # so a test/ without one of train/'s classes would shift the labels after it.
    classes = sorted({c for p in (("train", "test") if has_splits else ()) for c in
                      find_classes(str(root / p))[0]} or folders[0].classes)
    index = {name: i for i, name in enumerate(classes)}
    mode = {1: "L", 3: "RGB", None: "RGB"}[channels]
    images, labels = [], []
    for folder in folders:
        for path, label in folder.samples:
            label = index[folder.classes[label]]
            try:
                with Image.open(path) as img:
                    _check_eight_bit(img, path)
                    img = img.convert(mode).resize((image_size, image_size), Image.BILINEAR)
            except OSError as err:  # PIL.UnidentifiedImageError is one
                raise DataError(f"image folder {root}: cannot read {path} ({err})") from None
            images.append(np.asarray(img, dtype=np.uint8).reshape(image_size, image_size, -1))
            labels.append(label)
    if not images:
        raise DataError(f"no images found under {root}")
    array = np.stack(images).transpose(0, 3, 1, 2)
    label_array = np.asarray(labels, dtype=np.int64)
    if not has_splits:
        keep = _split_indices(label_array, split, tuple(classes), f"image folder {root}")
        array, label_array = array[keep], label_array[keep]
    return ImageSet(
        torch.from_numpy(np.ascontiguousarray(array)),
        torch.from_numpy(label_array),
        tuple(classes),
        f"folder:{root.name}/{split}",
    )
