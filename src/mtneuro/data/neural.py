"""Neural population recordings: monkey reaching or a user's classes (``.npz``) and rodent sleep
(``.npy`` pair), loaded by name or path.

Every recording loads into one :class:`~mtneuro.data.neural_recording.NeuralRecording`.

Formats (the layout of ``../shared/data/neural``):

- a ``.npz``: reach (``firing_rates``, ``trial``, ``label`` 0..7 read as angles, ...), or
  the classes layout of a user's own classes when its ``kind`` array says ``"classes"``
  (:mod:`mtneuro.data.neural_npz`, :mod:`mtneuro.data.neural_classes`).
- rodent sleep: ``<prefix>fr_bins_n_4full.npy`` (neurons, bins) spike counts per 4 s
  bin and ``<prefix>behav_states_n_4full.npy`` (bins,) arousal state 0/1/2.

Which rodent state is which is not written in the files; it is established
from the data (see :data:`SLEEP_STATES`).

>>> rec = load_recording("chewie-1")          # doctest: +SKIP
>>> rec.rates.shape, rec.kind, rec.n_trials   # doctest: +SKIP
((895, 174), 'reach', 159)
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from mtneuro.data.neural_catalogue import (  # re-exported: the recordings' lookup lives here
    RECORDINGS,
    catalogued_name,  # noqa: F401
    catalogued_place,
    checked_sha256,
)
from mtneuro.data.neural_npz import load_npz, load_reach_npz  # noqa: F401 (re-exported)
from mtneuro.data.neural_recording import (  # noqa: F401 (re-exported)
    REACH_CLASSES,
    Kind,
    NeuralRecording,
)
from mtneuro.data.numpy_files import (
    as_float32,
    checked_numeric,
    non_negative,
    read_arrays,
)
from mtneuro.data.paths import candidate_roots, check_root
from mtneuro.errors import DataError
from mtneuro.registry import unknown_name_message

#: A recording file's kind by its suffix: a reach .npz, a rodent .npy pair. A ``.npz`` holds the
#: classes layout where its ``kind`` array says so, read as it loads (:func:`load_npz`); by its
#: name it counts as reach, whose splits, the one use of a kind known before loading, it shares.
_KIND_OF_SUFFIX: dict[str, Kind] = {".npz": "reach", ".npy": "sleep"}
#: Recording formats this module reads (the first file of a catalogued dataset).
_LOADABLE_SUFFIXES = tuple(_KIND_OF_SUFFIX)


#: Rodent ``behav_states`` value -> arousal state, established from the data of
#: mouse CA1 (``fr_bins_n_4full``), 10,800 bins of 4 s:
#:
#: - transitions between episodes: state 2 is entered only from state 1 (21 of 21
#:   entries) and state 0 is never followed by state 2 -- REM follows nREM and is
#:   not entered from wake, so 2 = REM, 1 = nREM;
#: - state 2 is rare (7.1% of bins) with short episodes (median 33 bins = 2.2 min),
#:   as REM is in mice; state 1 (57%) has long episodes (median 185 bins);
#: - state 0 is entered from REM (9) or nREM (5) and always left into nREM (15 of 15),
#:   as wake ends in sleep onset; it has the most variable population rate
#:   (std of summed counts 613 vs 345 in state 1), and CA1 fires least in state 1
#:   (mean 41 vs 57 and 60 spikes per 4 s per neuron), as expected of nREM.
#:
#: ``tests/neural/test_recordings.py`` re-derives this evidence from the file.
SLEEP_STATES: dict[int, str] = {0: "wake", 1: "nREM", 2: "REM"}
SLEEP_CLASSES = tuple(SLEEP_STATES[i] for i in range(3))

_RODENT_RATES_TAG = "fr_bins"
_RODENT_STATES_TAG = "behav_states"
_RODENT_BIN_S = 4.0


def load_sleep_pair(rates_path: str | Path, states_path: str | Path, *, name: str | None = None) -> NeuralRecording:
    """Load a rodent pair: (neurons, bins) spike counts per 4 s bin and (bins,) states.

    Rates are converted to Hz (counts / 4 s) so both kinds share units.
    """
    rates_path, states_path = Path(rates_path), Path(states_path)
    files = {str(rates_path): checked_sha256(rates_path),
             str(states_path): checked_sha256(states_path)}
    counts = non_negative(checked_numeric(read_arrays(rates_path)[""], rates_path, ""),
                          rates_path, "", "spike counts")
    states = checked_numeric(read_arrays(states_path)[""], states_path, "", integer=True)
    for path, array, ndim, shape in ((rates_path, counts, 2, "(neurons, bins) counts"),
                                     (states_path, states, 1, "(bins,) states")):
        if array.ndim != ndim:
            raise DataError(f"{path}: expected a {shape} array, got shape {array.shape}")
    if counts.shape[1] != states.shape[0]:
        flipped = counts.shape[0] == states.shape[0]
        hint = f"; {rates_path.name} looks transposed: expected (neurons, bins)" if flipped else ""
        raise DataError(f"{rates_path.name} (neurons, bins) and {states_path.name} (bins,) "
                        f"disagree: shapes {counts.shape} and {states.shape}{hint}")
    label = states.astype(np.int64)
    outside = np.flatnonzero((label < 0) | (label > 2))
    if outside.size:
        raise DataError(f"{states_path}: states must be 0, 1 or 2, got {label[outside[0]]} at "
                        f"index {outside[0]} ({outside.size} of {label.size} values); other "
                        "classes than wake / nREM / REM go in a classes .npz (docs/neural.md)")
    n = label.shape[0]
    return NeuralRecording(
        name=name or _pair_name(rates_path),
        kind="sleep",
        rates=np.ascontiguousarray(as_float32(counts, rates_path, "").T) / np.float32(_RODENT_BIN_S),
        trial=np.zeros(n, dtype=np.int64),
        timestep=np.arange(n, dtype=np.int64),
        label=label,
        bin_s=_RODENT_BIN_S,
        class_names=SLEEP_CLASSES,
        files=files,
        catalogued=all(catalogued_place(p) is not None for p in (rates_path, states_path)),
    )


def _pair_name(rates_path: Path) -> str:
    """A rodent pair's name: the prefix its files share (``mouse3`` of
    ``mouse3_fr_bins_n_4full.npy``), else the rates file's stem (the catalogued pair's files
    have none)."""
    prefix = rates_path.name.split(_RODENT_RATES_TAG)[0].rstrip("_-. ")
    return prefix or rates_path.stem


def _sleep_partner(path: Path) -> tuple[Path, Path]:
    """(rates, states) paths of the rodent pair that ``path`` belongs to."""
    if _RODENT_RATES_TAG in path.name:
        partner = path.with_name(path.name.replace(_RODENT_RATES_TAG, _RODENT_STATES_TAG))
        pair = (path, partner)
    elif _RODENT_STATES_TAG in path.name:
        partner = path.with_name(path.name.replace(_RODENT_STATES_TAG, _RODENT_RATES_TAG))
        pair = (partner, path)
    else:
        raise DataError(f"{path}: a rodent .npy must be named *{_RODENT_RATES_TAG}* or "
                        f"*{_RODENT_STATES_TAG}* so its partner file can be found")
    if not partner.is_file():
        raise DataError(f"{path}: its partner file {partner.name} is missing beside it")
    return pair


def recording_kind(spec: str | Path) -> Kind | None:
    """The kind of a catalogued recording name or a recording file, from names alone (no
    file is read; a ``.npz`` counts as reach, see :data:`_KIND_OF_SUFFIX`); ``None`` where
    that needs the files (a folder, another suffix)."""
    relative = RECORDINGS.get(str(spec), (str(spec),))[0]
    return _KIND_OF_SUFFIX.get(Path(relative).suffix)


def detect_kind(path: str | Path) -> Kind:
    """``"reach"`` for a ``.npz`` of firing rates (or of classes, :data:`_KIND_OF_SUFFIX`),
    ``"sleep"`` for a rodent ``.npy`` or folder; the format, from the path alone."""
    path = Path(path)
    if path.is_dir():
        if list(path.glob(f"*{_RODENT_RATES_TAG}*.npy")):
            return "sleep"
        raise DataError(f"{path}: folder holds no *{_RODENT_RATES_TAG}*.npy rodent recording")
    if path.suffix in _KIND_OF_SUFFIX:
        return _KIND_OF_SUFFIX[path.suffix]
    raise DataError(f"{path}: unknown recording format (expected a reach .npz or a rodent .npy pair)")


def load_file(path: str | Path, *, name: str | None = None) -> NeuralRecording:
    """Load a recording from a file (or a folder holding one rodent pair); kind from the file."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"recording not found: {path}")
    if detect_kind(path) == "reach":  # a .npz: reach, or classes where its kind says so
        return load_npz(path, name=name)
    if path.is_dir():
        candidates = sorted(path.glob(f"*{_RODENT_RATES_TAG}*.npy"))
        if len(candidates) != 1:
            names = ", ".join(c.name for c in candidates)
            raise DataError(f"{path}: holds several rodent recordings ({names}); pass one file")
        path = candidates[0]
    rates_path, states_path = _sleep_partner(path)
    return load_sleep_pair(rates_path, states_path, name=name)


