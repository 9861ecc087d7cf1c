"""Mutation audit of today's changes: checkpoint digests and load messages, and the small
checks of the neural, stats, protocol, registry and cache code that no test pinned down.

Each test holds a known answer that a plausible slip (a dropped check, a missing delimiter,
a dropped type in a digest) would change."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from mtneuro import checkpoint_io
from mtneuro.checkpoint_io import content_digest, load_state, save_state
from mtneuro.errors import CheckpointError, ConfigError


class _System:
    """Pickles as a call of ``os.system``: a global torch's loader blocks outright."""

    def __reduce__(self) -> tuple:
        return (os.system, ("true",))


def test_the_digest_tells_dtypes_apart_even_when_the_bytes_agree() -> None:
    # zeros are the same bytes as int32 and float32: only the recorded dtype differs
    assert content_digest({"w": torch.zeros(4, dtype=torch.int32)}) != content_digest(
        {"w": torch.zeros(4, dtype=torch.float32)})


def test_the_digest_closes_each_dict() -> None:
    # without a closing mark, a key after a nested dict reads as a key inside it
    assert content_digest({"a": {"b": 1}, "c": 2}) != content_digest({"a": {"b": 1, "c": 2}})


def test_the_digest_quotes_strings_so_their_text_cannot_shift_between_items() -> None:
    # str() would feed "str:a;str:b;str:c;" for both lists
    assert content_digest({"k": ["a;str:b", "c"]}) != content_digest({"k": ["a", "b;str:c"]})


def test_save_state_records_that_this_process_wrote_a_checkpoint(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checkpoint_io, "_SAVED", [])
    assert not checkpoint_io.saved_this_process()
    written = save_state(tmp_path / "c.pt", {"step": 1})
    assert checkpoint_io.saved_this_process() and checkpoint_io._SAVED == [(written, "")]


def test_a_pickled_object_without_a_fix_ends_with_the_reason(tmp_path: Path) -> None:
    torch.save({"model": torch.nn.Linear(2, 1)}, tmp_path / "whole.pt")
    with pytest.raises(CheckpointError) as info:
        load_state(tmp_path / "whole.pt", what="encoder file")
    assert str(info.value).endswith("which mtneuro never unpickles (they can run code)")


def test_a_global_torch_blocks_outright_is_named_as_pickled_too(tmp_path: Path) -> None:
    # torch words a blocked module ("unsupported GLOBAL") unlike an unknown one
    torch.save({"hook": _System()}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError) as info:
        load_state(tmp_path / "evil.pt", what="checkpoint", pickled_fix="do P")
    message = str(info.value)
    assert "it holds pickled Python objects" in message and message.endswith("; do P")
    assert "damaged" not in message


def test_a_file_torch_cannot_read_ends_with_the_callers_fix(tmp_path: Path) -> None:
    (tmp_path / "junk.pt").write_bytes(b"hello")
    with pytest.raises(CheckpointError) as info:
        load_state(tmp_path / "junk.pt", what="checkpoint", damaged_fix="do Y")
    assert str(info.value).endswith("not written by this version of mtneuro; do Y")


def _recording(n_neurons: int = 3, kind: str = "reach") -> SimpleNamespace:
    """What a saved encoder's input check reads of a recording."""
    rates = np.arange(4 * n_neurons, dtype=np.float64).reshape(4, n_neurons)
    return SimpleNamespace(kind=kind, n_neurons=n_neurons, name="rec", rates=rates)


def _spec(live: list[int], **extra: object) -> dict:
    return {"live_neurons": live, "mean": [0.0] * len(live), "std": [1.0] * len(live), **extra}


@pytest.mark.parametrize("own", [
    _spec([0, 3]),  # neuron 3 is one past the last of three
    {**_spec([0, 1]), "mean": [0.0]},  # statistics of another neuron count
    {**_spec([0, 1]), "std": [1.0, 1.0, 1.0]},
    {**_spec([0, 1]), "std": [1.0, 0.0]},  # a zero std: inf inputs
])
def test_a_saved_encoder_spec_that_does_not_fit_the_recording_is_refused(own: dict) -> None:
    from mtneuro.tasks.neural.frozen import _as_trained

    with pytest.raises(ConfigError, match="a saved neural encoder reads the recording it was "
                                          "trained on"):
        _as_trained(_recording(), own)


def test_a_spec_saved_without_a_kind_is_read_as_the_recordings_kind() -> None:
    from mtneuro.tasks.neural.frozen import _as_trained

    z, spec = _as_trained(_recording(), {**_spec([2]), "mean": [1.0], "std": [2.0]})
    assert z.dtype == torch.float32 and z[:, 0].tolist() == [0.5, 2.0, 3.5, 5.0]
    assert spec["neurons"] == 1


def test_one_sample_over_agreeing_seeds_says_so_with_no_interval() -> None:
    from mtneuro.stats import describe, mean_interval

    one = mean_interval([1.0, 0.0], unit="test trials", groups=[7, 7])
    assert describe({"mean": 0.5, "std": 0.0, "n": 3}, one) == (
        "0.500 no 95% CI, from 1 test trials; deterministic: identical over 3 seeds")


def test_a_source_without_a_shape_is_no_one_slice_source() -> None:
    from mtneuro.tasks.protocol import slice_step_differs

    assert slice_step_differs("step", 8, "w", {"source": "x"}) == ["step 8 (reference 1, w)"]
    assert slice_step_differs("step", 8, "w", {"shape": [1, 64, 64]}) == []


