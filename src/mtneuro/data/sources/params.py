"""Parsing of volume-source parameters given as strings or numbers (``--source-param``).

Shared by the sources that take a block or chunk shape and worker counts (``bossdb``,
``cache``): a wrong value fails naming its key, never silently becomes another.
"""

from __future__ import annotations

from typing import Any

from mtneuro.errors import ConfigError


def parse_shape(value: Any, key: str) -> tuple[int, int, int]:
    """Accept ``(16, 512, 512)``, ``[16, 512, 512]`` or ``"16,512,512"``."""
    parts = value.replace("x", ",").split(",") if isinstance(value, str) else value
    try:
        shape = tuple(int(v) for v in parts)
    except (TypeError, ValueError):
        shape = ()
    if len(shape) != 3 or min(shape) < 1:
        raise ConfigError(f"{key}: expected 3 positive ints (z, y, x), got {value!r}")
    return shape  # type: ignore[return-value]


def number_at_least(value: Any, key: str, kind: type, minimum: float) -> Any:
    """``kind(value)`` if it is >= ``minimum``, else a :class:`ConfigError` naming ``key``."""
    try:
        number = kind(value)
        if kind is int and not isinstance(value, str) and number != value:
            number = None  # 2.5 workers would silently become 2
    except (TypeError, ValueError):
        number = None
    if number is None or isinstance(value, bool) or not number >= minimum:
        raise ConfigError(f"{key}: expected {kind.__name__} >= {minimum:g}, got {value!r}")
    return number