#: A data root as errors name it (``load_recording(root=)``, a config's ``data_root``, the CLI's).
_ROOT_NAMES = "root (data_root in a task config, --data-root)"


def recording_paths(name: str, root: str | Path | None = None) -> list[Path] | None:
    """The files of catalogued recording ``name`` in the data lookup order
    (:func:`mtneuro.data.paths.candidate_roots`), or ``None`` if some file is absent.

    All files of a recording come from the same root.

    Raises:
        DataError: ``root`` is given but is not an existing folder.
    """
    # a typo, not "not downloaded"
    check_root(root, _ROOT_NAMES, "an existing folder")
    for _, base in candidate_roots(root):
        paths = [base / rel for rel in RECORDINGS[name]]
        if all(p.is_file() for p in paths):
            return paths
    return None


def is_binned(name: str) -> bool:
    """Whether catalogued recording ``name`` is published binned, in a format this module
    reads (``mihi-2`` is published only as a raw MATLAB recording)."""
    return Path(RECORDINGS[name][0]).suffix in _LOADABLE_SUFFIXES


def missing_recording_message(name: str, root: str | Path | None = None) -> str:
    """One line saying where named recording ``name`` was looked for and how to get it."""
    where = "; ".join(f"{label} {base}" for label, base in candidate_roots(root))
    return (f"recording {name!r} is not here (looked in {where}); "
            f"run `mtneuro data download {name}` or pass root=DIR (data_root=DIR in a task "
            "config, --data-root DIR)")


