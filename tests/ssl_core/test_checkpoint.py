"""Encoder checkpoints round-trip exactly; user encoder specs resolve or fail clearly."""

from __future__ import annotations

import importlib.metadata
import textwrap

import pytest
import torch
from torch import nn

from mtneuro.checkpoint_io import save_state
from mtneuro.errors import ConfigError, DataError
from mtneuro.models import create_encoder, encoder_input_spec, load_encoder, save_encoder
from mtneuro.models import user as user_mod
from mtneuro.models.user import resolve_encoder

SPEC = {"spatial_dims": 2, "size": 16, "mean": 0.4894, "std": 0.1238}


def _trained_tiny(seed: int = 0):
    torch.manual_seed(seed)
    enc = create_encoder("resnet-tiny", widths=(4, 8))
    # Move BatchNorm running statistics away from their defaults so they must round-trip.
    enc.train()
    with torch.no_grad():
        enc(torch.rand(8, 1, 16, 16) * 3)
    return enc.eval()


def test_round_trip_gives_identical_outputs(tmp_path):
    enc = _trained_tiny()
    path = save_encoder(
        tmp_path / "sub" / "encoder.pt",
        enc,
        name="resnet-tiny",
        kwargs={"widths": (4, 8)},
        input_spec=SPEC,
        meta={"method": "byol"},
    )
    loaded = load_encoder(path)
    x = torch.rand(3, 1, 16, 16)
    assert torch.equal(enc(x), loaded(x))
    assert loaded.out_dim == 8 and not loaded.training
    assert encoder_input_spec(path) == {**SPEC, "in_channels": 1}  # filled from the encoder
    payload = torch.load(path, weights_only=True)
    assert payload["format"] == "mtneuro-encoder/1" and payload["meta"] == {"method": "byol"}
    assert [p.name for p in path.parent.iterdir()] == ["encoder.pt"]  # no temp file left


