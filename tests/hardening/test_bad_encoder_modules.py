"""A user's encoder module that raises (on import, with a syntax error, when called) fails in
one line naming the error and where it was raised, not a traceback."""

from __future__ import annotations

import pytest
from cli_probe import check


@pytest.mark.parametrize(("source", "spec", "needles"), [
    ("raise RuntimeError('boom in the module')\n", "broken_on_import:build",
     ("importing module 'broken_on_import' raised RuntimeError: boom in the module",
      "broken_on_import.py:1)")),
    ("def build(:\n", "broken_syntax:build",
     ("importing module 'broken_syntax' raised SyntaxError", "broken_syntax.py:1)")),
    ("def build():\n    raise ValueError('no weights here')\n", "broken_call:build",
     ("encoder 'broken_call:build': calling it raised ValueError: no weights here",
      "broken_call.py:2)")),
])
def test_an_encoder_module_that_raises_is_one_line_naming_where(tmp_path, tmp_path_factory,
                                                               monkeypatch, source, spec, needles):
    modules = tmp_path_factory.mktemp("user_modules")
    (modules / f"{spec.partition(':')[0]}.py").write_text(source)
    monkeypatch.syspath_prepend(str(modules))
    check(tmp_path, ["task1", "--method", "encoder", "--quick", "--encoder", spec], *needles)
