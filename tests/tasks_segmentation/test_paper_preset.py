"""Task 2's ``paper`` preset is the released MTNeuro script, value by value; ImageNet weights
are fetched through smp (offline: one actionable line); the protocol card is honest."""

from __future__ import annotations

import pytest
import segmentation_models_pytorch as smp
import torch
from huggingface_hub.errors import LocalEntryNotFoundError
from safetensors.torch import save_file

from mtneuro.errors import ConfigError
from mtneuro.models.segmentation import create_segmentation_model
from mtneuro.tasks.segmentation.batches import CropBatches
from mtneuro.tasks.segmentation.config import task2_config
from mtneuro.tasks.segmentation.protocol import task2_card
from mtneuro.tasks.segmentation.train import make_optimizer, make_schedule

# The reference's values, read from MTNeuro/MTNeuro (HEAD of the mirror):
REFERENCE_2D = {
    "optimizer": "sgd",     # networkconfig/UNet_2D_4class.json:2 "optimizer": "SGD"
    "momentum": 0.0,        # scripts/task2_main.py:148 torch.optim.SGD(model.parameters(), lr=...)
    "weight_decay": 0.0,    # scripts/task2_main.py:148 (no weight_decay argument)
    "lr": 0.01,             # networkconfig/UNet_2D_4class.json:5 "learning_rate": 0.01
    "schedule": "constant",  # scripts/task2_main.py:159 lr_scheduler=None
    "epochs": 5,            # networkconfig/UNet_2D_4class.json:6 "epochs": 5
    "batch_size": 8,        # networkconfig/UNet_2D_4class.json:7 "batch_size": 8
    "augment": False,       # networkconfig/UNet_2D_4class.json:9 "augmentations": 0 -> task2_main.py:30-32
    "crop": 256,            # taskconfig/task2_2D_4class.json:23 "tile_size": [256,256], whole tiles
    "steps_per_epoch": None,  # scripts/task2_main.py:49-51 one DataLoader pass per epoch
    "drop_last": False,     # scripts/task2_main.py:49-51 DataLoader default keeps the last batch
    "loss": "ce",           # scripts/task2_main.py:144 torch.nn.CrossEntropyLoss()
    "class_weights": "none",  # scripts/task2_main.py:144 (no weight)
    "amp": "none",          # scripts/task2_main.py: no autocast, fp32
}
REFERENCE_3D = {**REFERENCE_2D, "batch_size": 1}  # networkconfig/UNet_3D_4class.json:7 "batch_size": 1
REFERENCE_SLICES = {"train_z_step": 1, "test_z_step": 1}  # taskconfig/task2_*.json:18,20 every slice


@pytest.mark.parametrize(("model", "reference"), [("unet", REFERENCE_2D), ("fpn", REFERENCE_2D),
                                                  ("unet3d", REFERENCE_3D)])
def test_paper_preset_is_the_reference_table(model, reference):
    config = task2_config("paper", model=model)
    assert {k: getattr(config.train, k) for k in reference} == reference
    assert {k: getattr(config, k) for k in REFERENCE_SLICES} == REFERENCE_SLICES
    assert (config.window or config.train.crop) == 256  # inference on whole tiles
    assert config.encoder_weights is None  # random init unless asked (no downloads)


def test_paper_optimiser_is_plain_sgd_at_a_constant_rate():
    config = task2_config("paper", model="unet")
    model = torch.nn.Linear(2, 2)
    optimizer = make_optimizer(model, config.train)
    schedule = make_schedule(optimizer, config.train, total_steps=10)
    assert isinstance(optimizer, torch.optim.SGD)
    assert optimizer.param_groups[0]["momentum"] == 0.0
    for _ in range(7):
        optimizer.step()
        schedule.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.01)


def test_paper_batches_keep_the_last_partial_batch_of_whole_tiles():
    images = torch.arange(10 * 4 * 4, dtype=torch.uint8).reshape(10, 1, 4, 4).numpy()
    masks = (images[:, 0] % 3).astype("int64")
    train = task2_config("paper", model="unet", train={"crop": 4}).train
    batches = CropBatches(images, masks, batch_size=train.batch_size, crop=train.crop,
                          augment=train.augment, drop_last=train.drop_last)
    sizes = [len(x) for x, _ in batches.epoch(0)]
    assert sizes == [8, 2]  # 10 tiles at batch 8, as a DataLoader without drop_last
    seen = torch.cat([x for x, _ in batches.epoch(0)])
    # every tile once, whole and unchanged (no augmentation)
    tiles = seen.mul(255).round().reshape(10, -1)[:, 0].tolist()
    assert sorted(tiles) == [16.0 * i for i in range(10)]
    assert len(CropBatches(images, masks, batch_size=8, crop=4)) == 1  # default drops it
    # a last batch of one tile joins the one before it (test_batches_last.py)
    nine = CropBatches(images[:9], masks[:9], batch_size=8, crop=4, drop_last=False)
    assert [len(x) for x, _ in nine.epoch(0)] == [9]


