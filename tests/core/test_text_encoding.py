"""Every text file the package opens names its encoding: without one Python uses the locale's
(cp1252 on most Windows machines), and a torchrun log holding a non-ASCII path crashed there
(portability audit)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "mtneuro"
_ALWAYS_TEXT = ("read_text", "write_text")


def _mode(node: ast.Call, position: int) -> ast.expr | None:
    """The call's ``mode`` argument, given at ``position`` or by keyword; None if left out."""
    if len(node.args) > position:
        return node.args[position]
    return next((kw.value for kw in node.keywords if kw.arg == "mode"), None)


def _opens_text(node: ast.Call) -> bool:
    """``node`` opens a file in text mode, as far as the source tells."""
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr in _ALWAYS_TEXT:
        return True
    if ((isinstance(func, ast.Name) and func.id == "open")
            or (isinstance(func, ast.Attribute) and func.attr == "fdopen")):
        mode = _mode(node, 1)  # open(file, mode), os.fdopen(fd, mode)
    elif (isinstance(func, ast.Attribute) and func.attr == "open"
          and not (isinstance(func.value, ast.Name) and func.value.id == "os")):
        mode = _mode(node, 0)  # Path.open(mode); Image.open(path) passes no constant mode
        if mode is not None and not isinstance(mode, ast.Constant):
            return False
    else:
        return False
    if mode is None:
        return True
    # a mode chosen at run time (data/download.py: "ab" or "wb") cannot be read here
    return isinstance(mode, ast.Constant) and "b" not in str(mode.value)


def text_opens_without_encoding(source: str, name: str = "<source>") -> list[str]:
    """``name:line`` of each call in ``source`` that opens a text file with no ``encoding``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Call) and _opens_text(node)
                and not any(kw.arg == "encoding" for kw in node.keywords)):
            found.append(f"{name}:{node.lineno}")
    return found


def test_the_check_finds_each_kind_of_text_open() -> None:
    # lines 1-7 open text with no encoding, the others do not
    source = """path.read_text()
path.write_text("x")
path.open("a")
path.open()
open(name, "w")
open(name)
os.fdopen(fd, "w")
path.read_text(encoding="utf-8")
open(name, "rb")
path.open("wb")
Image.open(name)
os.open(name, flags)
os.fdopen(fd, "wb")
open(name, mode)
"""
    assert text_opens_without_encoding(source) == [f"<source>:{n}" for n in range(1, 8)]


def test_the_package_names_the_encoding_of_every_text_file_it_opens() -> None:
    found = [hit for path in sorted(PACKAGE.rglob("*.py"))
             for hit in text_opens_without_encoding(path.read_text(encoding="utf-8"),
                                                    str(path.relative_to(PACKAGE)))]
    assert found == [], "add encoding=\"utf-8\" to: " + ", ".join(found)