def load_recording(spec: str | Path, root: str | Path | None = None) -> NeuralRecording:
    """Load a recording by name (see :data:`RECORDINGS`) or by path.

    Args:
        spec: a catalogue name such as ``"chewie-2"`` or ``"mouse-ca1"`` (found under
            ``root``, ``$MTNEURO_DATA``, the user cache or the packaged samples once
            ``mtneuro data download NAME`` has put it there), or a path.
        root: optional data root for named recordings.

    Raises:
        DataError: an unknown name or missing file, a named recording not downloaded (the
            message names ``mtneuro data download NAME``), or one in a format not read here.
        ChecksumError: a known file does not match its recorded SHA-256.
    """
    path, name = locate_recording(spec, root)
    return load_file(path, name=name)


def locate_recording(spec: str | Path, root: str | Path | None = None) -> tuple[Path, str | None]:
    """The file (or rodent folder) :func:`load_recording` reads for ``spec`` and the name it
    gives the recording (``None``: the file's), reading no data: a command can fail on a
    recording that is not there before it touches its output folder.

    Raises:
        DataError: as :func:`load_recording`, except for the files' contents.
    """
    text = str(spec)
    check_root(root, _ROOT_NAMES, "an existing folder")
    if text in RECORDINGS:
        if not is_binned(text):
            raise DataError(f"recording {text!r} is published only as {Path(RECORDINGS[text][0]).name} "
                            "(raw MATLAB); binning it is not implemented, pass a binned .npz instead")
        paths = recording_paths(text, root)
        if paths is None:
            raise DataError(missing_recording_message(text, root))
        if root is not None and not paths[0].is_relative_to(Path(root)):
            # the lookup order goes on past an explicit root; say where the file came from
            warnings.warn(f"recording {text!r} is not in data root {root}; read {paths[0]}",
                          UserWarning, stacklevel=3)
        return paths[0], text
    path = Path(text).expanduser()
    if path.exists():
        detect_kind(path)  # a known format (or a folder holding a rodent pair)
        return path, None
    if path.suffix in (".npz", ".npy") or len(path.parts) > 1:  # a path, not a name
        raise DataError(f"recording file {text} not found")
    message = unknown_name_message("recording", text, list(RECORDINGS))
    raise DataError(f"{message}; or pass the path of a .npz / .npy recording")