def test_load_errors_are_clear(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_encoder(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_text("hello")
    with pytest.raises(DataError, match="not a torch checkpoint"):
        load_encoder(junk)
    other = tmp_path / "other.pt"
    torch.save({"model": {}}, other)
    with pytest.raises(DataError, match="not an mtneuro encoder checkpoint"):
        load_encoder(other)
    future = tmp_path / "future.pt"
    torch.save({"format": "mtneuro-encoder/9"}, future)
    with pytest.raises(DataError, match="mtneuro-encoder/9"):
        load_encoder(future)


def test_save_rejects_unknown_name(tmp_path):
    with pytest.raises(ConfigError, match="resnet-tiny"):
        save_encoder(tmp_path / "e.pt", _trained_tiny(), name="nope", kwargs={})


def test_mismatched_weights_are_reported(tmp_path):
    # The default widths (16, 32, 64, 64) do not fit the (4, 8) weights: refused when saved
    with pytest.raises(ConfigError, match=r"'resnet-tiny' with kwargs \{\} does not rebuild"):
        save_encoder(tmp_path / "e.pt", _trained_tiny(), name="resnet-tiny", kwargs={})
    path = save_encoder(tmp_path / "e.pt", _trained_tiny(), name="resnet-tiny",
                        kwargs={"widths": (4, 8)})

    def altered(**change):
        payload = torch.load(path, weights_only=True)
        save_state(tmp_path / "altered.pt", {**payload, **change})
        return tmp_path / "altered.pt"

    # ... and when loaded (a file written otherwise), naming the keys
    with pytest.raises(DataError, match="weights do not fit") as err:
        load_encoder(altered(kwargs={}))
    assert "Missing key(s) in state_dict: " in str(err.value)  # not only torch's heading
    # a recorded out_dim the rebuilt encoder does not give is refused, not trusted
    with pytest.raises(DataError, match="records out_dim 999, but 'resnet-tiny'"):
        load_encoder(altered(out_dim=999))


@pytest.fixture
def toy_module(tmp_path, monkeypatch):
    (tmp_path / "toy_user_encoder.py").write_text(
        textwrap.dedent("""
        import torch
        from torch import nn

        class Flat(nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = nn.Linear(36, 5)

            def forward(self, x):
                x = nn.functional.adaptive_avg_pool2d(x, 6)
                return self.lin(x.flatten(1))

        def build():
            return Flat()

        def not_a_module():
            return 3
    """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return "toy_user_encoder"


def test_module_callable_resolves_and_infers_out_dim(toy_module):
    enc, spec = resolve_encoder(f"{toy_module}:build")
    assert enc.out_dim == 5 and spec["spatial_dims"] == 2 and spec["in_channels"] == 1
    assert enc(torch.rand(2, 1, 32, 32)).shape == (2, 5)


def test_bad_user_specs(toy_module):
    with pytest.raises(ConfigError, match="expected the callable to return an nn.Module"):
        resolve_encoder(f"{toy_module}:not_a_module")
    with pytest.raises(ConfigError, match="has no attribute 'missing'"):
        resolve_encoder(f"{toy_module}:missing")
    with pytest.raises(ConfigError, match="cannot import module"):
        resolve_encoder("no_such_module_xyz:build")
    with pytest.raises(ConfigError, match="expected a checkpoint file, 'module:callable'") as err:
        resolve_encoder("no-such-encoder")
    # only registered encoders a name alone builds are offered (mlp needs in_dim)
    assert "(resnet-tiny, resnet18, " in str(err.value) and "mlp" not in str(err.value)
    with pytest.raises(DataError, match="not found"):
        resolve_encoder("runs/missing/encoder.pt")


def test_a_vector_encoder_without_out_dim_gets_it_from_a_forward_pass():
    class Rates(nn.Module):  # a neural encoder: (B, in_dim) -> (B, 5), out_dim not declared
        in_dim = 7

        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(7, 5)

        def forward(self, x):
            return self.linear(x)

    encoder, spec = resolve_encoder(Rates())
    assert encoder.out_dim == 5 and spec["in_dim"] == 7 and "spatial_dims" not in spec


def test_checkpoint_and_registry_specs(tmp_path):
    enc = _trained_tiny()
    path = save_encoder(
        tmp_path / "e.pt", enc, name="resnet-tiny", kwargs={"widths": (4, 8)}, input_spec=SPEC
    )
    got, spec = resolve_encoder(str(path))
    x = torch.rand(2, 1, 16, 16)
    assert torch.equal(got(x), enc(x)) and spec["size"] == 16 and spec["mean"] == 0.4894
    rand, spec = resolve_encoder("resnet18")
    assert rand.out_dim == 512 and spec["in_channels"] == 1
    _, spec = resolve_encoder("resnet18-small")
    assert spec["in_channels"] == 3 and spec["spatial_dims"] == 2


def test_entry_point_spec(toy_module, monkeypatch):
    ep = importlib.metadata.EntryPoint(
        name="toy", value=f"{toy_module}:build", group=user_mod.ENTRY_POINT_GROUP
    )
    monkeypatch.setattr(
        user_mod, "entry_points", lambda group: [ep] if group == user_mod.ENTRY_POINT_GROUP else []
    )
    enc, _ = resolve_encoder("toy")
    assert enc.out_dim == 5


def test_vector_encoder_checkpoint_spec(tmp_path):
    torch.manual_seed(0)
    enc = create_encoder("mlp", in_dim=12, hidden=[8], out_dim=4).eval()
    path = save_encoder(
        tmp_path / "mlp.pt", enc, name="mlp", kwargs={"in_dim": 12, "hidden": [8], "out_dim": 4}
    )
    got, spec = resolve_encoder(str(path))
    assert spec == {"in_dim": 12}
    x = torch.randn(5, 12)
    assert torch.equal(got(x), enc(x))


def test_broken_entry_point_is_named(monkeypatch):
    ep = importlib.metadata.EntryPoint(
        name="broken", value="no_such_module_xyz:build", group=user_mod.ENTRY_POINT_GROUP
    )
    monkeypatch.setattr(user_mod, "entry_points", lambda group: [ep])
    with pytest.raises(ConfigError, match="entry point 'no_such_module_xyz:build'.*failed to load"):
        resolve_encoder("broken")


def test_user_encoder_file_is_rebuilt_only_when_its_code_is_trusted(toy_module, tmp_path):
    from mtneuro.registry import import_callable

    enc = import_callable(f"{toy_module}:build")()
    enc.out_dim = 5
    path = save_encoder(tmp_path / "user.pt", enc, name=f"{toy_module}:build")
    with pytest.raises(DataError, match="trust_code=True"):
        load_encoder(path)
    with pytest.raises(DataError, match="trust_code=True"):
        resolve_encoder(str(path))  # the command line's --encoder FILE
    x = torch.rand(2, 1, 12, 12)
    assert torch.equal(load_encoder(path, trust_code=True)(x), enc(x))


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_a_good_file_loaded_onto_an_absent_device_is_not_called_damaged(tmp_path):
    from mtneuro.checkpoint_io import load_state, save_state
    from mtneuro.errors import CheckpointError

    path = save_state(tmp_path / "ok.pt", {"weights": torch.ones(2)})
    with pytest.raises(CheckpointError, match="cannot be loaded onto cuda: ") as err:
        load_state(path, what="checkpoint", map_location="cuda")
    assert "damaged" not in str(err.value)
