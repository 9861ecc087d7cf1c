"""The CLI shows mtneuro's own warnings as one ``warning:`` line, others as Python does."""

import warnings

from mtneuro.cli import main as cli_main


def test_own_warnings_are_one_line_others_keep_their_source(capsys, monkeypatch):
    passed_on = []
    monkeypatch.setattr(cli_main, "_python_showwarning", lambda *args: passed_on.append(args[:4]))
    own = f"{cli_main._PACKAGE_DIR}/ssl/trainer.py"
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = cli_main._show_warning
        warnings.warn_explicit("log.jsonl: line 9 is torn and was dropped", UserWarning, own, 400)
        warnings.warn_explicit("from elsewhere", UserWarning, "/somewhere/else.py", 7)
    assert capsys.readouterr().err == "warning: log.jsonl: line 9 is torn and was dropped\n"
    [(message, category, filename, lineno)] = passed_on
    assert (str(message), category, filename, lineno) == ("from elsewhere", UserWarning,
                                                          "/somewhere/else.py", 7)
