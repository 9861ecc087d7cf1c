"""A ``--source volume`` Zarr folder whose metadata zarr cannot make an array of: one line
naming the metadata file, not the KeyError / TypeError zarr raised while reading a field."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from cli_capture import run

from mtneuro.data.volume_file import read_volume
from mtneuro.errors import DataError

ARRAY = {"zarr_format": 3, "node_type": "array"}


@pytest.mark.parametrize(("document", "reason"), [
    (ARRAY, "missing field 'data_type'"),
    ({**ARRAY, "shape": [2, 3]}, "missing field 'data_type'"),
    ([1, 2], ""),  # zarr's own words for the wrong types may change with its version
    ({**ARRAY, "shape": "x", "data_type": "uint8", "fill_value": 0,
      "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [1, 1]}},
      "chunk_key_encoding": {"name": "default"}, "codecs": [{"name": "bytes"}]},
     ""),
], ids=["no-fields", "no-data-type", "not-an-object", "shape-not-a-list"])
def test_invalid_zarr_array_metadata_is_named_in_one_line(tmp_path: Path, document, reason):
    folder = tmp_path / "v.zarr"
    folder.mkdir()
    (folder / "zarr.json").write_text(json.dumps(document))
    with warnings.catch_warnings():  # zarr warns of a document it does not recognise
        warnings.simplefilter("ignore")
        with pytest.raises(DataError) as err:
            read_volume(folder)
    message = str(err.value)
    assert "\n" not in message and reason in message
    assert message.startswith(f"volume {folder}: invalid Zarr array metadata in "
                              f"{folder / 'zarr.json'} (")


def test_data_info_of_a_volume_with_invalid_zarr_metadata_is_one_error_line(tmp_path, capsys):
    folder = tmp_path / "v.zarr"
    folder.mkdir()
    (folder / "zarr.json").write_text(json.dumps(ARRAY))
    code, _, err = run(["data", "info", "--source", "volume", "--source-param",
                        f"path={folder}"], capsys)
    assert code == 2 and "Traceback" not in err
    assert err.strip().splitlines() == [
        f"error: volume {folder}: invalid Zarr array metadata in {folder / 'zarr.json'} (missing "
        "field 'data_type'); write it again with zarr, or save the volume as .npy"]
