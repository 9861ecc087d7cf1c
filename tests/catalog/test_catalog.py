"""The dataset catalogue: hashes agree with the real files, entries are complete."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtneuro.data.catalog import CATALOG, CatalogFile, catalog_sha256, get_dataset
from mtneuro.data.catalog_files import file_report
from mtneuro.data.checksums import sha256_file
from mtneuro.data.download import CONVERTERS
from mtneuro.data.paths import PACKAGED_ROOT
from mtneuro.errors import ConfigError

ALL_FILES = [(d.name, f) for d in CATALOG.values() for f in d.files]


def _shared_files(root: Path) -> dict[str, str]:
    """Relative path -> sha256 from ``SHA256SUMS`` of the shared data folder."""
    pairs = (line.split() for line in (root / "SHA256SUMS").read_text().splitlines() if line.strip())
    return {rel: sha for sha, rel in pairs}


def test_catalogue_hashes_match_the_shared_files(shared_data):
    sums = _shared_files(shared_data)
    covered = catalog_sha256()
    assert set(sums) <= set(covered), "every shared file must be catalogued"
    for relative, sha in sums.items():
        assert covered[relative] == sha, relative
        assert sha256_file(shared_data / relative) == sha, relative


def test_packaged_samples_are_catalogued_and_verify():
    packaged = sorted(p for p in PACKAGED_ROOT.rglob("*") if p.is_file() and p.name != "README.md")
    assert [p.relative_to(PACKAGED_ROOT).as_posix() for p in packaged] == [
        "neural/monkey/full-chewie-10032013-bin0.10-vel_thresh5.00.npz",
        "xray_slice/slice_z309.png",
    ]
    for path in packaged:
        assert sha256_file(path) == catalog_sha256()[path.relative_to(PACKAGED_ROOT).as_posix()]


@pytest.mark.parametrize("name,file", ALL_FILES, ids=[f"{n}:{Path(f.relative).name}" for n, f in ALL_FILES])
def test_entries_are_complete(name: str, file: CatalogFile):
    dataset = CATALOG[name]
    assert dataset.licence.startswith(("Apache-2.0", "CC-BY-4.0")) and dataset.citation
    assert file.url.startswith("https://raw.githubusercontent.com/nerdslab/")
    # Pinned to a commit, so the bytes behind the URL cannot change under the hash.
    assert len(file.url.split("/")[5]) == 40
    if file.conversion:
        assert file.conversion in CONVERTERS
        assert file.body_sha256 is not None, "a converted original must be verifiable"
        assert file.download_relative != file.relative


def test_catalogue_covers_every_recording_of_the_original_repositories():
    names = set(CATALOG)
    assert {"chewie-1", "chewie-1-bin0.05", "chewie-1-vel0", "chewie-2", "mihi-1", "mihi-2"} <= names
    assert {"mouse-ca1", "rat-v1", "xray-masks", "xray-slice"} <= names


def test_unknown_name_suggests_the_closest():
    with pytest.raises(ConfigError, match="did you mean 'chewie-1'"):
        get_dataset("chewie1")


def test_file_report_follows_the_lookup_order(tmp_path, monkeypatch):
    monkeypatch.delenv("MTNEURO_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    slice_file = get_dataset("xray-slice").files[0]
    assert file_report(slice_file).state == "verified"
    assert file_report(slice_file).root_label == "packaged samples"

    (tmp_path / "root/xray_slice").mkdir(parents=True)
    (tmp_path / "root/xray_slice/slice_z309.png").write_bytes(b"not the slice")
    status = file_report(slice_file, tmp_path / "root")
    assert (status.root_label, status.state) == ("explicit path", "checksum mismatch")

    masks = get_dataset("xray-masks").files[0]
    assert file_report(masks, tmp_path / "root").state == "missing"
    rat = get_dataset("rat-v1").files[0]
    (tmp_path / "root" / rat.relative).parent.mkdir(parents=True)
    (tmp_path / "root" / rat.relative).write_bytes(b"anything")
    assert file_report(rat, tmp_path / "root").state == "unverified"
