"""Tiles/s reading random 256 x 256 tiles from a filled cache vs from memory.

Baseline: the same volume held in a numpy array, read through the same
``VolumeSource.read_channel`` interface (so both pay the same range checks); bare
numpy slicing is shown for reference. Candidate: a ``cache`` source over a filled
on-disk store, opened fresh (nothing decoded yet), so its first pass includes
reading, checksumming (SHA-256) and decoding every chunk it touches; the second
pass re-reads the same positions from verified chunks held in memory.

Timing is paired (by default in CPU time of this process): the readers take
turns on batches of tiles, so load from other processes on a shared machine hits
them alike; each round uses a fresh cache and the median over rounds is printed.
Peak memory is measured in a separate pass with tracemalloc (it would distort
the timings), plus the process's max RSS.

Run: ``.venv/bin/python benchmarks/data_throughput.py [--tiles 2000] [--chunk-shape 16,512,512]``
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mtneuro.data.sources import open_source
from mtneuro.data.sources.cache import DEFAULT_CHUNK_SHAPE

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))
from array_source import ArraySource  # noqa: E402  (test-only source, kept out of the library)

TILE = 256
Reader = Callable[[int, int, int], np.ndarray]


def tile_positions(shape: tuple[int, int, int], n: int, seed: int) -> np.ndarray:
    """``(n, 3)`` random (z, y, x) corners of 1 x 256 x 256 tiles inside ``shape``."""
    rng = np.random.default_rng(seed)
    return np.stack(
        [
            rng.integers(0, shape[0], n),
            rng.integers(0, shape[1] - TILE + 1, n),
            rng.integers(0, shape[2] - TILE + 1, n),
        ],
        axis=1,
    )


def paired_rates(
    readers: dict[str, Reader], positions: np.ndarray, clock: Callable[[], float], batch: int = 25
) -> dict[str, float]:
    """Tiles/s of each reader over all ``positions``, taking turns batch by batch."""
    seconds = dict.fromkeys(readers, 0.0)
    items = positions.tolist()
    for start in range(0, len(items), batch):
        chunk = items[start : start + batch]
        for name, read in readers.items():
            began = clock()
            for z, y, x in chunk:
                read(z, y, x)
            seconds[name] += clock() - began
    return {name: len(items) / s for name, s in seconds.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", default="64,1024,1024", help="volume Z,Y,X (uint8)")
    parser.add_argument("--tiles", type=int, default=2000)
    parser.add_argument("--chunk-shape", default=",".join(map(str, DEFAULT_CHUNK_SHAPE)))
    parser.add_argument(
        "--memory-mb", type=float, default=256.0, help="decoded-chunk budget of the cache"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds, each with a fresh cache; median shown"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--clock",
        choices=("cpu", "wall"),
        default="cpu",
        help="cpu: this process's CPU time (robust on a shared machine); wall: elapsed time",
    )
    args = parser.parse_args(argv)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    shape = tuple(int(v) for v in args.shape.split(","))
    chunks = tuple(int(v) for v in args.chunk_shape.split(","))

    rng = np.random.default_rng(args.seed)
    # X-ray-like: mid-gray noise (barely compressible: the worst case for the cache), darker rows.
    image = rng.integers(64, 192, shape, dtype=np.uint8)
    image[:, ::7] //= 2
    memory_source = ArraySource({"image": image})
    positions = tile_positions(shape, args.tiles, args.seed)

    print(
        f"device cpu | dtype uint8 | seed {args.seed} | volume {shape} "
        f"| tiles {args.tiles} x 1x{TILE}x{TILE} | chunks {chunks} "
        f"| memory budget {args.memory_mb:.0f} MB | median of {args.rounds} rounds "
        f"| {args.clock} clock | python {sys.version.split()[0]}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "cache"
        start = time.perf_counter()
        open_source("cache", root=root, upstream=memory_source, chunk_shape=chunks).fill()
        fill_s = time.perf_counter() - start
        disk_mb = sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / 2**20
        print(
            f"fill from memory: {image.nbytes / 2**20:.0f} MB in {fill_s:.2f} s "
            f"({image.nbytes / 2**20 / fill_s:.0f} MB/s), {disk_mb:.0f} MB on disk"
        )

        def bare(z: int, y: int, x: int) -> np.ndarray:
            return image[z : z + 1, y : y + TILE, x : x + TILE].copy()

        def via_array(z: int, y: int, x: int) -> np.ndarray:
            return memory_source.read_channel("image", (z, z + 1), (y, y + TILE), (x, x + TILE))

        rounds = []
        for _ in range(args.rounds):
            cache = open_source("cache", root=root, memory_mb=args.memory_mb)  # nothing decoded yet

            def via_cache(z: int, y: int, x: int, cache=cache) -> np.ndarray:
                return cache.read_channel("image", (z, z + 1), (y, y + TILE), (x, x + TILE))

            cold = paired_rates(
                {"numpy": bare, "array": via_array, "cache": via_cache}, positions, clock
            )
            warm = paired_rates(
                {"numpy": bare, "array": via_array, "cache": via_cache}, positions, clock
            )
            rounds.append(
                {
                    "numpy": warm["numpy"],
                    "array": warm["array"],
                    "cold": cold["cache"],
                    "warm": warm["cache"],
                    "cold/array": cold["cache"] / cold["array"],
                    "warm/array": warm["cache"] / warm["array"],
                    "warm/numpy": warm["cache"] / warm["numpy"],
                }
            )
        med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
        for name, key in [
            ("numpy slicing (reference)", "numpy"),
            ("in-memory array source (baseline)", "array"),
            ("cache, cold (first pass)", "cold"),
            ("cache, warm (second pass)", "warm"),
        ]:
            print(f"{name:36s} {med[key]:10.0f} tiles/s")
        print(
            f"ratio cache/baseline: warm {med['warm/array']:.2f} (goal >= 0.5), "
            f"cold {med['cold/array']:.2f}; cache/numpy slicing: warm {med['warm/numpy']:.2f}"
        )

        fresh = open_source("cache", root=root, memory_mb=args.memory_mb)
        tracemalloc.start()
        for z, y, x in positions.tolist():
            fresh.read_channel("image", (z, z + 1), (y, y + TILE), (x, x + TILE))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"peak memory of a cache pass (tracemalloc): {peak / 2**20:.1f} MB; process max RSS "
            f"(incl. the {image.nbytes / 2**20:.0f} MB in-memory volume): {rss_mb:.0f} MB"
        )


if __name__ == "__main__":
    main()
