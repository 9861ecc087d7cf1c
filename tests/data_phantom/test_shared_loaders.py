"""Real shared-data loaders: masks (with their label mapping), the slice, checksums."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from mask_evidence import infer_mask_mapping, mask_label_evidence

from mtneuro.data.shared import (
    MASK_FILE_TO_INTERNAL,
    MASK_REGIONS,
    SLICE_FILE,
    load_masks,
    load_masks_raw,
    load_slice,
    mask_file,
)
from mtneuro.data.spec import AXON, CELL, VESSEL
from mtneuro.errors import ChecksumError, ConfigError, DataError


@pytest.fixture(scope="module")
def raw_masks(shared_data):
    return {region: load_masks_raw(region, shared_data) for region in MASK_REGIONS}


def test_masks_load_in_internal_convention(shared_data, raw_masks):
    masks = load_masks("str", shared_data)
    assert masks.shape == (32, 128, 128)
    assert set(np.unique(masks)) <= {0, 1, 2, 3}
    # the mapping is a relabelling: counts move between labels, none are lost
    raw_counts = np.bincount(raw_masks["str"].ravel(), minlength=4)
    assert (
        np.bincount(masks.ravel(), minlength=4)[MASK_FILE_TO_INTERNAL].tolist()
        == raw_counts.tolist()
    )


def test_mask_mapping_follows_from_the_data(raw_masks):
    assert infer_mask_mapping(raw_masks).tolist() == MASK_FILE_TO_INTERNAL.tolist() == [0, 3, 1, 2]


def test_mask_mapping_evidence_numbers(raw_masks):
    ev = {region: mask_label_evidence(m) for region, m in raw_masks.items()}
    axon, vessel, cell = (
        int(np.flatnonzero(MASK_FILE_TO_INTERNAL == k)[0]) for k in (AXON, VESSEL, CELL)
    )
    # axons: only in the fibre-rich regions, in large blobs
    assert ev["ctx"][axon]["fraction"] == 0 and ev["zi"][axon]["fraction"] == 0
    assert ev["str"][axon]["fraction"] > 0.15 and ev["trn"][axon]["fraction"] > 0.5
    assert min(ev[r][axon]["mean_area"] for r in ("str", "trn")) > 500
    for region in MASK_REGIONS:
        # cells: rounder and larger on average than vessels, but without the vessels' size tail
        assert ev[region][cell]["elongation"] < ev[region][vessel]["elongation"] - 0.1
        assert ev[region][cell]["mean_area"] > ev[region][vessel]["mean_area"]
        assert ev[region][vessel]["max_area"] > ev[region][cell]["max_area"]
    # the numbers quoted in mtneuro.data.shared's docstring
    assert ev["trn"][axon]["fraction"] == pytest.approx(0.571, abs=5e-4)
    assert ev["zi"][vessel]["fraction"] == pytest.approx(0.059, abs=5e-4)
    assert ev["ctx"][cell]["mean_area"] == pytest.approx(34.0, abs=0.05)


def test_unknown_mask_region():
    with pytest.raises(ConfigError, match="mask region"):
        mask_file("hippocampus")


def test_slice_loads(packaged_data):
    image = load_slice(packaged_data)
    assert image.shape == (1420, 5805) and image.dtype == np.uint8
    assert len(np.unique(image)) == 19  # the published quantisation


def _copy_root(data_root, tmp_path, relative):
    target = tmp_path / relative
    target.parent.mkdir(parents=True)
    shutil.copyfile(data_root / relative, target)
    target.chmod(0o644)
    return target


def test_corrupted_slice_is_rejected(packaged_data, tmp_path):
    target = _copy_root(packaged_data, tmp_path, SLICE_FILE)
    assert load_slice(tmp_path).shape == (1420, 5805)  # intact copy loads
    data = bytearray(target.read_bytes())
    data[-100] ^= 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match="checksum mismatch"):
        load_slice(tmp_path)


def test_corrupted_mask_is_rejected(shared_data, tmp_path):
    target = _copy_root(shared_data, tmp_path, mask_file("zi"))
    with open(target, "r+b") as handle:
        handle.seek(1000)
        handle.write(b"\x00\x01\x02\x03")
    with pytest.raises(ChecksumError):
        load_masks("zi", tmp_path)


def test_missing_file_names_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.delenv("MTNEURO_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "nowhere").mkdir()  # a root that is not there fails before the search
    with pytest.raises(DataError, match="not found"):
        load_masks("ctx", tmp_path / "nowhere")
