"""Phantom tile reads when a preset skips slices: one request per run of kept blocks
(``cheap_requests``, the phantom's default) vs one request over the whole span (baseline,
what a source with costly requests gets), in the same process on the same source.

Both read the image and label channels of the training tiles of box A of every region,
as task 1 (``roi_labels``) and tasks 2 / 3 (``pixel_labels``) do, and must return equal
arrays. The phantom renders every slice it is asked for, so the span pays for the slices
between kept blocks; the ratio is span time / run time (higher is better for runs).

Run: ``.venv/bin/python benchmarks/tile_reads.py [--z-step 8 16] [--repeat 2]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from mtneuro.data.sources import open_source
from mtneuro.data.spec import REGIONS, SUBVOLUME_A, Z_SPLITS
from mtneuro.data.tiles import block_starts, read_block_channels


def timed_read(cheap: bool, channels: tuple[str, ...], z_step: int) -> tuple[float, list]:
    source = open_source("phantom", seed=0)  # fresh: nothing memoised from the other reader
    source.cheap_requests = cheap
    starts = block_starts(Z_SPLITS["train"], 1, z_step)
    start = time.perf_counter()
    reads = [read_block_channels(source, channels, SUBVOLUME_A[r], starts, 1) for r in REGIONS]
    return time.perf_counter() - start, reads


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--z-step", type=int, nargs="+", default=[8, 16])
    parser.add_argument("--repeat", type=int, default=2, help="runs per reader; best kept")
    args = parser.parse_args(argv)
    print("| z_step | channels | span s (baseline) | runs s | ratio |\n|---|---|---:|---:|---:|")
    for z_step in args.z_step:
        for channels in (("image", "roi_labels"), ("image", "pixel_labels")):
            best, baseline = {True: np.inf, False: np.inf}, []  # the span read comes first
            for _ in range(args.repeat):
                for cheap in (False, True):  # alternate, so load hits both alike
                    seconds, reads = timed_read(cheap, channels, z_step)
                    best[cheap] = min(best[cheap], seconds)
                    if cheap:
                        assert all(np.array_equal(a[c], b[c]) for a, b in zip(reads, baseline)
                                   for c in channels), "runs and span read different tiles"
                    else:
                        baseline = reads
            print(f"| {z_step} | {' + '.join(channels)} | {best[False]:.2f} | {best[True]:.2f} "
                  f"| {best[False] / best[True]:.1f}x |")


if __name__ == "__main__":
    main()
