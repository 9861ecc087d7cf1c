"""Mutation audit (mut17) of MYOW's third (query) view: the mined loss of each layout worked
out by hand, the trainer's in-batch third view, the static step passing the view on, and
full pre-training handing its weight-decay choice to the optimiser."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from ssl_train_helpers import RecordingMethod, flip_noise_view, tiny_myow
from torch.nn.functional import normalize

from mtneuro.ssl.losses import normalized_mse
from mtneuro.ssl.trainer import Trainer, TrainSettings


def _views() -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(0)
    view_a, view_b, query = (torch.rand(4, 1, 16, 16, generator=gen) for _ in range(3))
    return view_a, view_b, query, torch.rand(6, 1, 16, 16, generator=gen)


@pytest.mark.parametrize("layout", ["cascaded", "merged"])
def test_the_mined_loss_of_a_query_view_is_its_own_by_hand(layout: str) -> None:
    view_a, view_b, query, pool = _views()
    method = tiny_myow(seed=1, layout=layout, k=1)
    with torch.no_grad():  # a target unlike the online branch, as after any training step
        gen = torch.Generator().manual_seed(2)
        for name, p in method.named_parameters():
            if name.startswith("target"):
                p.add_(0.3 * torch.randn(p.shape, generator=gen))
    out = method(view_a, view_b, view_m=query, pool=pool, mined_weight=0.5,
                 uniform=torch.full((4,), 0.5))
    with torch.no_grad():
        y_q, z_q, p_q = method.online(query)
        pool_y = method.target_encoder(pool)
        index = (normalize(y_q, dim=1) @ normalize(pool_y, dim=1).T).argmax(dim=1)
        tz_mined = method.target_projector(pool_y[index])
        if layout == "merged":  # its own target forward: BatchNorm over the mined batch
            tz_mined = method.target(pool[index])[1]
            assert not torch.allclose(tz_mined, method.target_projector(pool_y[index]))
        if layout == "cascaded":
            mined = normalized_mse(method.predictor_m(method.online_projector_m(z_q)),
                                   method.target_projector_m(tz_mined))
        else:  # symmetric: the query predicts the mined, the mined predicts the query
            mined = 0.5 * (normalized_mse(p_q, tz_mined)
                           + normalized_mse(method.online(pool[index])[2],
                                            method.target(query)[1]))
    assert torch.equal(out["mined_index"], index)
    torch.testing.assert_close(out["mined_loss"], mined)



def test_without_a_pool_the_third_view_is_a_third_call_of_the_view() -> None:
    images = torch.arange(8, dtype=torch.float32).view(8, 1, 1, 1).expand(8, 1, 2, 2)
    outputs: list[torch.Tensor] = []

    def view(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        outputs.append(batch + 100.0 * len(outputs))  # each call's output tells it apart
        return outputs[-1]

    method = RecordingMethod()
    settings = TrainSettings(epochs=1, batch_size=4, lr=0.0, warmup_epochs=0, pool_size=0,
                             mining_view="third", quiet=True, channels_last=False,
                             step="eager", mined_weight=0.5)
    Trainer(method, torch.optim.SGD(method.parameters(), lr=0.0), images.contiguous(), view,
            settings, None).fit()
    first = method.given[0]
    assert len(outputs) == 3 * len(method.given) and first["pool"] is None
    assert torch.equal(first["view_m"], outputs[2])  # a, b, then the query: own augmentation
    assert not torch.equal(first["view_m"], first["view_a"])


@pytest.fixture
def _float64():
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def _fit(images: torch.Tensor, out_dir: Path, **changes) -> list[float]:
    import json

    method = tiny_myow(seed=3)
    opt = torch.optim.SGD([p for p in method.parameters() if p.requires_grad], lr=0.05,
                          momentum=0.9)
    settings = TrainSettings(**{"epochs": 1, "batch_size": 16, "lr": 0.05, "warmup_epochs": 0,
                                "mined_weight": 0.5, "mined_rampup_epochs": 0, "pool_size": 16,
                                "seed": 3, "log_every": 1, "quiet": True, **changes})
    Trainer(method, opt, images[:48], flip_noise_view, settings, out_dir).fit()
    lines = (out_dir / "train_log.jsonl").read_text().splitlines()
    return [json.loads(line)["mined_loss"] for line in lines]


def test_the_static_step_mines_from_the_third_view_as_the_eager_step(
        digits_images: torch.Tensor, tmp_path: Path, _float64: None) -> None:
    eager = _fit(digits_images, tmp_path / "eager", step="eager", mining_view="third")
    static = _fit(digits_images, tmp_path / "static", step="static", mining_view="third")
    view_a = _fit(digits_images, tmp_path / "a", step="eager", mining_view="a")
    assert static == pytest.approx(eager, rel=1e-12, abs=1e-12)
    assert view_a[0] != pytest.approx(eager[0], rel=1e-6)  # the view is not view a's


def test_pretraining_hands_its_weight_decay_choice_to_the_optimiser(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from mtneuro.ssl import trainer as trainer_module
    from mtneuro.tasks.pretrain.config import make_config
    from mtneuro.tasks.pretrain.run import pretrain_encoder

    class _Stop(Exception):
        pass

    seen: list[list[float]] = []

    def fit(self, resume: bool = False, resume_hint: str = ""):
        seen.append([g["weight_decay"] for g in self.optimizer.param_groups if g["params"]])
        raise _Stop

    monkeypatch.setattr(trainer_module.Trainer, "fit", fit)
    images = torch.randint(0, 255, (8, 1, 32, 32), dtype=torch.uint8)
    for exclude in (True, False):
        config = make_config("quick", {"method": "byol", "exclude_bias_and_norm": exclude,
                                       "crop": 16, "weight_decay": 1e-3, "batch_size": 4,
                                       "quiet": True})
        with pytest.raises(_Stop):
            pretrain_encoder(config, images)
    assert seen == [[1e-3, 0.0], [1e-3]]  # off: no group is spared the decay
