"""Audit (s19) of :mod:`mtneuro.data.catalog_files`: the verified copy found for a repair is
never the file being repaired, and a file known only by its arrays' digest can be verified
(so ``data download`` looks for a copy of it)."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from mtneuro.data import catalog
from mtneuro.data.catalog_files import can_verify, verified_copy
from mtneuro.data.paths import PACKAGED_ROOT

CHEWIE = catalog.CATALOG["chewie-1"].files[0]


def test_the_verified_copy_skips_the_excluded_path_even_when_it_verifies(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # $MTNEURO_DATA comes first in the lookup order: without the exclusion its own file,
    # the one to be replaced, would be offered as the copy to replace it with
    data = tmp_path / "data"
    monkeypatch.setenv("MTNEURO_DATA", str(data))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    target = data / CHEWIE.relative
    target.parent.mkdir(parents=True)
    shutil.copyfile(PACKAGED_ROOT / CHEWIE.relative, target)
    found = verified_copy(CHEWIE, exclude=target)
    assert found is not None
    assert (found.root_label, found.path, found.state) == (
        "packaged samples", PACKAGED_ROOT / CHEWIE.relative, "verified")
    # the same file spelt another way is still the excluded one
    spelt = data / "x" / ".." / CHEWIE.relative
    assert verified_copy(CHEWIE, exclude=spelt).path == PACKAGED_ROOT / CHEWIE.relative


def test_a_file_known_only_by_its_arrays_can_be_verified() -> None:
    # no SHA-256 of its bytes, but one of its arrays (KNOWN_CONTENT_SHA256): verifiable
    assert can_verify(dataclasses.replace(CHEWIE, sha256=None)) is True
    assert can_verify(dataclasses.replace(CHEWIE, sha256=None, relative="other.npz")) is False
    assert can_verify(dataclasses.replace(CHEWIE, relative="other.npz")) is True
