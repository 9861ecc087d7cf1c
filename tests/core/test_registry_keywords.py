"""A registry names an argument its factory does not take, where a bare TypeError came from
inside the factory before (API walkthrough: ``create_encoder("resnet-tiny", chanels=1)``)."""

from __future__ import annotations

import pytest

from mtneuro.errors import ConfigError
from mtneuro.models import create_encoder
from mtneuro.registry import Registry


def test_an_unknown_argument_is_named_with_the_closest_and_every_one_taken() -> None:
    with pytest.raises(ConfigError, match=r"^encoder 'resnet-tiny': unknown argument 'chanels' "
                                          r"\(did you mean 'in_channels'\?\); it takes: "
                                          r"in_channels, spatial_dims, widths$"):
        create_encoder("resnet-tiny", chanels=1)
    assert create_encoder("resnet-tiny", in_channels=1, widths=None).out_dim > 0


def test_a_factory_taking_any_keyword_is_not_second_guessed() -> None:
    things: Registry[dict] = Registry("thing")
    things.register("any")(lambda **kw: kw)
    things.register("two")(lambda a=1, *, b=2: {"a": a, "b": b})
    assert things.create("any", zz=3) == {"zz": 3}
    assert things.create("two", b=5) == {"a": 1, "b": 5}
    with pytest.raises(ConfigError, match=r"^thing 'two': unknown argument 'c'; it takes: a, b$"):
        things.create("two", c=1)


def test_repr_names_the_kind_and_abbreviates_long_lists() -> None:
    reg: Registry[int] = Registry("encoder")
    for name in "abcdefgh":
        reg.register(name)(lambda: 0)
    assert repr(reg) == "<Registry of encoder: 8 names: a, b, c, d, e, f, ... (2 more)>"
    assert repr(Registry("source")) == "<Registry of source: no names>"
