"""Every set of ``Literal`` choices is declared in one order across the package.

``typing`` caches ``Literal[...] | None`` by the set of its choices, so a second
declaration of the same set in another order can come back with the first one's order;
which one is first depends on import order. The config errors print the choices in
that order ("dim: expected one of '3d', '2d' or null"), so a message, and any test of
it, changed with the order tests ran in.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import mtneuro

SRC = Path(mtneuro.__file__).parent


def literal_orders() -> dict[frozenset, set[tuple]]:
    """Choice set -> the orders it is declared in, over every module of the package."""
    orders: dict[frozenset, set[tuple]] = defaultdict(set)
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Subscript):
                continue
            name = node.value
            if getattr(name, "id", getattr(name, "attr", None)) != "Literal":
                continue
            items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            if all(isinstance(i, ast.Constant) for i in items):
                choices = tuple(i.value for i in items)
                orders[frozenset(choices)].add(choices)
    return orders


def test_each_set_of_choices_has_one_declared_order():
    orders = literal_orders()
    assert frozenset({"2d", "3d"}) in orders  # the scan sees the package's literals
    mixed = {tuple(sorted(k)): sorted(v) for k, v in orders.items() if len(v) > 1}
    assert mixed == {}
