"""The CLI shows mtneuro's own warnings as one ``warning:`` line, others as Python does."""

import warnings

from mtneuro import warning_lines


def test_own_warnings_are_one_line_others_keep_their_source(capsys, monkeypatch):
    passed_on = []
    monkeypatch.setattr(warning_lines, "_python_showwarning",
                        lambda *args: passed_on.append(args[:4]))
    own = f"{warning_lines.PACKAGE_DIR}/ssl/trainer.py"
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warning_lines.install()
        warnings.warn_explicit("log.jsonl: line 9 is torn and was dropped", UserWarning, own, 400)
        warnings.warn_explicit("from elsewhere", UserWarning, "/somewhere/else.py", 7)
    assert capsys.readouterr().err == "warning: log.jsonl: line 9 is torn and was dropped\n"
    [(message, category, filename, lineno)] = passed_on
    assert (str(message), category, filename, lineno) == ("from elsewhere", UserWarning,
                                                          "/somewhere/else.py", 7)


def test_a_worker_does_not_repeat_what_the_main_process_showed(capsys):
    own = f"{warning_lines.PACKAGE_DIR}/tasks/api.py"
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warning_lines.install(shown=["pretrain.epochs not used"])  # as a bench worker starts
        for message in ("pretrain.epochs not used", "new in this worker", "new in this worker"):
            warnings.warn_explicit(message, UserWarning, own, 120)
    assert capsys.readouterr().err == "warning: new in this worker\n"


def test_bench_workers_start_with_what_the_main_process_showed(capfd):
    from mtneuro.bench import runner

    own = f"{warning_lines.PACKAGE_DIR}/tasks/api.py"
    with warnings.catch_warnings():
        warning_lines.install(shown=["shown by the main process"])
        capfd.readouterr()
        with runner._new_pool(1) as pool:  # a spawned worker, as `bench --jobs N` starts
            for message in ("shown by the main process", "new in the worker"):
                pool.submit(warnings.warn_explicit, message, UserWarning, own, 1).result()
    assert capfd.readouterr().err == "warning: new in the worker\n"
