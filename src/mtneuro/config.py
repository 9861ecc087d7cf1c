"""Typed, validated configuration objects built from plain mappings (YAML, JSON, CLI).

Configs are frozen dataclasses. :func:`from_mapping` checks every key and value
once, at the boundary, and fails with the dotted key, the value and what was
expected, e.g. ``ssl.momentum: expected float in [0, 1), got 1.5``.

A field may carry a constraint in its metadata::

    momentum: float = field(default=0.996, metadata=check(lambda v: 0 <= v < 1, "float in [0, 1)"))

and a list field one on each item, under ``"check_each"`` (``seeds[1]: expected ...``; see
:func:`some_seeds`).

A config class derived from :class:`CheckedConfig` is held to the same rules where it is
built in Python (``Task2Config(overlap=1.5)``, ``dataclasses.replace``), not only when a
run validates it.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar, Union

from mtneuro.errors import ConfigError
from mtneuro.registry import close_names
from mtneuro.yaml_files import load_yaml_mapping, load_yaml_text  # noqa: F401 - re-exported

C = TypeVar("C")
#: The seeds NumPy and torch generators take (:func:`check_seeds`), as messages write it.
SEED_RANGE = "[0, 2**32)"


def check(predicate: Callable[[Any], bool], expected: str) -> dict[str, Any]:
    """Field metadata attaching a constraint ``predicate`` described by ``expected``."""
    return {"check": (predicate, expected)}


def one_of(choices: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """Field metadata of a name among ``choices`` (a refusal suggests the closest)."""
    return {**check(lambda v: v in choices, "one of " + ", ".join(choices)),
            "choices": tuple(choices)}


def positive(kind: str = "int") -> dict[str, Any]:
    return check(lambda v: v > 0, f"{kind} > 0")


def _is_seed(seed: Any) -> bool:
    """``seed`` is an integer NumPy and torch generators take (a bool is not one)."""
    return not isinstance(seed, bool) and isinstance(seed, numbers.Integral) and (
        0 <= seed < 2**32)


def a_seed() -> dict[str, Any]:
    """Field metadata of one seed, which :func:`check_seeds` would take."""
    return check(_is_seed, f"int in {SEED_RANGE}")


def some_seeds() -> dict[str, Any]:
    """Field metadata of a list of seeds: at least one, none twice (a repeated seed reruns
    the same run, and two identical results would read as a method seeds do not change),
    each one :func:`check_seeds` takes: a bad one is named where the config is built, not
    by scikit-learn once the data are read."""
    return {**check(lambda v: len(v) > 0 and len(set(v)) == len(v),
                    "at least one seed, none twice"),
            "check_each": (_is_seed, f"int in {SEED_RANGE}")}


def in_unit_interval(closed_right: bool = False) -> dict[str, Any]:
    if closed_right:
        return check(lambda v: 0 <= v <= 1, "float in [0, 1]")
    return check(lambda v: 0 <= v < 1, "float in [0, 1)")


def _fail(key: str, expected: str, value: Any, choices: Sequence[Any] = ()) -> ConfigError:
    """``key: expected ..., got ...``, with the closest of ``choices`` to a name given."""
    names = [c for c in choices if isinstance(c, str)]
    close = close_names(value, names, n=1) if isinstance(value, str) and names else []
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return ConfigError(f"{key}: expected {expected}, got {value!r}{hint}")


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if origin in (tuple, list):
        args = typing.get_args(tp)
        inner = _type_name(args[0]) if args else "value"
        return f"list of {inner}"
    if tp is type(None):
        return "null"
    return getattr(tp, "__name__", str(tp))


def _is_choice(value: Any, choice: Any) -> bool:
    # ``3.0 == 3`` and ``True == 1`` in Python, but a float or a bool is not an int choice
    if isinstance(choice, bool) or isinstance(value, bool):
        return value is choice
    if isinstance(choice, int) and not isinstance(value, numbers.Integral):
        return False
    return bool(value == choice)


def _container_of(tp: Any, value: Any) -> bool:
    """``tp`` is a list, tuple or mapping type and ``value`` one of that kind."""
    origin = tp if tp in (dict, list, tuple) else typing.get_origin(tp)
    if origin in (list, tuple):
        return isinstance(value, (list, tuple))
    return origin is dict and isinstance(value, Mapping)


def _convert(tp: Any, value: Any, key: str) -> Any:
    # a bare ``dict`` / ``list`` / ``tuple`` annotation is checked as its ``[Any]`` form
    origin = tp if tp in (dict, list, tuple) else typing.get_origin(tp)
    if tp is Any:
        return value
    if origin is Literal:
        choices = typing.get_args(tp)
        for choice in choices:
            if _is_choice(value, choice):
                return choice
        raise _fail(key, _type_name(tp), value, choices)
    if origin in (Union, types.UnionType):
        nested = [a for a in typing.get_args(tp) if dataclasses.is_dataclass(a)]
        if len(nested) == 1 and isinstance(value, Mapping):
            # ``Config | None`` given a mapping: its own errors name the inner key
            return _convert(nested[0], value, key)
        refusals = []
        for arg in typing.get_args(tp):
            try:
                return _convert(arg, value, key)
            except ConfigError as err:
                refusals.append((arg, err))
        # a list given to ``str | list[float]`` is refused for what is wrong inside it
        # (``[0]: expected a finite float, got nan``), not as "expected str or list"
        inside = [err for arg, err in refusals if _container_of(arg, value)]
        if len(inside) == 1:
            raise inside[0]
        raise _fail(key, _type_name(tp), value)
    if tp is type(None):
        if value is not None:
            raise _fail(key, "null", value)
        return None
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise _fail(key, _type_name(tp), value)
        args = typing.get_args(tp)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise _fail(key, f"list of {len(args)} values", value)
            items = [_convert(a, v, f"{key}[{i}]") for i, (a, v) in enumerate(zip(args, value))]
        else:
            inner = args[0] if args else Any
            items = [_convert(inner, v, f"{key}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, Mapping):
            raise _fail(key, "mapping", value)
        return dict(value)
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, Mapping):
            raise _fail(key, f"mapping for {tp.__name__}", value)
        return from_mapping(tp, value, prefix=key)
    if tp is bool:
        if not isinstance(value, bool):
            raise _fail(key, "bool", value)
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(key, "int", value)
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _fail(key, "float", value)
        if not math.isfinite(value):  # YAML's .inf / .nan: no setting means one
            raise _fail(key, "a finite float", value)
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise _fail(key, "str", value)
        return value
    if tp is Path:
        if not isinstance(value, (str, Path)):
            raise _fail(key, "path", value)
        return Path(value)
    return value


def unknown_key_message(prefix: str, key: object, valid: list[str],
                        why: str | None = None) -> str:
    """``prefix.key: unknown key (did you mean ...?)[: why]; expected one of: ...``: the key
    comes first, so a caller can tell which top-level key (and file) it belongs to; ``why``
    says why a key one might expect is not there (a config's ``KEY_HINTS``)."""
    dotted = (prefix + ".") if prefix else ""
    close = close_names(str(key), valid, n=1)
    hint = f" (did you mean {dotted + close[0]!r}?)" if close else ""
    hint += f": {why}" if why else ""
    return f"{dotted}{key}: unknown key{hint}; expected one of: {', '.join(valid)}"


def from_mapping(cls: type[C], data: Mapping[str, Any] | None, *, prefix: str = "") -> C:
    """Build dataclass ``cls`` from ``data``, validating every key and value.

    Unknown keys fail naming the key, the closest valid key and all valid keys (and why the
    key is not one, where ``cls.KEY_HINTS`` says so).
    """
    data = dict(data or {})
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    hints = _field_types(cls)
    dotted = (prefix + ".") if prefix else ""
    for key in data:
        if key not in fields:
            why = getattr(cls, "KEY_HINTS", {}).get(key)
            raise ConfigError(unknown_key_message(prefix, key, list(fields), why))
    kwargs = {}
    for name, f in fields.items():
        key = dotted + name
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(f"{key}: missing required key ({_type_name(hints[name])})")
            continue
        kwargs[name] = _checked_value(f, hints[name], data[name], key)
    return cls(**kwargs)


def _checked_value(f: dataclasses.Field, tp: Any, value: Any, key: str) -> Any:
    """``value`` of field ``f`` converted to its type ``tp``, then held to its constraint
    and (a list's) to the constraint of each item, which names the item (``seeds[1]``)."""
    converted = _convert(tp, value, key)
    constraint = f.metadata.get("check")
    if constraint is not None and converted is not None:
        predicate, expected = constraint
        if not predicate(converted):
            raise _fail(key, expected, value, f.metadata.get("choices", ()))
    item_constraint = f.metadata.get("check_each")
    if item_constraint is not None and converted is not None:
        predicate, expected = item_constraint
        for i, item in enumerate(converted):
            if not predicate(item):
                raise _fail(f"{key}[{i}]", expected, item)
    return converted


@functools.cache
def _field_types(cls: type) -> dict[str, Any]:
    # resolving the string annotations (``from __future__ import annotations``) is the
    # slow part of a check; a class's do not change
    return typing.get_type_hints(cls)


def check_fields(config: Any) -> None:
    """Check and convert ``config``'s field values in place, by :func:`from_mapping`'s rules
    and messages (``lr: expected float > 0, got -1``; a list of seeds becomes a tuple).

    Raises:
        ConfigError: the first field whose value its type or constraint refuses.
    """
    hints = _field_types(type(config))
    for f in dataclasses.fields(config):
        if not f.init:
            continue
        value = getattr(config, f.name)
        converted = _checked_value(f, hints[f.name], value, f.name)
        if converted is not value:
            object.__setattr__(config, f.name, converted)  # frozen: the one way to store it


class CheckedConfig:
    """Base of the config dataclasses that :func:`from_mapping` builds: a config built
    directly (``Task2Config(overlap=1.5)``) or by ``dataclasses.replace`` is checked where
    it is built, as from a mapping, instead of when a run starts.

    A subclass with its own ``__post_init__`` calls ``super().__post_init__()`` first.
    """

    def __post_init__(self) -> None:
        check_fields(self)


#: In :func:`changed_values`, the value of a key one mapping has and the other lacks
#: (``None`` is a value a key may hold).
ABSENT: Any = object()


def changed_values(before: object, now: object, prefix: str = "", *,
                   sort_keys: bool = True) -> list[tuple[str, Any, Any]]:
    """``(dotted key, value before, value now)`` of each key whose value differs between two
    nested mappings (``params.steps``), a key one side lacks holding :data:`ABSENT` there;
    keys sorted, or (``sort_keys=False``) in ``now``'s order, then ``before``'s others."""
    if isinstance(before, Mapping) and isinstance(now, Mapping):
        keys = [*now, *(key for key in before if key not in now)]
        return [change for name in (sorted(keys, key=str) if sort_keys else keys)
                for change in changed_values(before.get(name, ABSENT), now.get(name, ABSENT),
                                             f"{prefix}{name}.", sort_keys=sort_keys)]
    return [] if before == now else [(prefix.rstrip(".") or "config", before, now)]


def validate(config: C, *, prefix: str = "") -> C:
    """Re-check an already built config (e.g. after ``dataclasses.replace``)."""
    return from_mapping(type(config), to_dict(config, shallow=True), prefix=prefix)


def to_dict(config: Any, *, shallow: bool = False) -> dict[str, Any]:
    """Plain-data view of a config (for JSON provenance records)."""
    if shallow:
        return {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}

    def plain(value: Any) -> Any:
        if dataclasses.is_dataclass(value):
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if isinstance(value, Path):
            return str(value)
        return value

    return plain(config)


def load_yaml(path: str | Path, cls: type[C], *, overrides: Mapping[str, Any] | None = None) -> C:
    """Read a YAML file into ``cls``; ``overrides`` (e.g. from CLI flags) win over the file."""
    merged = {**load_yaml_mapping(path),
              **{k: v for k, v in (overrides or {}).items() if v is not None}}
    return from_mapping(cls, merged)


def check_seeds(seeds: Any, option: str = "--seeds") -> None:
    """Seeds seed NumPy and torch generators, which take integers in [0, 2**32).

    Raises:
        ConfigError: a seed that is no integer in that range, naming ``option``.
    """
    values = [seeds] if isinstance(seeds, int) else list(seeds or ())
    for seed in values:
        if not _is_seed(seed):
            raise ConfigError(f"{option}: expected integers in {SEED_RANGE}, got {seed!r}")
