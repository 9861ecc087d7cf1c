"""Task-2 overlays name the slice each row shows, as its z in the volume, so a reader can find
it: the middle slice of a 3D block (and the block's slices), the slice of a 2D tile. The z
comes with the run's examples (the test tiles' ``z``); it is checked here against the pixels
of an analytic volume, whose value at (z, y, x) is (z + y + x) mod 256."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from grid_source import GridSource
from scale_net import ScaleNet

from mtneuro.data.spec import SUBVOLUME_A
from mtneuro.report.plots_segmentation import plot_overlays, plot_region_overlays
from mtneuro.report.task_figures import task2_figures

CLASSES = ["background", "vessel", "cell", "axon"]
TINY: dict[str, Any] = {"train_z_step": 100, "window": 256, "eval_batch_size": 8,
                        "examples_per_region": 2,
                        "train": {"epochs": 1, "crop": 32, "batch_size": 2, "steps_per_epoch": 1}}


def _row_z(fig: Any) -> list[int]:
    """The z each row of an overlay figure says it shows (its first panel's label)."""
    labels = [ax.get_ylabel() for ax in fig.axes[::3]]
    found = [re.match(r"z=(\d+)", label) for label in labels]
    assert all(found), f"a row does not name its slice: {labels}"
    return [int(m.group(1)) for m in found]


def _pixel_z(fig: Any) -> list[int]:
    """The z of the slice each row of the figure draws, read from its pixels: the value at the
    region's box corner is (z + y0 + x0) mod 256, and the test range [420, 470) is in [256, 512)."""
    title = fig._suptitle.get_text()
    (box,) = [box for name, box in SUBVOLUME_A.items() if f"{name}: image" in title]
    zs = []
    for ax in fig.axes[::3]:
        value = round(float(np.asarray(ax.images[0].get_array())[0, 0, 0]) * 255)
        zs.append(256 + (value - box.y[0] - box.x[0]) % 256)
    return zs


@pytest.mark.parametrize(("dim", "test_z_step"), [("2d", 10), ("3d", 1)])
def test_a_task2_overlay_row_names_the_z_of_the_slice_it_shows(
        monkeypatch: pytest.MonkeyPatch, captured: list, tmp_path, dim, test_z_step) -> None:
    pytest.importorskip("monai", reason="needs mtneuro[seg]")
    from mtneuro.tasks.segmentation import run as run_module
    from mtneuro.tasks.segmentation.config import task2_config

    monkeypatch.setattr(run_module, "create_segmentation_model",
                        lambda name, classes, dim, **kw: ScaleNet(classes))
    monkeypatch.setattr(run_module, "train_segmentation", lambda *a, **kw: {"steps": 0})
    monkeypatch.setattr(run_module, "open_source", lambda name, **kw: GridSource())
    model = "unet" if dim == "2d" else "unet3d"
    config = task2_config(None, classes=4, model=model, test_z_step=test_z_step, **TINY)
    result = run_module.run(config)
    examples = result.artefacts["examples"]
    assert examples["z"].dtype == np.int64 and len(examples["z"]) == len(examples["region"])
    task2_figures(result, tmp_path)
    assert len(captured) == 3  # cortex, striatum, thalamus
    for fig in captured:
        assert _row_z(fig) == _pixel_z(fig)
    # the first and the last test tile of a region: 2D slices 420 and 460; 3D the middle
    # slices of the first block and of the last block whose middle slice it scores (460-467:
    # the block aligned to the range end, 462-469, scores only 468 and 469)
    assert _row_z(captured[0]) == ([420, 460] if dim == "2d" else [424, 464])
    if dim == "3d":
        assert captured[0].axes[3].get_ylabel() == "z=464\n(block z=460-467)"
        assert captured[0]._suptitle.get_text().endswith(
            "slice 5 of 8 shown (its z beside each row)")


def test_examples_with_their_z_label_each_row_of_their_region(captured: list, tmp_path) -> None:
    examples = {"image": np.zeros((3, 4, 4), np.uint8), "truth": np.zeros((3, 4, 4), np.int64),
                "prediction": np.zeros((3, 4, 4), np.int64), "region": np.array([1, 0, 1]),
                "region_names": ["cortex", "striatum"], "class_names": CLASSES,
                "z": np.array([430, 425, 445])}
    plot_region_overlays(examples, tmp_path)
    assert [_row_z(fig) for fig in captured] == [[425], [430, 445]]


def test_a_3d_overlay_with_z_names_the_middle_slice_and_the_block(captured: list,
                                                                    tmp_path) -> None:
    blocks = np.zeros((2, 4, 2, 2), dtype=np.uint8)
    labels = np.zeros((2, 4, 2, 2), dtype=np.int64)
    plot_overlays(blocks, labels, labels, CLASSES, tmp_path / "o.png", z=[100, 300])
    assert [ax.get_ylabel() for ax in captured[0].axes[::3]] == [
        "z=102\n(block z=100-103)", "z=302\n(block z=300-303)"]
    with pytest.raises(ValueError, match=r"z: expected one slice index per tile \(2\), got 1"):
        plot_overlays(blocks, labels, labels, CLASSES, tmp_path / "o.png", z=[100])
