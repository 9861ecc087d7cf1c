"""Known answers of :mod:`mtneuro.config` that a mutation audit found untested: the fields a
check covers (those a caller gives, not those the class sets itself) and
:func:`~mtneuro.config.changed_values` on keys one side lacks, orders and plain values."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pytest

from mtneuro.config import ABSENT, CheckedConfig, changed_values, from_mapping, positive
from mtneuro.errors import ConfigError


@dataclass(frozen=True)
class Scaled(CheckedConfig):
    """A config with a value it derives itself (``init=False``), set after the check."""

    size: int = field(default=2, metadata=positive())
    doubled: int = field(init=False, metadata=positive())

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "doubled", 2 * self.size)


def test_a_derived_field_is_neither_checked_nor_a_key_of_the_mapping() -> None:
    # checked before __post_init__ sets it, it would not be there to check
    assert Scaled(size=4).doubled == 8
    assert dataclasses.replace(Scaled(), size=5).doubled == 10
    assert from_mapping(Scaled, {"size": 3}).doubled == 6
    with pytest.raises(ConfigError) as caught:
        from_mapping(Scaled, {"doubled": 4})
    assert str(caught.value) == "doubled: unknown key; expected one of: size"


def test_a_key_only_the_first_mapping_has_is_a_change_to_absent() -> None:
    assert changed_values({"a": 1, "b": 2}, {"a": 1}) == [("b", 2, ABSENT)]


def test_unsorted_changes_follow_now_then_the_keys_only_before_has() -> None:
    before = {"z": 1, "a": 1, "gone": 0}
    now = {"m": 2, "z": 2, "a": 2}
    assert changed_values(before, now, sort_keys=False) == [
        ("m", ABSENT, 2), ("z", 1, 2), ("a", 1, 2), ("gone", 0, ABSENT)]


def test_unsorted_changes_keep_now_s_order_inside_a_nested_mapping() -> None:
    before = {"train": {"lr": 0.1, "epochs": 1}}
    now = {"train": {"lr": 0.2, "epochs": 2}}
    assert [key for key, _, _ in changed_values(before, now, sort_keys=False)] == [
        "train.lr", "train.epochs"]


def test_two_plain_values_differ_as_config() -> None:
    assert changed_values(1, 2) == [("config", 1, 2)]
    assert changed_values(1, 1) == []


def test_a_mapping_where_there_was_none_is_one_change() -> None:
    assert changed_values(None, {"a": 1}) == [("config", None, {"a": 1})]
    assert changed_values({"t": 3}, {"t": {"lr": 1}}) == [("t", 3, {"lr": 1})]
