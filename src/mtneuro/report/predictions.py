"""Per-sample predictions of a run: ``predictions.csv`` beside its ``metrics.json``.

One row per scored test sample and seed (a task-1 tile or crop, a task-3 crop, a neural
bin) with what identifies it, its truth and the prediction, so that two methods can be
compared sample by sample (a paired comparison on the same test samples) and their errors
looked at, without running anything again. A task puts the columns in its result's
``artefacts["predictions"]`` (equal-length sequences, keyed by column name);
:func:`~mtneuro.report.record.run_and_record` writes them and names the file in the record
(``"predictions": "predictions.csv"``).

>>> import tempfile
>>> folder = tempfile.mkdtemp()
>>> write_predictions({"seed": [0, 0], "true": ["CTX", "STR"], "predicted": ["CTX", "CTX"]},
...                   folder)
'predictions.csv'
>>> rows = read_predictions(folder)
>>> float((rows["true"] == rows["predicted"]).mean())  # the seed's accuracy
0.5
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mtneuro.atomic import write_atomic
from mtneuro.errors import DataError

#: The file's name in a run folder.
PREDICTIONS_FILE = "predictions.csv"


def write_predictions(columns: Mapping[str, Sequence[Any]], out_dir: str | Path) -> str:
    """Write ``columns`` as ``out_dir/predictions.csv`` (atomically); returns the file name.

    Raises:
        ValueError: no columns, or columns of different lengths (a task's bug: the rows
            would pair samples with other samples' predictions).
    """
    if not columns:
        raise ValueError("predictions: no columns")
    arrays = {name: np.asarray(values) for name, values in columns.items()}
    lengths = {name: len(values) for name, values in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"predictions: columns of different lengths {lengths}")
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(arrays)
    writer.writerows(zip(*(values.tolist() for values in arrays.values()), strict=True))
    write_atomic(Path(out_dir) / PREDICTIONS_FILE, text.getvalue().encode())
    return PREDICTIONS_FILE


def read_predictions(path: str | Path) -> dict[str, np.ndarray]:
    """The columns of a ``predictions.csv`` (or of the one in the folder ``path``): numbers
    as float or int arrays, any other column as strings.

    Raises:
        DataError: the file is empty, not CSV text, or has a row whose number of fields is
            not the header's (a file cut short: its line is named).
    """
    path = Path(path)
    if path.is_dir():
        path = path / PREDICTIONS_FILE
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            rows = [(reader.line_num, row) for row in reader if row]  # blank lines: no sample
    except (UnicodeDecodeError, csv.Error) as err:
        raise DataError(f"{path}: not a readable CSV file ({err}); run it again") from None
    if not rows:
        raise DataError(f"{path}: empty, expected a header row")
    header, body = rows[0][1], [row for _, row in rows[1:]]
    for line, row in rows[1:]:
        if len(row) != len(header):
            raise DataError(f"{path}: line {line} has {len(row)} fields, expected "
                            f"{len(header)} as the header (a damaged or cut-short file: run it "
                            "again)")
    columns = zip(*body, strict=True) if body else ([] for _ in header)
    return {name: _typed(list(values)) for name, values in zip(header, columns, strict=True)}


def _typed(values: list[str]) -> np.ndarray:
    for kind in (np.int64, np.float64):
        try:
            return np.asarray(values, dtype=kind)
        except ValueError:
            continue
    return np.asarray(values, dtype=str)
