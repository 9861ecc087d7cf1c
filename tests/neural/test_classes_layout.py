"""The classes layout: a user's ``.npz`` whose labels are classes (``kind="classes"``), read
out by the sleep kind's class-balanced classifier instead of as reach angles, with its class
names carried into every output; a reach file of the user's says once how it is read."""

from __future__ import annotations

import csv
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from cli_capture import run

from mtneuro.data.neural import load_file, load_recording
from mtneuro.tasks.neural.config import NeuralConfig
from mtneuro.tasks.neural.run import fit_neural

NAMES = np.array(["rest", "walk", "groom", "run"])


def _write(path: Path, *, trials: int = 40, bins: int = 6, **extra: np.ndarray) -> str:
    """``trials`` trials of ``bins`` bins, 12 Poisson neurons, class ``trial % 4``; classes
    0 and 2 share their tuning, so a decoder can only guess between them."""
    rng = np.random.default_rng(0)
    tuning = rng.normal(0.0, 1.0, (4, 12))
    tuning[2] = tuning[0]
    label = np.repeat(np.arange(trials) % 4, bins)
    rates = rng.poisson(np.exp(1.5 + tuning[label])).astype(np.float32)
    np.savez(path, firing_rates=rates, trial=np.repeat(np.arange(trials), bins), label=label,
             **extra)
    return str(path)


def _classes(path: Path, **extra: np.ndarray) -> str:
    return _write(path, kind=np.array("classes"), class_names=NAMES, **extra)


def test_classes_that_are_not_directions_decode_far_better_than_read_as_angles(tmp_path):
    # read as angles, a bin torn between classes 0 (0 deg) and 2 (90 deg) decodes as 45 deg:
    # class 1, wrong for both; a classifier gets half of them right
    as_reach = _write(tmp_path / "reach.npz")
    as_classes = _classes(tmp_path / "classes.npz")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the reach file's note, tested below
        reach = fit_neural(NeuralConfig(data=as_reach, method="raw", split="kfold", folds=5))
    classes = fit_neural(NeuralConfig(data=as_classes, method="raw", split="kfold", folds=5))
    assert reach.recording.kind == "reach" and classes.recording.kind == "classes"
    assert classes.metrics["accuracy"] > 0.65
    assert classes.metrics["accuracy"] > reach.metrics["accuracy"] + 0.15
    # scored as classes: macro F1 and the sleep kind's weighted F1, with intervals
    m = classes.metrics
    assert {"f1_macro", "f1_weighted"} <= set(m) and "delta_accuracy" not in m
    assert set(m["intervals"]) == {"accuracy", "f1_weighted", "f1_macro"}
    assert m["intervals"]["accuracy"]["unit"] == "test trials"
    # the bins of classes 0 and 2: read as angles mostly decoded as 45 deg (class 1) between
    # them; the classifier keeps to the two
    torn = {name: np.isin(out.test_label, [0, 2]) for name, out in (("reach", reach),
                                                                    ("classes", classes))}
    assert np.mean(reach.test_pred[torn["reach"]] == 1) > 0.5
    assert np.mean(np.isin(classes.test_pred[torn["classes"]], [0, 2])) > 0.9


@pytest.mark.parametrize("method", ["myow", "byol", "supervised"])
def test_trained_methods_run_on_a_classes_recording(tmp_path, method):
    out = fit_neural(NeuralConfig(data=_classes(tmp_path / "c.npz"), method=method, steps=20,
                                  batch_size=64, warmup_steps=2, select_every=10))
    assert out.metrics["kind"] == "classes" and out.metrics["split"] == "trial"
    assert 0.0 <= out.metrics["f1_macro"] <= 1.0 and out.encoder is not None


