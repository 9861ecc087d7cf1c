"""The classes layout: a recording of your own whose labels are classes, not reach directions.

A ``.npz`` holds it when its array ``kind`` is ``"classes"`` (``np.savez(..., kind="classes")``)
and only then: without it a ``.npz`` is a reach file, whose labels 0..7 are read as angles
(label x 45 degrees) and decoded by regressing their cosine and sine, so a bin torn between
classes k and k+2 comes out as k+1. One array decides, never a guess from the labels: a
catalogued reach recording must read as it always has.

Arrays: those of a reach file (``firing_rates`` (bins, neurons), ``trial`` (bins,),
``label`` (bins,), optional ``timestep`` and ``bin_s``) and optional ``class_names``
(classes,) str, the name of each label value (else ``"0"``, ``"1"``, ...).

>>> names_of({}, np.array([0, 2, 1]), Path("x.npz"))
('0', '1', '2')
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mtneuro.errors import DataError

CLASSES = "classes"
#: the values of a ``.npz``'s ``kind`` array
LAYOUTS = ("reach", CLASSES)
#: where the docs show the layout (said by errors and the reach file's note)
DOCS = "docs/neural.md, 'Your own recording'"


def npz_layout(arrays: dict[str, np.ndarray], path: Path) -> tuple[str, bool]:
    """``(layout, stated)``: ``"reach"`` or ``"classes"`` by the file's ``kind`` array (reach
    without one), and whether the file states it.

    Raises:
        DataError: ``kind`` is no single string of :data:`LAYOUTS`, or ``class_names``
            comes without ``kind`` ``"classes"`` (a reach file's classes are its directions).
    """
    if "kind" not in arrays:
        layout, stated = "reach", False
    else:
        value = arrays["kind"]
        if value.dtype.kind != "U" or value.size != 1:
            raise DataError(f"{path}: kind: expected one string, 'classes' or 'reach', got "
                            f"dtype {value.dtype}, shape {value.shape}")
        layout, stated = str(value.reshape(-1)[0]), True
        if layout not in LAYOUTS:
            raise DataError(f"{path}: kind: expected 'classes' or 'reach', got {layout!r}")
    if "class_names" in arrays and layout != CLASSES:
        raise DataError(f"{path}: class_names: read only with kind 'classes', got kind "
                        f"{layout!r}{'' if stated else ' (no kind array)'}; save kind='classes' "
                        "beside it, or drop class_names to read labels as reach directions")
    return layout, stated


def names_of(arrays: dict[str, np.ndarray], label: np.ndarray, path: Path) -> tuple[str, ...]:
    """The class names of a classes file: its ``class_names``, else the label values as
    text (``"0"`` .. ``"K-1"``).

    Without names, the labels must be 0..K-1 with each in some bin: labels {10, 20, 30}
    read as 31 classes would give a 31 x 31 confusion and a readout of 28 classes that
    never occur. A name of ``class_names`` no bin uses is allowed (one list of names for
    every file of an experiment keeps each class's label); it counts in no F1.

    Args:
        label: (bins,) int64 labels, already checked to be whole numbers.

    Raises:
        DataError: a negative label; without ``class_names``, labels that are not 0..K-1
            each in some bin; with them, a label beyond them, or names that are not
            distinct, non-empty strings.
    """
    if label.min() < 0:
        first = int(np.flatnonzero(label < 0)[0])
        raise DataError(f"{path}: label: expected class indices >= 0, got {label[first]} at "
                        f"bin {first}")
    if "class_names" not in arrays:
        found = np.unique(label)
        count = found.size
        if found[-1] != count - 1:  # sorted and distinct: 0..K-1 exactly when the last is K-1
            raise DataError(f"{path}: label: expected the classes numbered 0..K-1, each in "
                            f"some bin (here K = {count} distinct labels), got "
                            f"{_abbreviated(found)}; renumber them 0..{count - 1} "
                            "(label = np.unique(label, return_inverse=True)[1]) and, if the "
                            "old values name the classes, save them as class_names "
                            "(np.unique(label).astype(str))")
        return tuple(str(i) for i in range(count))
    names = arrays["class_names"]
    if names.dtype.kind != "U" or names.ndim != 1 or names.size == 0:
        raise DataError(f"{path}: class_names: expected a 1-D array of str names, one per "
                        f"class (np.array(['rest', 'run'])), got dtype {names.dtype}, shape "
                        f"{names.shape}")
    text = [str(n) for n in names]
    blank = [i for i, n in enumerate(text) if not n.strip()]
    if blank:
        raise DataError(f"{path}: class_names: expected a name for every class, got an empty "
                        f"one at index {blank[0]}")
    if len(set(text)) < len(text):
        twice = next(n for n in text if text.count(n) > 1)
        raise DataError(f"{path}: class_names: expected distinct names, one per class (not "
                        f"one per bin), got {twice!r} {text.count(twice)} times in "
                        f"{len(text)} names")
    beyond = np.flatnonzero(label >= len(text))
    if beyond.size:
        first = int(beyond[0])
        raise DataError(f"{path}: label: expected class indices 0..{len(text) - 1} (one per "
                        f"name of class_names), got {label[first]} at bin {first} "
                        f"({beyond.size} of {label.size} bins)")
    return tuple(text)


def _abbreviated(values: np.ndarray, most: int = 6) -> str:
    """``[10, 20, 30]``, or the first and last few of more than ``most`` values."""
    shown = [str(v) for v in values.tolist()]
    if len(shown) > most:
        shown = [*shown[:most - 2], "...", *shown[-2:]]
    return f"[{', '.join(shown)}]"
