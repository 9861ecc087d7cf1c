"""Every segmentation model builds and trains a step; names, dims and weights are checked."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("segmentation_models_pytorch", reason="needs mtneuro[seg]")
pytest.importorskip("monai", reason="needs mtneuro[seg]")

from mtneuro.errors import ConfigError  # noqa: E402
from mtneuro.models.segmentation import (  # noqa: E402
    PAPER_MODELS_2D,
    PAPER_MODELS_3D,
    create_segmentation_model,
    list_segmentation_models,
    model_dim,
)


def _tiny_input(name: str) -> torch.Tensor:
    if model_dim(name) == "3d":
        return torch.rand(2, 1, 8, 16, 16)
    # PAN's pyramid attention needs >= 128 pixels; the others work on 32.
    side = 128 if name == "pan" else 32
    return torch.rand(2, 1, side, side)


def test_registry_holds_the_paper_table():
    names = list_segmentation_models()
    assert set(PAPER_MODELS_2D) <= set(names) and set(PAPER_MODELS_3D) <= set(names)
    assert set(list_segmentation_models("3d")) == {*PAPER_MODELS_3D, "unet3d-mtneuro"}
    assert {"ssl-unet", "unet-mtneuro"} <= set(list_segmentation_models("2d"))


@pytest.mark.parametrize("classes", [3, 4])
@pytest.mark.parametrize("name", list_segmentation_models())
def test_forward_backward(name, classes):
    torch.manual_seed(0)
    model = create_segmentation_model(name, classes, model_dim(name))
    x = _tiny_input(name)
    logits = model(x)
    assert logits.shape == (x.shape[0], classes, *x.shape[2:])
    target = torch.randint(0, classes, (x.shape[0], *x.shape[2:]))
    loss = torch.nn.functional.cross_entropy(logits, target)
    loss.backward()
    # PSPNet keeps smp's unused deeper encoder stages, so some grads may be None.
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert len(grads) > 0.5 * len(list(model.parameters()))
    assert all(torch.isfinite(g).all() for g in grads)
    last = [p for p in model.parameters() if p.requires_grad][-1]
    assert last.grad is not None and last.grad.abs().sum() > 0


def test_bad_model_name_lists_valid_ones():
    with pytest.raises(ConfigError) as err:
        create_segmentation_model("unet2", 4)
    message = str(err.value)
    assert "unet2" in message and "did you mean" in message
    for name in list_segmentation_models():
        assert name in message


def test_dim_mismatch_names_models_of_that_dim():
    with pytest.raises(ConfigError, match="unet3d, vnet|highresnet, unet3d"):
        create_segmentation_model("unet", 4, "3d")


def test_bad_options_are_config_errors():
    with pytest.raises(ConfigError, match="smp encoder"):
        create_segmentation_model("unet", 4, encoder_name="resnet19")
    with pytest.raises(ConfigError, match=r"segmentation model 'vnet': unknown argument "
                                          r"'encoder_name'; it takes: "):
        create_segmentation_model("vnet", 4, encoder_name="resnet18")
    with pytest.raises(ConfigError, match="n_classes"):
        create_segmentation_model("unet", 1)


def test_local_encoder_weights_are_loaded(tmp_path):
    torch.manual_seed(1)
    donor = create_segmentation_model("fpn", 4)
    state = donor.encoder.state_dict()
    # RGB weights for the first convolution are summed over the 3 input channels.
    state["conv1.weight"] = state["conv1.weight"].repeat(1, 3, 1, 1) / 3
    path = tmp_path / "encoder.pt"
    torch.save(state, path)
    model = create_segmentation_model("unet", 3, encoder_weights=str(path))
    for key, value in donor.encoder.state_dict().items():
        torch.testing.assert_close(model.encoder.state_dict()[key], value)
    with pytest.raises(ConfigError, match="not found"):
        create_segmentation_model("unet", 3, encoder_weights=str(tmp_path / "missing.pt"))


def test_ssl_unet_uses_the_checkpoint_encoder(tmp_path):
    from mtneuro.models import create_encoder, save_encoder

    torch.manual_seed(2)
    encoder = create_encoder("resnet-tiny", in_channels=1)
    path = tmp_path / "byol.pt"
    save_encoder(
        path,
        encoder,
        name="resnet-tiny",
        kwargs={"in_channels": 1},
        input_spec={"spatial_dims": 2, "size": 64, "mean": 0.5, "std": 0.25},
    )
    model = create_segmentation_model("ssl-unet", 4, encoder=str(path))
    for key, value in encoder.state_dict().items():
        torch.testing.assert_close(model.encoder.state_dict()[key], value)
    assert (model.mean, model.std) == (0.5, 0.25)
    x = torch.rand(2, 1, 32, 32)
    assert model(x).shape == (2, 4, 32, 32)

    # the same encoder in memory, as load_encoder returns it: its normalisation counts too
    from mtneuro.models import load_encoder

    in_memory = create_segmentation_model("ssl-unet", 4, encoder=load_encoder(path))
    assert (in_memory.mean, in_memory.std) == (0.5, 0.25)
    with pytest.raises(ConfigError, match="in-memory ResNet: ssl-unet needs a 2D encoder"):
        create_segmentation_model("ssl-unet", 4,
                                  encoder=create_encoder("resnet-tiny", spatial_dims=3))

    frozen = create_segmentation_model("ssl-unet", 4, encoder=encoder, freeze_encoder=True)
    frozen.train()
    assert not frozen.encoder.training
    assert not any(p.requires_grad for p in frozen.encoder.parameters())


def test_ssl_unet_rejects_non_resnet_encoder():
    with pytest.raises(ConfigError, match=r"in-memory Conv2d': expected output \(B, D\)"):
        create_segmentation_model("ssl-unet", 4, encoder=torch.nn.Conv2d(1, 4, 3))
    pooled = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.AdaptiveAvgPool2d(1),
                                 torch.nn.Flatten())
    with pytest.raises(ConfigError, match="ResNet-like"):
        create_segmentation_model("ssl-unet", 4, encoder=pooled)