def test_the_learning_rate_has_its_own_card_line_not_the_settings_line() -> None:
    from mtneuro.config import from_mapping
    from mtneuro.tasks.neural import NeuralConfig
    from mtneuro.tasks.protocol import neural_card

    card = neural_card(from_mapping(NeuralConfig, {"data": "chewie-1", "lr": 0.0123}))
    assert not [d for d in card["deviations"] if d.startswith("settings other")]


def test_only_the_module_itself_missing_gets_the_pythonpath_hint(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mtneuro.registry import ON_PATH, import_object

    # a module whose name starts with the name of the dependency it lacks
    (tmp_path / "audit_dep_xq_two.py").write_text("import audit_dep_xq\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError) as info:
        import_object("audit_dep_xq_two:build", "encoder")
    assert str(info.value).endswith("(No module named 'audit_dep_xq')")
    assert ON_PATH not in str(info.value)


def test_a_windows_path_is_told_the_module_form() -> None:
    from mtneuro.registry import import_object

    with pytest.raises(ConfigError, match=r"not its file: mypkg\.enc:build \("):
        import_object("mypkg\\enc:build", "encoder")


def test_an_mtneuro_error_in_a_forward_passes_through_as_it_is() -> None:
    from mtneuro.tasks.features import _forward

    class Refusing(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            raise ConfigError("encoder: said by mtneuro code the forward calls")

    with pytest.raises(ConfigError) as info:
        _forward(Refusing(), torch.zeros(1, 1, 4, 4))
    assert str(info.value) == "encoder: said by mtneuro code the forward calls"


def test_a_link_to_an_empty_folder_where_a_cache_file_belongs_is_not_removed(
        tmp_path: Path) -> None:
    from mtneuro.data.sources.cache_metadata import clear_file_path

    (tmp_path / "empty").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "empty")
    clear_file_path(tmp_path / "link")  # rmdir of a link fails: it is no folder of the cache
    assert (tmp_path / "link").is_symlink() and (tmp_path / "empty").is_dir()


def _mtneuro(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    from mtneuro.cli.main import main

    try:
        main(argv)
        code = 0
    except SystemExit as exit_:
        code = exit_.code or 0
    return code, capsys.readouterr().out


def test_a_folder_where_a_checksum_belongs_makes_an_absent_chunk_missing_not_unfilled(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a checksum (a folder here) says the chunk was fetched: its absence is damage
    root = tmp_path / "c"
    fetch = ["data", "fetch", "--source", "phantom", "--z", "0:8", "--y", "0:64", "--x", "0:64",
             "--chunk-shape", "8,64,64", "--channels", "image", "--quiet", "--cache", str(root)]
    assert _mtneuro(fetch, capsys)[0] == 0
    (root / "image/c/0/0/0").unlink()
    (root / "image/_sha256/0.0.0").unlink()
    (root / "image/_sha256/0.0.0").mkdir()
    code, out = _mtneuro(["data", "verify", "--cache", str(root), "--no-repair", "--quiet"],
                         capsys)
    assert code == 2 and "ok 0, corrupted 0, missing 1 " in out


class _Raising(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("no")


def test_the_one_channel_hint_is_for_image_encoders_only() -> None:
    from mtneuro.models.checkpoint import ONE_CHANNEL
    from mtneuro.models.user import infer_out_dim

    with pytest.raises(ConfigError) as vector:
        infer_out_dim(_Raising(), {"in_dim": 5})
    assert str(vector.value).endswith("(2, 5) failed (RuntimeError: no)")
    with pytest.raises(ConfigError) as image:
        infer_out_dim(_Raising(), {"spatial_dims": 2, "in_channels": 1, "size": 8})
    assert str(image.value).endswith(f"(RuntimeError: no); {ONE_CHANNEL}")


def test_a_failed_fill_of_a_new_cache_keeps_the_chunks_it_stored(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a rerun resumes from stored chunks: the cleanup is only of a cache holding none
    from mtneuro.data.sources.cache import CacheSource
    from mtneuro.data.sources.cache_fetch import fill_cache
    from mtneuro.errors import DataError

    real_fill = CacheSource.fill

    def fill_then_fail(self: CacheSource, *ranges: object, **options: object) -> None:
        real_fill(self, *ranges, **options)
        raise DataError("connection lost")

    monkeypatch.setattr(CacheSource, "fill", fill_then_fail)
    with pytest.raises(DataError, match="connection lost"):
        fill_cache(tmp_path / "c", "phantom", chunk_shape="8,64,64",
                   ranges=[(0, 8), (0, 64), (0, 64)], channels=["image"])
    assert (tmp_path / "c" / "image" / "c" / "0" / "0" / "0").is_file()


@pytest.mark.parametrize("live", [[], [-1]])
def test_a_saved_spec_naming_no_or_negative_neurons_is_one_config_error(live) -> None:
    # B1: no neurons raised a raw ValueError (max of an empty array); B2: -1 read neuron 2
    from mtneuro.tasks.neural.frozen import _as_trained

    rec = SimpleNamespace(kind="reach", n_neurons=3, name="r", rates=np.ones((4, 3)))
    spec = {"live_neurons": live, "mean": [0.0] * len(live), "std": [1.0] * len(live)}
    with pytest.raises(ConfigError, match=r"^encoder: trained on \d+ neurons of a recording "
                                          r"with neurons it does not name"):
        _as_trained(rec, spec)
