"""Supervised region classifier: samples/s of training in NCHW (baseline) vs NHWC (default).

Trains :func:`mtneuro.tasks.supervised.train_classifier` on random tiles for a few epochs,
once per memory format, alternating the formats ``--repeat`` times (best kept) so that load
from other work hits both alike, and prints the ratio. The two runs start from the same
weights and batches; their final training losses are printed side by side (they agree to
float rounding, not bit for bit).

    python benchmarks/supervised_throughput.py [--backbone resnet-tiny] [--size 64]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from mtneuro.acceleration import channels_last_pays
from mtneuro.models import create_encoder
from mtneuro.tasks.supervised import Classifier, SupervisedSettings, train_classifier


def timed_training(channels_last: bool, args: argparse.Namespace) -> tuple[float, float]:
    """(seconds, last epoch's mean loss) of one training in the given memory format."""
    rng = np.random.default_rng(0)
    train_x = torch.as_tensor(rng.integers(0, 256, (args.tiles, 1, args.size, args.size),
                                           dtype=np.uint8))
    train_y = rng.integers(0, 4, args.tiles)
    val = (train_x[:64], train_y[:64])
    settings = SupervisedSettings(epochs=args.epochs, batch_size=args.batch, device=args.device,
                                  recalibrate_bn=False, channels_last=channels_last)
    torch.manual_seed(0)
    encoder = create_encoder(args.backbone, in_channels=1, spatial_dims=2)
    start = time.perf_counter()
    _, history = train_classifier(encoder, 4, (train_x, train_y), val, settings, seed=0)
    return time.perf_counter() - start, history["loss"][-1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="resnet-tiny")
    parser.add_argument("--size", type=int, default=64, help="tile side in pixels")
    parser.add_argument("--tiles", type=int, default=512)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2, help="runs per format; best kept")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    probe = Classifier(create_encoder(args.backbone, in_channels=1, spatial_dims=2), 4)
    pays = channels_last_pays(probe, torch.device(args.device), None)
    print(f"device {args.device}, float32, seed 0, torch threads {torch.get_num_threads()}, "
          f"{args.backbone} at {args.size} px, batch {args.batch}, {args.tiles} tiles x "
          f"{args.epochs} epochs; NHWC used by default here: {pays}")
    best = {False: np.inf, True: np.inf}
    losses = {}
    for _ in range(args.repeat):
        for channels_last in (False, True):
            seconds, losses[channels_last] = timed_training(channels_last, args)
            best[channels_last] = min(best[channels_last], seconds)
    samples = args.tiles * args.epochs
    print("| memory format | s | samples/s | last epoch loss |\n|---|---:|---:|---:|")
    for channels_last, name in ((False, "NCHW (baseline)"), (True, "NHWC (channels_last)")):
        print(f"| {name} | {best[channels_last]:.2f} | {samples / best[channels_last]:.1f} "
              f"| {losses[channels_last]:.6f} |")
    print(f"ratio NHWC / NCHW samples/s: {best[False] / best[True]:.2f}x")


if __name__ == "__main__":
    main()