def test_class_names_reach_metrics_predictions_and_figures(tmp_path, capsys, monkeypatch):
    from mtneuro.report import plots_neural

    shown: dict[str, tuple[str, ...]] = {}
    for name in ("plot_decoding_confusion", "plot_representation_2d"):
        original = getattr(plots_neural, name)

        def capture(*args, _name=name, _original=original, **kwargs):
            shown[_name] = tuple(args[2])  # (pred or features, label, class_names, path)
            return _original(*args, **kwargs)

        monkeypatch.setattr(plots_neural, name, capture)
    data = _classes(tmp_path / "behaviour.npz")
    code, out, err = run(["neural", "--data", data, "--method", "raw",
                          "--out", str(tmp_path / "run")], capsys)
    assert code == 0, err
    assert "labels read as reach directions" not in err  # a classes file gets no reach note
    assert "f1_macro" in out and "always the most common training class (" in out
    record = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert record["source"]["class_names"] == NAMES.tolist()
    assert record["headline"].keys() == {"accuracy", "f1_macro"}
    assert record["metrics"]["majority"]["class"] in NAMES
    with open(tmp_path / "run" / "predictions.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["true"] for r in rows} <= set(NAMES) and {r["predicted"] for r in rows} <= set(NAMES)
    assert shown == {"plot_decoding_confusion": tuple(NAMES),
                     "plot_representation_2d": tuple(NAMES)}


def test_without_class_names_the_labels_name_the_classes(tmp_path):
    rec = load_file(_write(tmp_path / "c.npz", kind=np.array("classes")))
    assert rec.class_names == ("0", "1", "2", "3")


def test_a_users_reach_file_says_how_its_labels_are_read_and_how_to_opt_out(tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_file(_write(tmp_path / "mine.npz"))
    (note,) = [str(w.message) for w in caught]
    assert "mine.npz: labels read as reach directions (label x 45 degrees" in note
    assert "save kind='classes'" in note and "\n" not in note


@pytest.mark.parametrize("where", ["stated", "catalogued"])
def test_no_note_where_the_file_says_reach_or_is_catalogued(tmp_path, packaged_data, where):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if where == "stated":
            rec = load_file(_write(tmp_path / "mine.npz", kind=np.array("reach")))
        else:
            rec = load_recording("chewie-1", root=packaged_data)
    assert rec.kind == "reach" and not [w for w in caught if "reach directions" in str(w.message)]


def test_the_note_is_said_once_however_many_seeds(tmp_path, capsys):
    data = _write(tmp_path / "mine.npz")
    code, _, err = run(["neural", "--data", data, "--method", "raw", "--seeds", "0", "1",
                        "--out", str(tmp_path / "run")], capsys)
    assert code == 0, err
    assert err.count("labels read as reach directions") == 1


def _hostile(tmp_path: Path, **change: np.ndarray) -> str:
    rng = np.random.default_rng(0)
    arrays = {"firing_rates": rng.random((12, 3)).astype(np.float32),
              "trial": np.repeat(np.arange(6), 2), "label": np.arange(12) % 3,
              "kind": np.array("classes"), "class_names": np.array(["a", "b", "c"])}
    arrays.update(change)
    path = tmp_path / "hostile.npz"
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    return str(path)


@pytest.mark.parametrize(("change", "parts"), [
    ({"class_names": np.array(["a", "b"])},
     ("label: expected class indices 0..1 (one per name of class_names), got 2 at bin 2",)),
    ({"label": np.arange(12) % 3 + 5}, ("label: expected class indices 0..2", "got 5 at bin 0")),
    ({"label": np.arange(12) % 3 - 1}, ("label: expected class indices >= 0, got -1 at bin 0",)),
    ({"class_names": np.array([0, 1, 2])}, ("class_names: expected a 1-D array of str names",
                                            "dtype int64")),
    ({"class_names": np.array([b"a", b"b", b"c"])}, ("class_names: expected", "dtype |S1")),
    ({"class_names": np.array([["a", "b", "c"]])}, ("class_names: expected", "shape (1, 3)")),
    ({"class_names": np.array(["a", "b", "c", "a"])},
     ("class_names: expected distinct names, one per class (not one per bin)", "'a' 2 times")),
    ({"class_names": np.array(["a", " ", "c"])}, (("class_names: expected a name for every "
                                                   "class, got an empty one at index 1"),)),
    ({"class_names": np.array(["a", None, "c"], dtype=object)}, ("Python objects",)),
    ({"kind": np.array("sleep")}, ("kind: expected 'classes' or 'reach', got 'sleep'",)),
    ({"kind": np.array([1])}, ("kind: expected one string", "dtype int64")),
    ({"kind": None}, ("class_names: read only with kind 'classes'", "(no kind array)",
                      "save kind='classes'")),
    ({"kind": None, "class_names": None, "label": np.arange(12)},
     ("label must be reach targets 0..7, got range 0..11", "save kind='classes'")),
    ({"class_names": None, "label": np.full(12, 10**9)},
     ("label: expected the classes numbered 0..K-1", "got [1000000000]; renumber them 0..0",
      "save them as class_names")),
    ({"firing_rates": None, "rates": np.ones((12, 3))},
     ("missing arrays firing_rates (expected a classes .npz); found 'rates'",)),
])
def test_a_hostile_classes_file_fails_in_one_line_naming_file_and_key(tmp_path, change, parts):
    from mtneuro.errors import DataError

    path = _hostile(tmp_path, **change)
    with pytest.raises(DataError) as err:
        load_file(path)
    message = str(err.value)
    assert "\n" not in message and message.startswith(f"{path}: "), message
    for part in parts:
        assert part in message, message
