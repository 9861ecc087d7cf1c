"""Conversion of the myow-neuro monkey pickles to plain ``.npz`` arrays.

The recordings are published as pickles of ``torch_geometric`` graphs (``{"data": [Data,
...]}``, one ``Data`` per trial holding tensors ``x`` (bins, neurons) firing rates, ``y``
(bins,) reach-target index, ``timestep`` (bins,) bin index in the trial, ``pos``/``vel``/
``acc``/``force`` (bins, 2) and ``edge_index`` linking consecutive bins).
:func:`convert_myow_pickle` reads them without ``torch_geometric``: a restricted unpickler
admits only those classes and torch's tensor rebuild functions (anything else is refused), and
the trials are concatenated into plain arrays, values unchanged, ``edge_index`` dropped because
bins of a trial are consecutive. Both the PyG >= 2 layout (tensors in ``_store._mapping``) and
the older one (tensors as attributes) are read. :mod:`mtneuro.data.download` unpickles an
original only after its SHA-256 matched the catalogue.
"""

from __future__ import annotations

import collections
import io
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from mtneuro.errors import DataError



class _GraphRecord:
    """Stand-in for ``torch_geometric`` ``Data`` / ``GlobalStorage``: keeps the pickled state."""

    def __setstate__(self, state: Any) -> None:
        self.state = state


def _load_storage_bytes(data: bytes) -> Any:
    import torch

    # weights_only: the inner payload may hold storages and tensors, nothing executable.
    return torch.load(io.BytesIO(data), weights_only=True)


def _allowed_globals() -> dict[tuple[str, str], Any]:
    import torch._utils

    return {
        ("torch_geometric.data.data", "Data"): _GraphRecord,
        ("torch_geometric.data.storage", "GlobalStorage"): _GraphRecord,
        ("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
        ("torch.storage", "_load_from_bytes"): _load_storage_bytes,
        ("collections", "OrderedDict"): collections.OrderedDict,
    }


class _GraphUnpickler(pickle.Unpickler):
    def __init__(self, handle: Any) -> None:
        super().__init__(handle)
        self._allowed = _allowed_globals()

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}") from None


def _graph_fields(record: Any) -> dict[str, Any]:
    state = getattr(record, "state", None)
    if not isinstance(state, dict):
        raise DataError("not a graph object")
    store = state.get("_store")
    if store is not None:  # torch_geometric >= 2: tensors live in the global storage
        return dict(store.state["_mapping"])
    return {k: v for k, v in state.items() if not k.startswith("_") and v is not None}


_NPZ_FIELDS = (  # output key, graph attribute
    ("firing_rates", "x"),
    ("timestep", "timestep"),
    ("label", "y"),
    ("pos", "pos"),
    ("vel", "vel"),
    ("acc", "acc"),
    ("force", "force"),
)


def convert_myow_pickle(src: str | Path, dest: str | Path) -> Path:
    """Convert a myow-neuro monkey pickle to the ``.npz`` layout of ``../shared/data``.

    Output arrays, one row per time bin, trials in published order: ``firing_rates``
    (bins, neurons) spikes/s, ``trial`` (bins,) int64 trial index, ``timestep``,
    ``label`` (reach target 0..7), ``pos``/``vel``/``acc``/``force`` (bins, 2);
    dtypes as published.

    Raises:
        DataError: the file is not such a pickle (or holds anything else).
    """
    src, dest = Path(src), Path(dest)
    try:
        with open(src, "rb") as handle:
            payload = _GraphUnpickler(handle).load()
        trials = [_graph_fields(g) for g in payload["data"]]
        columns: dict[str, list[np.ndarray]] = {key: [] for key, _ in _NPZ_FIELDS}
        columns["trial"] = []
        for index, fields in enumerate(trials):
            bins = int(fields["x"].shape[0])
            for key, attr in _NPZ_FIELDS:
                value = fields[attr].detach().cpu().numpy()
                if value.shape[0] != bins:
                    raise DataError(f"trial {index}: {attr} has {value.shape[0]} rows, "
                                    f"x has {bins}")
                if columns[key] and value.shape[1:] != columns[key][0].shape[1:]:
                    raise DataError(f"trial {index}: {attr} has columns {value.shape[1:]}, "
                                    f"trial 0 has {columns[key][0].shape[1:]}")
                columns[key].append(value)
            columns["trial"].append(np.full(bins, index, dtype=np.int64))
    except (pickle.UnpicklingError, KeyError, TypeError, AttributeError, EOFError,
            DataError) as err:
        raise DataError(f"{src}: not a myow-neuro graph pickle ({err})") from None
    if not trials:
        raise DataError(f"{src}: holds no trials")
    order = ("firing_rates", "trial", "timestep", "label", "pos", "vel", "acc", "force")
    arrays = {key: np.concatenate(columns[key]) for key in order}
    tmp = dest.with_name(dest.name + ".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, dest)
    return dest