def _fake_hub(tmp_path, monkeypatch, state):
    """smp's download function, answering from a local file (the test runs offline)."""
    path = tmp_path / "model.safetensors"
    save_file(state, str(path))
    (tmp_path / "config.json").write_text("{}")
    calls = []

    def download(repo_id, filename, revision=None):
        calls.append((repo_id, filename))
        return str(tmp_path / filename)

    monkeypatch.setattr(smp.encoders, "hf_hub_download", download)
    return calls


def test_imagenet_weights_come_through_smp(tmp_path, monkeypatch):
    torch.manual_seed(3)
    donor = smp.encoders.get_encoder("resnet18", in_channels=3)
    state = {k: v.contiguous() for k, v in donor.state_dict().items()}
    calls = _fake_hub(tmp_path, monkeypatch, state)
    model = create_segmentation_model("fpn", 4, encoder_weights="imagenet")
    assert ("smp-hub/resnet18.imagenet", "model.safetensors") in calls
    # one input channel: smp sums the RGB filters of the first convolution
    torch.testing.assert_close(model.encoder.conv1.weight, state["conv1.weight"].sum(1, keepdim=True))
    torch.testing.assert_close(model.encoder.layer4[1].conv2.weight, state["layer4.1.conv2.weight"])


def test_imagenet_weights_offline_fail_with_one_line_saying_what_to_do(monkeypatch):
    def offline(*args, **kwargs):
        raise LocalEntryNotFoundError("An error happened while trying to locate the file on the "
                                      "Hub and we cannot find the requested files in the local cache.")

    monkeypatch.setattr(smp.encoders, "hf_hub_download", offline)
    with pytest.raises(ConfigError) as info:
        create_segmentation_model("manet", 4, encoder_weights="imagenet")
    message = str(info.value)
    assert "\n" not in message
    assert "cannot fetch the ImageNet weights of smp encoder 'resnet18'" in message
    assert "get_encoder('resnet18', weights='imagenet')" in message  # how to pre-fetch
    assert "random initialisation" in message


def test_paper_cards_list_random_init_until_imagenet_weights_are_asked_for():
    random_init = task2_card(task2_config("paper", model="fpn", source="bossdb"))
    assert random_init["protocol"] == {"name": "task2-paper", "version": 1}
    assert any(d.startswith("random init instead of ImageNet weights")
               for d in random_init["deviations"])
    imagenet = task2_card(task2_config("paper", model="fpn", source="bossdb",
                                          encoder_weights="imagenet"))
    assert not any("ImageNet" in d for d in imagenet["deviations"])
    assert not any(d.startswith("train.") for d in imagenet["deviations"])  # the script's training
    quick = task2_card(task2_config("quick", model="fpn"))
    texts = "\n".join(quick["deviations"])
    for needle in ("train.optimizer adamw", "train.crop 128", "train.schedule cosine",
                   "train.augment on", "data: the synthetic phantom"):
        assert needle in texts
    windows = task2_card(task2_config("paper", model="fpn", window=128))["deviations"]
    assert any(d.startswith("sliding-window inference with 128-px windows") for d in windows)


@pytest.mark.parametrize(("values", "says"), [
    ({}, None),
    ({"encoder_weights": "imagenet"}, "encoder starts from ImageNet weights; the reference's "
                                      "U-Net starts from random ones"),
    ({"encoder_weights": "w.safetensors"}, "encoder starts from a local file's weights"),
])
def test_the_unet_card_names_its_encoder_and_weights(values, says):
    """An audit: the U-Net card said "random init" and "ResNet-18" whatever --encoder-name and
    --encoder-weights were given."""
    deviations = task2_card(task2_config("paper", model="unet", **values))["deviations"]
    weights = [d for d in deviations if d.startswith("encoder starts from")]
    if says is None:
        assert weights == []
    else:
        assert len(weights) == 1 and says in weights[0], weights
    named = task2_card(task2_config("paper", model="unet", encoder_name="resnet34"))
    assert named["deviations"][0].startswith("2D U-Net: smp's U-Net with a resnet34 encoder")
