"""Task-3 semantic features: vectorised vs straightforward per-crop, same process.

Builds a 1,440 x 256 x 256 label volume (5,760 crops of 128 x 128) from the real
human annotations in ``../shared/data/xray_masks`` (each 256 x 256 tile is four
128 x 128 masks; tile ``t`` of region ``r = t // 360`` uses masks of region ``r``),
in the BossDB convention, and times

* baseline: ``semantic_features_per_crop`` (``tests/tasks_semantic/semantic_oracle.py``) (one cc3d pass,
  then ``skimage.measure.regionprops`` and a KD-tree per crop, as the MTNeuro
  reference does);
* candidate: :func:`mtneuro.tasks.semantic.semantic_features`.

Counts, sizes and fractions must be identical and distances equal to 1e-9;
prints both times and the ratio. Timing: the baseline (~10 s) runs
``--baseline-repeats`` times (default 1), the candidate ``--repeats`` times
(default 5), after one untimed warm-up call of the candidate and with the baseline's
imports (scikit-image, scikit-learn) done, so neither time includes imports; the
ratio uses the *median* of each (min and max are printed too). Usage::

    python benchmarks/semantic_features.py [--data-root ../shared/data] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import sys

import numpy as np

from mtneuro.tasks.semantic import FEATURE_NAMES, semantic_features

# The per-crop oracle is test code (it needs scikit-image, the test extra).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "tasks_semantic"))
from semantic_oracle import semantic_features_per_crop  # noqa: E402

REGION_FILES = ("ctx", "str", "trn", "zi")
TILES, TILES_PER_REGION = 1440, 360
# xray_masks files: 0 background, 1 myelinated axon, 2 vessel, 3 cell body (see
# mtneuro.data.shared for the evidence); BossDB: 0 bg, 1 vessel, 2 cell, 3 axon.
FILE_TO_BOSSDB = np.array([0, 3, 1, 2], dtype=np.uint8)


def load_region_masks(root: Path) -> list[np.ndarray]:
    """(32, 128, 128) uint8 masks per region, BossDB convention."""
    try:
        from mtneuro.data.shared import load_masks  # the project loader, when present
    except ImportError:
        load_masks = None
    if load_masks is not None:
        return [np.asarray(load_masks(r, root), dtype=np.uint8) for r in REGION_FILES]
    return [
        FILE_TO_BOSSDB[np.load(root / "xray_masks" / f"masks_{r}.npz")["arr_0"]]
        for r in REGION_FILES
    ]


def build_volume(masks: list[np.ndarray]) -> np.ndarray:
    """(1440, 256, 256) uint8 labels; quadrant q of tile t is mask (t + 8 q) mod 32 of its region.

    Consecutive tiles use consecutive masks, so 3D components link some cells across
    tiles as in a real stack.
    """
    t = np.arange(TILES)
    q = np.arange(4)
    region = t // TILES_PER_REGION
    stacked = np.stack(masks)  # (4, 32, 128, 128)
    index = (t[:, None] + 8 * q[None, :]) % stacked.shape[1]
    quads = stacked[region[:, None], index]  # (1440, 4, 128, 128)
    return quads.reshape(TILES, 2, 2, 128, 128).transpose(0, 1, 3, 2, 4).reshape(TILES, 256, 256)


def run_times(fn, repeats: int) -> tuple[list[float], dict]:
    """Wall-clock seconds of ``repeats`` calls of ``fn`` and the last result."""
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return times, out


def summary(times: list[float]) -> str:
    return f"median of {len(times)}; min {min(times):.3f}, max {max(times):.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_root = Path(__file__).resolve().parents[2] / "shared" / "data"
    parser.add_argument(
        "--data-root", type=Path, default=Path(os.environ.get("MTNEURO_SHARED_DATA", default_root))
    )
    parser.add_argument("--repeats", type=int, default=5, help="candidate runs (median)")
    parser.add_argument("--baseline-repeats", type=int, default=1, help="baseline runs (median)")
    parser.add_argument("--connectivity", choices=("3d", "2d"), default="3d")
    args = parser.parse_args()

    labels = build_volume(load_region_masks(args.data_root))
    print(
        f"volume {labels.shape} uint8, {labels.shape[0] * 4} crops of 128x128, "
        f"connectivity {args.connectivity}; CPU {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores; float64; seed n/a (deterministic)"
    )
    import skimage.measure  # noqa: F401  (the baseline imports these lazily; not timed)
    import sklearn.neighbors  # noqa: F401

    semantic_features(labels, 128, args.connectivity)  # untimed warm-up
    base_t, base = run_times(
        lambda: semantic_features_per_crop(labels, 128, args.connectivity), args.baseline_repeats
    )
    cand_t, cand = run_times(
        lambda: semantic_features(labels, 128, args.connectivity), args.repeats
    )
    base_s, cand_s = float(np.median(base_t)), float(np.median(cand_t))

    for name in ("cell_count", "vessel_fraction", "axon_fraction", "cell_size"):
        if not np.array_equal(base[name], cand[name]):
            raise SystemExit(
                f"MISMATCH in {name}: max |diff| {np.abs(base[name] - cand[name]).max()}"
            )
    np.testing.assert_allclose(cand["nn_distance"], base["nn_distance"], rtol=0, atol=1e-9)
    print("identical counts, sizes, fractions; nn_distance equal to 1e-9")
    means = ", ".join(f"{k} {cand[k].mean():.2f}" for k in FEATURE_NAMES)
    print(f"feature means: {means}")
    print(f"baseline  per-crop regionprops + KD-tree: {base_s:8.3f} s ({summary(base_t)})")
    print(f"candidate vectorised semantic_features:   {cand_s:8.3f} s ({summary(cand_t)})")
    print(f"speed-up baseline/candidate (medians): {base_s / cand_s:.1f}x")
    if os.name == "posix":
        print(f"load average at end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
