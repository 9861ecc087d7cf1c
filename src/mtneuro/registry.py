"""A small name -> factory registry (timm's ``create_model`` habit).

One instance per kind of thing (encoders, segmentation models, volume sources,
...). Unknown names fail with the closest valid names, so typos explain
themselves.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
import inspect
import traceback
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Generic, TypeVar

from mtneuro.errors import ConfigError, MtneuroError

T = TypeVar("T")


class MissingArgumentError(ConfigError, TypeError):
    """A factory was called without an argument it needs (still a ``TypeError``, as the
    bare error from inside the factory that it replaces was, so callers catching that one
    keep working)."""


def unknown_name_message(kind: str, name: object, valid: list[str]) -> str:
    """One-line message for a name that is not among ``valid``."""
    close = close_names(str(name), valid)
    hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
    return f"unknown {kind} {name!r}{hint}; valid: {', '.join(valid)}"


def close_names(name: str, valid: Iterable[str], n: int = 3) -> list[str]:
    """The ``valid`` names closest to ``name``, letter case aside (``CHEWIE-1`` finds
    ``chewie-1``), best first."""
    by_lower: dict[str, str] = {}
    for option in valid:
        by_lower.setdefault(option.lower(), option)
    if name.lower() in by_lower:  # the same name in other letter case: that one alone
        return [by_lower[name.lower()]]
    return [by_lower[c] for c in difflib.get_close_matches(name.lower(), by_lower, n=n,
                                                            cutoff=0.5)]


def lazy_exports(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` importing ``package.<exports[name]>`` when ``name`` is
    first used (so importing the package stays light, e.g. without torch)."""

    def __getattr__(name: str) -> Any:
        if name in exports:
            return getattr(importlib.import_module(f"{package}.{exports[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__


def lazy_dir(namespace: dict[str, Any], lazy: Iterable[str]) -> Callable[[], list[str]]:
    """A module ``__dir__`` listing its names (``namespace``: its ``globals()``) and the
    ``lazy`` ones of :func:`lazy_exports`, so tab completion and ``help()`` offer them
    before their first use."""
    names = frozenset(lazy)
    return lambda: sorted({*namespace, *names})


def raised(exc: BaseException) -> str:
    """``"ValueError: message (file.py:12)"``: an exception and where it was raised, for a
    one-line error about code mtneuro imported or called."""
    where = None
    if isinstance(exc, SyntaxError) and exc.filename:
        where = f"{exc.filename}:{exc.lineno}"
    elif exc.__traceback__ is not None:
        last = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{last.filename}:{last.lineno}"
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text + (f" ({where})" if where else "")


def import_object(ref: str, kind: str = "object") -> Any:
    """Import ``"package.module:attr.path"`` and return the attribute (a ``kind``, for messages).

    Raises:
        ConfigError: malformed reference, module not importable or attribute missing.
    """
    module_name, _, attr = ref.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"{kind} {ref!r}: expected 'package.module:attribute'")
    if module_name.endswith(".py") or "/" in module_name or "\\" in module_name:
        raise ConfigError(f"{kind} {ref!r}: name the module as Python imports it, not its "
                          f"file: {dotted_module(module_name)}:{attr} ({ON_PATH})")
    try:
        obj: Any = importlib.import_module(module_name)
    except MtneuroError:  # e.g. a missing extra: its own message says what to install
        raise
    except ImportError as exc:
        missing = getattr(exc, "name", None) or ""
        # the module itself (not a dependency it imports) is not on the path
        hint = (f"; {ON_PATH}" if missing and (module_name + ".").startswith(missing + ".")
                else "")
        raise ConfigError(f"{kind} {ref!r}: cannot import module {module_name!r} "
                          f"({exc}){hint}") from exc
    except Exception as exc:  # noqa: BLE001 - the user's module: any error, said in one line
        raise ConfigError(f"{kind} {ref!r}: importing module {module_name!r} raised "
                          f"{raised(exc)}") from exc
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ConfigError(f"{kind} {ref!r}: module {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    return obj


#: Where Python looks for a user's module: a console script does not look in the
#: current folder, as ``python -m`` does.
ON_PATH = ("the folder holding its package must be on PYTHONPATH, e.g. run PYTHONPATH=. "
           "mtneuro ... from that folder")


def dotted_module(path_text: str) -> str:
    """``"mypkg/encoders.py"`` -> ``"mypkg.encoders"``: a module file's import name, as
    a relative path spells it (``./`` and the ``.py`` suffix dropped)."""
    text = path_text.replace("\\", "/").removesuffix(".py")
    return ".".join(part for part in text.split("/") if part not in ("", "."))


def import_callable(ref: str, kind: str = "encoder") -> Callable[..., Any]:
    """:func:`import_object` of something callable (``"package.module:callable"``)."""
    if ":" not in ref or not all(ref.partition(":")[::2]):
        raise ConfigError(f"{kind} {ref!r}: expected 'package.module:callable'")
    obj = import_object(ref, kind)
    if not callable(obj):
        raise ConfigError(f"{kind} {ref!r}: {ref.partition(':')[2]!r} is not callable")
    return obj


def keyword_names(factory: Callable[..., Any]) -> list[str] | None:
    """The keyword arguments ``factory`` takes, or None where it takes any (``**kwargs``)
    or has no signature to read (a builtin: the call itself decides)."""
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return None
    return [p.name for p in parameters
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self"]


def required_names(factory: Callable[..., Any]) -> list[str]:
    """The arguments ``factory`` cannot be called without (no default)."""
    return [p.name for p in inspect.signature(factory).parameters.values()
            if p.default is p.empty and p.name != "self"
            and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def missing_names(factory: Callable[..., Any], given: Iterable[str]) -> list[str]:
    """The arguments ``factory`` needs (:func:`required_names`) that ``given`` lacks; none
    where there is no signature to read (a builtin: the call itself decides)."""
    try:
        needed = required_names(factory)
    except (TypeError, ValueError):
        return []
    given = set(given)
    return [name for name in needed if name not in given]


def check_keywords(what: str, given: Iterable[str], names: Sequence[str]) -> None:
    """Every name in ``given`` is one of ``names``, else a :class:`ConfigError` naming the
    first that is not, the closest of ``names`` and every one of them.

    >>> check_keywords("f", ["wieght"], ["pool", "weight"])
    Traceback (most recent call last):
    ...
    mtneuro.errors.ConfigError: f: unknown argument 'wieght' (did you mean 'weight'?); it ...
    """
    for key in given:
        if key not in names:
            close = difflib.get_close_matches(key, list(names), n=1, cutoff=0.5)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"{what}: unknown argument {key!r}{hint}; it takes: "
                              f"{', '.join(names) or 'none'}")


def _check_keywords(what: str, factory: Callable[..., Any], given: dict[str, Any]) -> None:
    """Every key of ``given`` is a keyword of ``factory`` (:func:`keyword_names`): a
    misspelt argument is named, not left to a bare ``TypeError`` from inside the factory."""
    names = keyword_names(factory)
    if names is not None:
        check_keywords(what, given, names)


def _check_required(what: str, factory: Callable[..., Any], given: dict[str, Any]) -> None:
    """Every argument ``factory`` needs (:func:`required_names`) is in ``given``: a missing
    one is named, not left to a bare ``TypeError`` from inside the factory."""
    missing = missing_names(factory, given)
    if missing:
        plural = "s" if len(missing) > 1 else ""
        raise MissingArgumentError(f"{what}: missing required argument{plural} "
                                   f"{', '.join(repr(name) for name in missing)}")


def check_choice(kind: str, value: object, valid: list[str] | tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``valid``, else raise :class:`ConfigError`."""
    if value not in valid:
        raise ConfigError(unknown_name_message(kind, value, list(valid)))
    return value  # type: ignore[return-value]


class Registry(Generic[T]):
    """Maps names to factories.

    >>> encoders = Registry("encoder")
    >>> @encoders.register("tiny")
    ... def tiny(width: int = 4): return width
    >>> encoders.create("tiny", width=None)
    4
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Callable[..., T]] = {}

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """A decorator registering a factory under ``name`` (returned unchanged).

        Raises:
            ValueError: ``name`` is registered already (a programming error, not a user's).
        """

        def decorator(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._entries[name] = factory
            return factory

        return decorator

    def get(self, name: str) -> Callable[..., T]:
        """The factory registered as ``name``, unchecked and uncalled.

        Raises:
            ConfigError: ``name`` is not registered (with the closest and the valid names).
        """
        if name not in self._entries:
            raise ConfigError(unknown_name_message(self.kind, name, self.list()))
        return self._entries[name]

    def create(self, name: str, **kwargs: Any) -> T:
        """Build ``name``; ``None`` keyword values are dropped so defaults win.

        Raises:
            ConfigError: ``name`` is not registered, or a keyword its factory does not take
                (named, with the closest and every one it takes).
            MissingArgumentError: an argument the factory needs is missing (named; a
                ``ConfigError`` and a ``TypeError``).
        """
        factory = self.get(name)
        given = {k: v for k, v in kwargs.items() if v is not None}
        _check_keywords(f"{self.kind} {name!r}", factory, given)
        _check_required(f"{self.kind} {name!r}", factory, given)
        return factory(**given)

    def list(self, pattern: str = "*") -> list[str]:
        """The registered names matching the wildcard ``pattern``, sorted."""
        return sorted(n for n in self._entries if fnmatch.fnmatch(n, pattern))

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __repr__(self) -> str:
        names = self.list()
        if not names:
            return f"<Registry of {self.kind}: no names>"
        shown = ", ".join(names[:_REPR_NAMES])
        more = f", ... ({len(names) - _REPR_NAMES} more)" if len(names) > _REPR_NAMES else ""
        return f"<Registry of {self.kind}: {len(names)} names: {shown}{more}>"


#: Names a :class:`Registry` repr shows before abbreviating (a notebook cell stays one line).
_REPR_NAMES = 6
