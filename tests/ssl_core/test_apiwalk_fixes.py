"""Findings F2 and F3 of the Python API walk-through: a keyword an SSL method does not take is
named with the valid ones (``create_method``, ``MYOW(k=...)``, ``BYOL.forward``), and a
schedule name that is not one is refused instead of meaning "constant"."""

from __future__ import annotations

import inspect

import pytest
import torch

from mtneuro.errors import ConfigError
from mtneuro.models import create_encoder
from mtneuro.ssl import BYOL, MYOW, create_method
from mtneuro.ssl.schedules import ema_momentum, warmup_lr

HEADS = {"projector_hidden": 8, "projector_out": 4, "predictor_hidden": 8}
BYOL_TAKES = ("encoder, projector_hidden, projector_out, predictor_hidden, projector, "
              "predictor, batch_norm")
MYOW_TAKES = ("encoder, batch_norm, mined_projector_hidden, mined_out, mined_predictor_hidden, "
              "projector_m, predictor_m, mine_space, k, loss_mix, projector_hidden, "
              "projector_out, predictor_hidden, projector, predictor")


def _encoder() -> torch.nn.Module:
    torch.manual_seed(0)
    return create_encoder("resnet-tiny", widths=(4, 8))


@pytest.mark.parametrize(("name", "kwargs", "message"), [
    # was: TypeError: BYOL.__init__() got an unexpected keyword argument 'kk'
    ("myow", {"kk": 3}, ("ssl method 'myow': unknown argument 'kk' (did you mean 'k'?); "
                         f"it takes: {MYOW_TAKES}")),
    ("myow-merged", {"minedout": 3}, ("ssl method 'myow-merged': unknown argument 'minedout' "
                                      f"(did you mean 'mined_out'?); it takes: {MYOW_TAKES}")),
    ("byol", {"k": 3}, f"ssl method 'byol': unknown argument 'k'; it takes: {BYOL_TAKES}"),
])
def test_create_method_names_an_unknown_keyword(name: str, kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        create_method(name, _encoder(), **HEADS, **kwargs)
    assert str(info.value) == message


def test_create_method_still_builds_each_layout_and_drops_none() -> None:
    assert type(create_method("byol", _encoder(), **HEADS, projector=None)) is BYOL
    myow = create_method("myow", _encoder(), **HEADS, k=2, mined_out=4, mined_projector_hidden=8)
    assert (myow.layout, myow.k) == ("cascaded", 2)
    merged = create_method("myow-merged", _encoder(), **HEADS, k=None)
    assert (merged.layout, merged.k) == ("merged", 1)


def test_layout_is_fixed_by_the_name() -> None:
    with pytest.raises(ConfigError, match=r"unknown argument 'layout'"):
        create_method("myow", _encoder(), **HEADS, layout="merged")


@pytest.mark.parametrize("k", [0, 1.0, True, "2"])
def test_myow_k_is_a_config_error(k: object) -> None:
    # was a bare ValueError, where layout and loss_mix gave ConfigError
    with pytest.raises(ConfigError, match=rf"^MYOW k: expected int >= 1, got {k!r}$"):
        MYOW(_encoder(), **HEADS, k=k)  # type: ignore[arg-type]


def test_byol_forward_refuses_a_name_neither_method_takes() -> None:
    method = BYOL(_encoder(), **HEADS)
    view = torch.rand(2, 1, 8, 8)
    with pytest.raises(ConfigError) as info:
        method(view, view, minedweight=0.3)
    assert str(info.value) == (
        "BYOL.forward: unknown argument 'minedweight' (did you mean 'mined_weight'?); it takes: "
        "fuse_target_views, pool, exclude, mined_weight, generator, uniform, gather, rank, view_m")


def test_byol_forward_ignores_every_name_of_the_common_call() -> None:
    from mtneuro.ssl.byol import COMMON_CALL_NAMES

    method = BYOL(_encoder(), **HEADS).eval()
    a, b = torch.rand(2, 1, 8, 8), torch.rand(2, 1, 8, 8)
    plain = method(a, b)["loss"]
    common = {"pool": a, "exclude": None, "mined_weight": 0.5, "generator": None,
              "uniform": None, "gather": None, "rank": 0, "view_m": a}
    assert set(common) == set(COMMON_CALL_NAMES)
    assert torch.equal(method(a, b, **common)["loss"], plain)


def test_the_common_call_names_are_myows_forward_keywords() -> None:
    from mtneuro.ssl.byol import COMMON_CALL_NAMES

    # BYOL cannot import MYOW (MYOW derives from it): this keeps the list in step
    keywords = [p.name for p in inspect.signature(MYOW.forward).parameters.values()
                if p.kind is p.KEYWORD_ONLY and p.name != "fuse_target_views"]
    assert sorted(keywords) == sorted(COMMON_CALL_NAMES)


@pytest.mark.parametrize(("call", "argument"), [
    # was 1.0 and 0.9: any other name meant "constant"
    (lambda: warmup_lr(5, 10, 0, 1.0, decay="cosin"), "decay"),
    (lambda: ema_momentum(5, 10, 0.9, schedule="cosin"), "schedule"),
])
def test_an_unknown_schedule_name_is_refused(call, argument: str) -> None:
    with pytest.raises(ValueError, match=rf"^unknown {argument} 'cosin' \(did you mean "
                                         r"'cosine'\?\); valid: cosine, constant$") as info:
        call()
    assert isinstance(info.value, ConfigError)


def test_the_schedule_names_keep_their_values() -> None:
    assert warmup_lr(5, 10, 0, 1.0, decay="cosine") == pytest.approx(0.5)
    assert warmup_lr(5, 10, 0, 1.0, decay="constant") == 1.0
    assert ema_momentum(5, 10, 0.9, schedule="cosine") == pytest.approx(0.95)
    assert ema_momentum(5, 10, 0.9, schedule="constant") == 0.9
