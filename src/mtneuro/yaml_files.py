"""YAML config files read safely: ``yaml.SafeLoader`` (no Python tags, plain values only)
with YAML 1.2 floats and duplicate keys refused; errors in one line naming the file.

A base module (``yaml`` and the standard library): :mod:`mtneuro.config` re-exports
:func:`load_yaml_text` and :func:`load_yaml_mapping`.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any

import yaml

from mtneuro.errors import ConfigError

_FLOAT_TAG = "tag:yaml.org,2002:float"
#: PyYAML's float pattern with YAML 1.2's exponents: the sign is optional (``1.0e30``) and
#: so is the dot (``1e5``, ``-2E-3``); sexagesimal, ``.inf`` and ``.nan`` as before.
_FLOAT_RE = re.compile(r"""^(?:
     [-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+
    |[-+]?\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""", re.VERBOSE)


class _ConfigLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` (no Python tags, nothing constructed but plain values) whose
    floats follow YAML 1.2: PyYAML reads ``1e5`` or ``1.0e30`` as strings, so
    ``weight_decay: 1e5`` would fail "expected float" while ``1.0e-3`` worked."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != _FLOAT_TAG]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        # PyYAML keeps the last of two equal keys; a config that sets `epochs` twice is a
        # mistake whichever value was meant, so it is named instead
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<:`: its keys may be overridden
                continue
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_ConfigLoader.add_implicit_resolver(_FLOAT_TAG, _FLOAT_RE, list("-+0123456789."))


def load_yaml_text(text: str) -> Any:
    """``yaml.safe_load(text)`` with YAML 1.2 floats (``1e5``, ``1.0e30``, ``-2E-3``)."""
    return yaml.load(text, Loader=_ConfigLoader)  # noqa: S506 - a SafeLoader subclass


def load_yaml_mapping(path: str | Path) -> dict[str, Any]:
    """The mapping at the top of a YAML file (safe loading, YAML 1.2 floats:
    :func:`load_yaml_text`; an empty file is ``{}``).

    Raises:
        ConfigError: the file is missing, not YAML or not a mapping.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = load_yaml_text(path.read_text(encoding="utf-8")) or {}  # YAML's own encoding
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({_yaml_problem(err)})") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read it as a YAML text file ({err})") from None
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return dict(data)


def _yaml_problem(err: yaml.YAMLError) -> str:
    """A YAML error in one line: its problem and where (PyYAML's message spans lines)."""
    problem = getattr(err, "problem", None) or str(err)
    mark = getattr(err, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return " ".join(f"{problem}{where}".split())
