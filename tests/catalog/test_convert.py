"""Conversion of myow-neuro graph pickles to plain arrays, on pickles built here.

The published pickles hold ``{"data": [torch_geometric.data.Data, ...]}``. torch_geometric
is not installed, so stand-in classes are registered under its module names while
pickling; the converter must read the result without them.
"""

from __future__ import annotations

import hashlib
import pickle
import sys
import types

import numpy as np
import pytest
import torch

from mtneuro.data.catalog import MYOW_PICKLE_TO_NPZ, CatalogFile
from mtneuro.data.download import convert_myow_pickle, download_file
from mtneuro.data.retry import RetryPolicy
from mtneuro.errors import DataError

CHEWIE = "neural/monkey/full-chewie-10032013-bin0.10-vel_thresh5.00.npz"
FIELDS = {"x": "firing_rates", "y": "label", "timestep": "timestep", "pos": "pos",
          "vel": "vel", "acc": "acc", "force": "force"}


@pytest.fixture
def fake_pyg(monkeypatch):
    """Register ``torch_geometric.data.{data.Data, storage.GlobalStorage}`` stand-ins."""

    class Data:
        pass

    class GlobalStorage:
        pass

    data_mod = types.ModuleType("torch_geometric.data.data")
    storage_mod = types.ModuleType("torch_geometric.data.storage")
    Data.__module__, GlobalStorage.__module__ = data_mod.__name__, storage_mod.__name__
    Data.__qualname__, GlobalStorage.__qualname__ = "Data", "GlobalStorage"
    data_mod.Data, storage_mod.GlobalStorage = Data, GlobalStorage
    for name in ("torch_geometric", "torch_geometric.data"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, data_mod.__name__, data_mod)
    monkeypatch.setitem(sys.modules, storage_mod.__name__, storage_mod)
    return Data, GlobalStorage


def _graph(cls_data, cls_store, tensors: dict, new_layout: bool = True):
    """A graph as torch_geometric >= 2 (tensors in ``_store._mapping``) or < 2 pickles it."""
    graph = cls_data()
    if new_layout:
        store = cls_store()
        store.__dict__.update(_mapping=dict(tensors), _parent=graph)
        graph.__dict__["_store"] = store
    else:
        graph.__dict__.update(tensors)
    return graph


def _trials_from_arrays(arrays: dict) -> list[dict]:
    """Split per-bin arrays back into per-trial tensors, as the publishers stored them."""
    trials = []
    for trial in np.unique(arrays["trial"]):
        rows = arrays["trial"] == trial
        tensors = {attr: torch.from_numpy(np.ascontiguousarray(arrays[key][rows]))
                   for attr, key in FIELDS.items()}
        n = int(rows.sum())
        tensors["edge_index"] = torch.stack([torch.arange(n - 1), torch.arange(1, n)])
        trials.append(tensors)
    return trials


def _write_pickle(path, fake_pyg, trials, new_layout=True):
    graphs = [_graph(*fake_pyg, t, new_layout) for t in trials]
    with open(path, "wb") as handle:
        pickle.dump({"data": graphs}, handle, protocol=4)
    return path


def _small_trials(seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    trials = []
    for bins in (3, 5, 2):
        trials.append({
            "x": torch.from_numpy(rng.poisson(2.0, (bins, 4)).astype(np.float32) * 10),
            "y": torch.full((bins,), int(rng.integers(8)), dtype=torch.int64),
            "timestep": torch.arange(1, bins + 1),
            **{k: torch.from_numpy(rng.normal(size=(bins, 2)).astype(np.float32))
               for k in ("pos", "vel", "acc", "force")},
            "edge_index": torch.stack([torch.arange(bins - 1), torch.arange(1, bins)]),
        })
    return trials


@pytest.mark.parametrize("new_layout", [True, False], ids=["pyg2", "pyg1"])
def test_conversion_concatenates_trials_with_values_unchanged(fake_pyg, tmp_path, new_layout):
    trials = _small_trials()
    src = _write_pickle(tmp_path / "rec.pkl", fake_pyg, trials, new_layout)
    out = np.load(convert_myow_pickle(src, tmp_path / "rec.npz"))
    assert out.files == ["firing_rates", "trial", "timestep", "label", "pos", "vel", "acc", "force"]
    assert out["trial"].tolist() == [0, 0, 0, 1, 1, 1, 1, 1, 2, 2]
    for attr, key in FIELDS.items():
        expected = np.concatenate([t[attr].numpy() for t in trials])
        assert out[key].dtype == expected.dtype
        np.testing.assert_array_equal(out[key], expected)


def test_round_trip_reproduces_the_shared_recording_byte_for_byte(fake_pyg, shared_data, tmp_path):
    """Pickling the real recording trial by trial and converting back gives the same file."""
    reference = shared_data / CHEWIE
    arrays = dict(np.load(reference))
    src = _write_pickle(tmp_path / "chewie.pkl", fake_pyg, _trials_from_arrays(arrays))
    out = convert_myow_pickle(src, tmp_path / "chewie.npz")
    converted = np.load(out)
    for key, value in arrays.items():
        np.testing.assert_array_equal(converted[key], value)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    assert digest == hashlib.sha256(reference.read_bytes()).hexdigest()


def test_pickle_with_other_globals_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("this must never run",))

    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"data": [Evil()]}))
    with pytest.raises(DataError, match="refusing to load builtins.print"):
        convert_myow_pickle(path, tmp_path / "evil.npz")
    assert not (tmp_path / "evil.npz").exists()


