"""Catalogue of every real dataset mtneuro knows, declared like torchvision's ``resources``.

Each :class:`Dataset` lists its files by their path in the data-root layout
(the layout of ``../shared/data``: ``neural/monkey/...``, ``neural/rodent/...``,
``xray_masks/...``, ``xray_slice/...``), the original public URL, the SHA-256,
licence and citation: the one table of SHA-256 values (:data:`mtneuro.data.checksums.KNOWN_SHA256`
is derived from it). ``mtneuro data download NAME`` (:mod:`mtneuro.data.download`) fetches
and verifies them (repairing a file that fails its check from a verified copy found
elsewhere in the lookup order); ``mtneuro data list`` shows which are present where and why
a file fails its check (:mod:`mtneuro.data.catalog_files`).

Provenance of the numbers below:

* URLs point at ``raw.githubusercontent.com`` pinned to one commit of the
  original repository, so the bytes behind a URL cannot change under its hash.
* SHA-256 values were computed from the files of those commits (a mirror of
  the public repositories) and, where the file is also in ``../shared/data``,
  they equal that folder's ``SHA256SUMS`` (a test checks it).
* The monkey recordings are published as pickles of ``torch_geometric`` graph
  objects; they are converted to plain ``.npz`` arrays on download. For those
  files ``download_sha256`` is the hash of the pickle as published and
  ``sha256`` the hash of the converted ``.npz`` written by numpy 2.x
  ``savez_compressed`` here (reproduced byte for byte from the published pickles);
  another writer may give other bytes with the same arrays, which
  :data:`mtneuro.data.checksums.KNOWN_CONTENT_SHA256` then verifies.
* ``None`` means the hash is not known here: the file was too large for the
  mirror this catalogue was built from. Such files are downloaded but never
  reported as verified.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from mtneuro.registry import check_choice

MYOW_COMMIT = "6aa684bbbdaecea644db24000a5ce6ff3c033b84"
XRAY_COMMIT = "e21b53574ca331275d7f3a9761e6491f31b156f8"
_MYOW_RAW = f"https://raw.githubusercontent.com/nerdslab/myow-neuro/{MYOW_COMMIT}/data"
_XRAY_RAW = f"https://raw.githubusercontent.com/nerdslab/xray-thc/{XRAY_COMMIT}"

#: Conversion of the myow-neuro monkey pickles; implemented in ``mtneuro.data.myow_pickle``.
MYOW_PICKLE_TO_NPZ = "myow-graph-pickle-to-npz"

APACHE_MYOW = "Apache-2.0 (licence of the nerdslab/myow-neuro repository that publishes the files)"
CC_BY_XRAY = "CC-BY-4.0 (Prasad et al. 2020 X-ray microCT dataset)"

CITE_MYOW = (
    "Azabou, M. et al. Mine Your Own vieW: Self-Supervised Learning Through Across-Sample "
    "Prediction. arXiv:2102.10106 (2021)"
)
CITE_DYER = (
    "Dyer, E.L., Gheshlaghi Azar, M., Perich, M.G. et al. A cryptography-based approach for "
    "movement decoding. Nat. Biomed. Eng. 1, 967-976 (2017)"
)
CITE_MA = (
    "Ma, Z., Turrigiano, G.G., Wessel, R., Hengen, K.B. Cortical circuit dynamics are "
    "homeostatically tuned to criticality in vivo. Neuron 104, 655-664 (2019)"
)
CITE_PRASAD = (
    "Prasad, J.A., Balwani, A.H., Johnson, E.C. et al. A three-dimensional thalamocortical "
    "dataset for characterizing brain heterogeneity. Sci. Data 7, 358 (2020)"
)


@dataclass(frozen=True)
class CatalogFile:
    """One file of a dataset.

    Attributes:
        relative: path under a data root where loaders look for it (the ``.npz``
            for converted files).
        url: original public URL of the file as published.
        sha256: SHA-256 of the file at ``relative``; ``None`` if not known.
        download_sha256: SHA-256 of the body at ``url`` when it differs from the
            stored file (converted files); ``None`` means "same as ``sha256``"
            for plain files and "unknown" for converted ones.
        conversion: name of the converter from the published format to the file
            at ``relative``; ``None`` when the published file is used as is.
    """

    relative: str
    url: str
    sha256: str | None
    download_sha256: str | None = None
    conversion: str | None = None

    @property
    def body_sha256(self) -> str | None:
        """Expected SHA-256 of the downloaded body (``None``: cannot be verified)."""
        return self.download_sha256 if self.conversion else self.sha256

    @property
    def download_relative(self) -> str:
        """Where the published file is kept under a data root before conversion."""
        if not self.conversion:
            return self.relative
        suffix = PurePosixPath(self.url).suffix
        return str(PurePosixPath(self.relative).with_suffix(suffix))


@dataclass(frozen=True)
class Dataset:
    """A named real dataset: its files, licence, citation and notes."""

    name: str
    title: str
    files: tuple[CatalogFile, ...]
    licence: str
    citation: str
    homepage: str
    notes: str = ""


def _monkey(stem: str, download_sha: str, npz_sha: str | None) -> CatalogFile:
    return CatalogFile(
        relative=f"neural/monkey/{stem}.npz",
        url=f"{_MYOW_RAW}/mihi-chewie/processed/{stem}.pkl",
        sha256=npz_sha,
        download_sha256=download_sha,
        conversion=MYOW_PICKLE_TO_NPZ,
    )


def _plain(relative: str, url: str, sha: str | None) -> CatalogFile:
    return CatalogFile(relative=relative, url=url, sha256=sha)


_MONKEY_NOTE = (
    "Centre-out reaching to 8 targets, spike counts of primary motor cortex units per bin, "
    "hand kinematics; converted from the published graph pickles to .npz (firing_rates, trial, "
    "timestep, label, pos, vel, acc, force), values unchanged."
)
_MYOW_HOME = "https://github.com/nerdslab/myow-neuro"
_XRAY_HOME = "https://github.com/nerdslab/xray-thc"
_MONKEY_CITE = f"{CITE_DYER}; processed by {CITE_MYOW}"
_RODENT_CITE = f"{CITE_MA}; binned by {CITE_MYOW}"


def _monkey_dataset(name: str, title: str, file: CatalogFile, notes: str = _MONKEY_NOTE) -> Dataset:
    return Dataset(name, title, (file,), APACHE_MYOW, _MONKEY_CITE, _MYOW_HOME, notes)


_DATASETS: tuple[Dataset, ...] = (
    _monkey_dataset(
        "chewie-1",
        "Monkey Chewie, day 1 (10/03/2013), 100 ms bins, hand speed > 5",
        _monkey(
            "full-chewie-10032013-bin0.10-vel_thresh5.00",
            "2bf23f43a2f8e5f7794e9d1e3604c1dd8b222edca6b9980dcb9605ad12997adb",
            "bf56f12a953d866f42e65fdd11f0d717997cef525557a6cf90f37b00ceffa289",
        ),
    ),
    _monkey_dataset(
        "chewie-1-bin0.05",
        "Monkey Chewie, day 1 (10/03/2013), 50 ms bins, hand speed > 5",
        _monkey(
            "full-chewie-10032013-bin0.05-vel_thresh5.00",
            "ac4bdce8129fe64414a084efbf777a310d5ba926b19cf27c4e490ff8bb0a230c",
            "ad202880c447ab92cb41ee4cb3972102d6b7336379ed35d16a93c3774b296edc",
        ),
    ),
    _monkey_dataset(
        "chewie-1-vel0",
        "Monkey Chewie, day 1 (10/03/2013), 100 ms bins, no hand-speed threshold",
        _monkey(
            "full-chewie-10032013-bin0.10-vel_thresh0.00",
            "d3c38319c0fd66b794a9480dcf8030e1e73c9b976913af09fa6e1bdf20a13888",
            "6cb08a081c7ec244d0f65885e5157c3fde6493dc603a5bd7d8d5860815ac012a",
        ),
    ),
    _monkey_dataset(
        "chewie-2",
        "Monkey Chewie, day 2 (12/19/2013), 100 ms bins, hand speed > 5",
        _monkey(
            "full-chewie-12192013-bin0.10-vel_thresh5.00",
            "62057a140c8c0e660b8cca2515317d583f83d2e362d04b166c789ba57aeca9b3",
            "9989f9f1d057e6a185f17db11105e5770c7dab41b671ecfdd6caef2e0a0e166c",
        ),
    ),
    _monkey_dataset(
        "mihi-1",
        "Monkey Mihi, day 1 (03/03/2014), 100 ms bins, hand speed > 5",
        _monkey(
            "full-mihi-03032014-bin0.10-vel_thresh5.00",
            "aa53dffd7c7fea6787843221f2d4d01881befbc4c53a655fa9989cd5c837f729",
            "f36cce5fa97b7dab9d66ff4acb1b7aaf2aedd23490d6f1c00700185e6afe215f",
        ),
    ),
    _monkey_dataset(
        "mihi-2",
        "Monkey Mihi, day 2 (03/06/2014), raw MATLAB recording only",
        _plain(
            "neural/monkey/raw/full-mihi-03062014.mat",
            f"{_MYOW_RAW}/mihi-chewie/raw/full-mihi-03062014.mat",
            None,
        ),
        notes=(
            "The original repository publishes no binned file for this day, only the raw MATLAB "
            "recording (spike times and kinematics); it is downloaded as is, unverified (its "
            "SHA-256 is not known here), and not converted: binning it is not implemented."
        ),
    ),
    Dataset(
        "mouse-ca1",
        "Mouse CA1, ~12 h of free behaviour, 4 s bins, arousal state per bin",
        (
            _plain(
                "neural/rodent/fr_bins_n_4full.npy",
                f"{_MYOW_RAW}/rodent/fr_bins_n_4full.npy",
                "75eb62fecd81899be546cf4770c0cf66afe4ae9f957b9bfdd5ebe5d0a00317bc",
            ),
            _plain(
                "neural/rodent/behav_states_n_4full.npy",
                f"{_MYOW_RAW}/rodent/behav_states_n_4full.npy",
                "7d0679a2a1b3a221b060cd7aa76ac59d371d74a8aad4c496b2559c3e23abd1ca",
            ),
        ),
        APACHE_MYOW,
        _RODENT_CITE,
        _MYOW_HOME,
        "fr_bins: int32 (neurons, bins) spike counts; behav_states: float64 (bins,) states 0/1/2.",
    ),
    Dataset(
        "rat-v1",
        "Rat V1, ~12 h of free behaviour, 4 s bins, arousal state per bin",
        (
            _plain(
                "neural/rodent/XYF06_1217_b5_neurons_qualityfr_bins_n_4full.npy",
                f"{_MYOW_RAW}/rodent/XYF06_1217_b5_neurons_qualityfr_bins_n_4full.npy",
                None,
            ),
            _plain(
                "neural/rodent/XYF06_1217_b5_neurons_qualitybehav_states_n_4full.npy",
                f"{_MYOW_RAW}/rodent/XYF06_1217_b5_neurons_qualitybehav_states_n_4full.npy",
                "b3e1434d2141f42fe70a0e0a497b3bf8f9baf8b04b583567d29dcfe77dc0e45b",
            ),
        ),
        APACHE_MYOW,
        _RODENT_CITE,
        _MYOW_HOME,
        "The firing-rate file's SHA-256 is not known here; it is downloaded but never marked verified.",
    ),
    Dataset(
        "xray-masks",
        "Human microstructure annotations, 32 patches of 128x128 from each of 4 regions",
        tuple(
            _plain(
                f"xray_masks/masks_{region}.npz",
                f"{_XRAY_RAW}/analysis_notebooks/data/masks_{region}.npz",
                sha,
            )
            for region, sha in (
                ("ctx", "3a3058c1a9734cc73cacee8e38b20b5bb9ce76df1347447ea2a870e75874cb97"),
                ("str", "f9bf9ad92b5fd58fbe9f15bd02be066ebe0b6246f559b55d184f9e10caef7e96"),
                ("trn", "c29fd0a28b8f81622204ad85f0010326a3486b11867058050cc212e9291af856"),
                ("zi", "e26ab9940625b24158cbfc69acdd04d3ee642591b6848bfc0d824831c4787346"),
            )
        ),
        CC_BY_XRAY,
        CITE_PRASAD,
        _XRAY_HOME,
        "Key arr_0, int32 (32, 128, 128), labels 0..3 in the files' own convention.",
    ),
    Dataset(
        "xray-slice",
        "One full slice (z = 309, 1420 x 5805) of the MTNeuro X-ray volume",
        (
            _plain(
                "xray_slice/slice_z309.png",
                f"{_XRAY_RAW}/images/309_Raw-Data-compressed.png",
                "1e29ed9915df27ead1676668180e95c19332632a456725506d4361dbb23e9f2a",
            ),
        ),
        CC_BY_XRAY,
        CITE_PRASAD,
        _XRAY_HOME,
        "8-bit palette PNG, gray values quantised to 19 levels for publication.",
    ),
)

CATALOG: dict[str, Dataset] = {d.name: d for d in _DATASETS}


def dataset_names() -> list[str]:
    """Names of all catalogued datasets, in catalogue order."""
    return list(CATALOG)


def get_dataset(name: str) -> Dataset:
    """The dataset called ``name``; unknown names raise :class:`~mtneuro.errors.ConfigError`."""
    return CATALOG[check_choice("dataset", name, dataset_names())]


def catalog_sha256() -> dict[str, str]:
    """Relative path -> SHA-256 of every catalogued file whose hash is known."""
    return {f.relative: f.sha256 for d in _DATASETS for f in d.files if f.sha256}
