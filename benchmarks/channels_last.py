"""NCHW (baseline) vs NHWC (channels-last, the default where it pays), same run.

Workloads: training the task-1 supervised classifier
(:func:`mtneuro.tasks.supervised.train_classifier`, random tiles) and task-2 models
(:func:`mtneuro.tasks.segmentation.train.train_segmentation`, random crops and masks), and
the frozen feature extraction of every probe (:func:`mtneuro.tasks.features.extract_features`
of ``--tiles`` random tiles, each ``--feature-backbones`` encoder). Each row runs once per memory
format from the same weights and inputs: one untimed run of each, then the formats alternate
``--repeat`` times (best kept) so that load from other work hits both alike. Prints both
times, the ratio and a check value of both runs (training: the last loss; features: the mean
feature), which agree to float rounding, not bit for bit.

    python benchmarks/channels_last.py [--workloads supervised segmentation features]
        [--models unet fpn pspnet] [--feature-backbones resnet-tiny resnet18] [--size 64]
        [--repeat 2]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import torch

from mtneuro.acceleration import channels_last_pays
from mtneuro.models import create_encoder
from mtneuro.models.segmentation import create_segmentation_model
from mtneuro.tasks.features import extract_features
from mtneuro.tasks.segmentation.batches import CropBatches
from mtneuro.tasks.segmentation.config import TrainSettings
from mtneuro.tasks.segmentation.train import train_segmentation
from mtneuro.tasks.supervised import Classifier, SupervisedSettings, train_classifier


def supervised_run(args: argparse.Namespace) -> tuple[Callable[[bool], float], torch.nn.Module]:
    rng = np.random.default_rng(0)
    x = torch.as_tensor(rng.integers(0, 256, (args.tiles, 1, args.size, args.size),
                                     dtype=np.uint8))
    y = rng.integers(0, 4, args.tiles)

    def run(channels_last: bool) -> float:
        settings = SupervisedSettings(epochs=args.epochs, batch_size=32, recalibrate_bn=False,
                                      channels_last=channels_last)
        torch.manual_seed(0)
        encoder = create_encoder(args.backbone, in_channels=1, spatial_dims=2)
        return train_classifier(encoder, 4, (x, y), (x[:64], y[:64]), settings,
                                seed=0)[1]["loss"][-1]

    return run, Classifier(create_encoder(args.backbone, in_channels=1, spatial_dims=2), 4)


def segmentation_run(name: str, args: argparse.Namespace
                     ) -> tuple[Callable[[bool], float], torch.nn.Module]:
    rng = np.random.default_rng(0)
    masks = rng.integers(0, 4, (args.tiles // 8, args.size * 2, args.size * 2))
    images = (masks * 60 + rng.integers(0, 20, masks.shape)).astype(np.uint8)[:, None]

    def run(channels_last: bool) -> float:
        torch.manual_seed(0)
        model = create_segmentation_model(name, 4, "2d")
        batches = CropBatches(images, masks, batch_size=8, crop=args.size)
        settings = TrainSettings(epochs=args.epochs, crop=args.size, channels_last=channels_last)
        return train_segmentation(model, batches, settings, n_classes=4,
                                  quiet=True)["loss_per_epoch"][-1]

    return run, create_segmentation_model(name, 4, "2d")


def features_run(backbone: str, args: argparse.Namespace
                 ) -> tuple[Callable[[bool], float], torch.nn.Module]:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (args.tiles, 1, args.size, args.size), dtype=np.uint8)
    torch.manual_seed(0)
    encoder = create_encoder(backbone, in_channels=1, spatial_dims=2)

    def run(channels_last: bool) -> float:
        return float(extract_features(encoder, x, channels_last=channels_last).mean())

    return run, encoder


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="+",
                        default=["supervised", "segmentation", "features"],
                        choices=["supervised", "segmentation", "features"])
    parser.add_argument("--backbone", default="resnet-tiny", help="supervised encoder")
    parser.add_argument("--models", nargs="+", default=["unet", "fpn", "pspnet"],
                        help="task-2 models")
    parser.add_argument("--feature-backbones", nargs="+", default=["resnet-tiny", "resnet18"],
                        help="encoders of the feature-extraction rows")
    parser.add_argument("--size", type=int, default=64, help="tile / crop side in pixels")
    parser.add_argument("--tiles", type=int, default=256, help="tiles per epoch / to encode")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2, help="runs per format; best kept")
    args = parser.parse_args(argv)
    print(f"device cpu, float32, seed 0, torch threads {torch.get_num_threads()}, "
          f"{args.size} px, {args.epochs} epochs, best of {args.repeat}")
    rows = []
    if "supervised" in args.workloads:
        rows.append((f"supervised {args.backbone}", *supervised_run(args)))
    if "segmentation" in args.workloads:
        rows += [(f"task 2 {name}", *segmentation_run(name, args))
                 for name in args.models]
    if "features" in args.workloads:
        rows += [(f"features {name} (frozen, no_grad)", *features_run(name, args))
                 for name in args.feature_backbones]
    print("| workload | NHWC by default | NCHW s | NHWC s | NHWC / NCHW speed | check NCHW "
          "/ NHWC |\n|---|---|---:|---:|---:|---|")
    for label, run, model in rows:
        best, losses = {False: np.inf, True: np.inf}, {}
        for attempt in range(args.repeat + 1):  # the first, untimed, builds oneDNN's kernels
            for channels_last in (False, True):
                start = time.perf_counter()
                losses[channels_last] = run(channels_last)
                if attempt:
                    best[channels_last] = min(best[channels_last], time.perf_counter() - start)
        pays = channels_last_pays(model, torch.device("cpu"), None)
        print(f"| {label} | {pays} | {best[False]:.2f} | {best[True]:.2f} | "
              f"{best[False] / best[True]:.2f}x | {losses[False]:.5f} / {losses[True]:.5f} |")


if __name__ == "__main__":
    main()