def test_inconsistent_trial_is_reported(fake_pyg, tmp_path):
    trials = _small_trials()
    trials[1]["y"] = trials[1]["y"][:-1]
    src = _write_pickle(tmp_path / "bad.pkl", fake_pyg, trials)
    with pytest.raises(DataError, match="trial 1: y has 4 rows, x has 5"):
        convert_myow_pickle(src, tmp_path / "bad.npz")


def test_trials_with_other_neurons_are_refused_naming_the_file(fake_pyg, tmp_path):
    trials = _small_trials()
    trials[2]["x"] = torch.zeros(2, 5)  # 5 neurons where trials 0 and 1 have 4
    src = _write_pickle(tmp_path / "bad.pkl", fake_pyg, trials)
    with pytest.raises(DataError, match=r"bad\.pkl: .*trial 2: x has columns \(5,\), "
                                        r"trial 0 has \(4,\)"):
        convert_myow_pickle(src, tmp_path / "bad.npz")
    assert not (tmp_path / "bad.npz").exists()


def test_entries_that_are_not_graphs_are_refused_naming_the_file(tmp_path):
    src = tmp_path / "plain.pkl"
    with open(src, "wb") as handle:
        pickle.dump({"data": [1]}, handle)
    with pytest.raises(DataError, match=r"plain\.pkl: not a myow-neuro graph pickle "
                                        r"\(not a graph object\)"):
        convert_myow_pickle(src, tmp_path / "plain.npz")


def test_download_of_a_pickle_converts_it_and_drops_the_original(fake_pyg, file_server, tmp_path):
    pkl = _write_pickle(tmp_path / "src.pkl", fake_pyg, _small_trials(1)).read_bytes()
    file_server.files["processed/rec.pkl"] = pkl
    entry = CatalogFile(
        relative="neural/monkey/rec.npz",
        url=file_server.url("processed/rec.pkl"),
        sha256=None,
        download_sha256=hashlib.sha256(pkl).hexdigest(),
        conversion=MYOW_PICKLE_TO_NPZ,
    )
    root = tmp_path / "root"
    policy = RetryPolicy(max_attempts=2, base_delay=0.0)
    result = download_file(entry, root, policy=policy, timeout=5.0, progress=False)
    assert result.verified and result.path == root / "neural/monkey/rec.npz"
    assert np.load(result.path)["firing_rates"].shape == (10, 4)
    assert not (root / "neural/monkey/rec.pkl").exists()


def test_download_converted_by_a_windows_python_verifies_and_loads(fake_pyg, file_server,
                                                                   packaged_data, tmp_path,
                                                                   monkeypatch):
    """The real converter, with every zip entry stamped as a Windows Python stamps it
    (another "created by" system, so other bytes than the catalogue's): the download, the
    data list and the loader all accept it, as its arrays are the catalogue's."""
    from mtneuro.data.catalog import CATALOG
    from mtneuro.data.catalog_files import file_report
    from mtneuro.data.download import CONVERTERS
    from mtneuro.data.neural import load_recording

    with np.load(packaged_data / CHEWIE) as npz:
        arrays = {key: npz[key] for key in npz.files}
    pkl = _write_pickle(tmp_path / "src.pkl", fake_pyg, _trials_from_arrays(arrays)).read_bytes()
    file_server.files["chewie.pkl"] = pkl
    catalogued = CATALOG["chewie-1"].files[0]
    entry = CatalogFile(relative=catalogued.relative, url=file_server.url("chewie.pkl"),
                        sha256=catalogued.sha256, download_sha256=hashlib.sha256(pkl).hexdigest(),
                        conversion=MYOW_PICKLE_TO_NPZ)

    def convert_on_windows(src, dest):
        with monkeypatch.context() as patch:  # zipfile.ZipInfo reads it for create_system
            patch.setattr(sys, "platform", "win32")
            return convert_myow_pickle(src, dest)

    monkeypatch.setitem(CONVERTERS, MYOW_PICKLE_TO_NPZ, convert_on_windows)
    root = tmp_path / "root"
    result = download_file(entry, root, policy=RetryPolicy(max_attempts=2, base_delay=0.0),
                           timeout=5.0, progress=False)
    assert result.verified and "same arrays" in result.note
    assert hashlib.sha256(result.path.read_bytes()).hexdigest() != catalogued.sha256
    assert file_report(entry, root).state == "verified"
    rec = load_recording("chewie-1", root=root)
    assert rec.files == {str(result.path): hashlib.sha256(result.path.read_bytes()).hexdigest()}
    np.testing.assert_array_equal(rec.rates, arrays["firing_rates"])
