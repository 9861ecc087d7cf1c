"""Optional dependencies: each feature without its extra fails with one line naming the pip command.

Modules are hidden with ``sys.modules[name] = None``, which makes ``import name`` raise
``ModuleNotFoundError`` as if the package were not installed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from mtneuro.errors import MtneuroError
from mtneuro.extras import EXTRAS, MissingExtraError, installed_extras, missing_modules, require

REPO = Path(__file__).resolve().parents[2]
HIDDEN = tuple(m for extra in EXTRAS.values() for m in extra.modules)
HIDE = f"import sys; sys.modules.update(dict.fromkeys({HIDDEN!r}))"


def _hide(monkeypatch: pytest.MonkeyPatch, root: str) -> None:
    for name in [n for n in sys.modules if n.startswith(root + ".")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, root, None)


def _message(module: str, extra: str) -> str:
    return f'{module} is not installed (needed for {EXTRAS[extra].purpose}): pip install "mtneuro[{extra}]"'


def test_require_returns_the_imported_module():
    import json as json_module

    assert require("json", "seg") is json_module


def test_a_hidden_module_names_its_extra_and_is_a_user_error(monkeypatch):
    _hide(monkeypatch, "submitit")
    with pytest.raises(MissingExtraError) as info:
        require("submitit", "cluster")
    assert str(info.value) == _message("submitit", "cluster")
    assert isinstance(info.value, MtneuroError) and isinstance(info.value, ImportError)


def test_a_dotted_module_names_the_package_to_install(monkeypatch):
    _hide(monkeypatch, "monai")
    with pytest.raises(MissingExtraError, match="^monai is not installed") as info:
        require("monai.inferers", "seg")
    assert str(info.value).endswith('pip install "mtneuro[seg]"')


def test_a_missing_mtneuro_module_is_a_bug_not_an_extra():
    with pytest.raises(ModuleNotFoundError) as info:
        require("mtneuro.no_such_module", "seg")
    assert not isinstance(info.value, MissingExtraError)


def test_unknown_extra_is_rejected():
    with pytest.raises(ValueError, match="unknown extra 'gpu'"):
        require("json", "gpu")


def test_missing_modules_and_installed_extras_follow_hidden_modules(monkeypatch):
    _hide(monkeypatch, "submitit")
    assert missing_modules("cluster") == ["submitit"]
    assert "cluster" not in installed_extras()


def test_extras_match_pyproject():
    optional = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert set(optional) == set(EXTRAS) | {"all", "test"}
    assert optional["all"] == [f"mtneuro[{','.join(EXTRAS)}]"]


# Each import site of an optional package, and what must still import without any extra.
SITES = {
    "import mtneuro.models.segmentation_2d": "seg",
    "import mtneuro.models.segmentation_3d": "seg",
    "from mtneuro.models import create_segmentation_model as c; c('unet', n_classes=3)": "seg",
    "from mtneuro.models import create_segmentation_model as c; c('vnet', n_classes=3)": "seg",
    "from mtneuro.data.sources import open_source; open_source('bossdb')": "bossdb",
    "from mtneuro.bench.executors import submitit_executor; submitit_executor(None, 'slurm', {})": "cluster",
}
CORE = [
    "from mtneuro.models import create_segmentation_model, list_segmentation_models",
    "from mtneuro.tasks.segmentation import CropBatches, confusion_matrix, train_segmentation",
    # task 2 blends its windows itself; only smp's and MONAI's networks need the extra
    "from mtneuro.tasks.segmentation import run_task2, evaluate_tiles",
    "from mtneuro.models import create_segmentation_model as c; c('unet-mtneuro', n_classes=3)",
    *(f"import mtneuro.cli.{name}" for name in
      ("main", "data", "neural", "pretrain", "task1", "task2", "task3", "bench", "report")),
    "import mtneuro.tasks.neural, mtneuro.tasks.region, mtneuro.tasks.semantic_probe",
    "import mtneuro.bench.runner, mtneuro.data.sources.bossdb",
]
PROBE = textwrap.dedent(
    """
    import json, sys
    {hide}
    outcome = {{}}
    for code in json.loads(sys.argv[1]):
        try:
            exec(code, {{}})
            outcome[code] = None
        except Exception as err:
            outcome[code] = [type(err).__name__, str(err)]
    print(json.dumps(outcome))
    """
)


def test_every_import_site_without_its_extra():
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(hide=HIDE), json.dumps([*SITES, *CORE])],
        capture_output=True, text=True, timeout=300, check=True,
    )
    outcome = json.loads(proc.stdout)
    for code, extra in SITES.items():
        assert outcome[code] is not None, f"{code!r} ran without mtneuro[{extra}]"
        kind, message = outcome[code]
        assert kind == "MissingExtraError" and message.endswith(f'pip install "mtneuro[{extra}]"'), code
    assert {code: outcome[code] for code in CORE} == dict.fromkeys(CORE)


def test_cli_prints_one_line_and_exits_2_without_the_extra(tmp_path):
    main = f"{HIDE}; from mtneuro.cli.main import main; main()"
    proc = subprocess.run(
        [sys.executable, "-c", main, "task2", "--model", "unet", "--quick", "--out", str(tmp_path / "t2")],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines() == [f"error: {_message('segmentation_models_pytorch', 'seg')}"]
    version = subprocess.run([sys.executable, "-c", main, "--version"], capture_output=True,
                             text=True, timeout=60, check=True)
    assert version.stdout.rstrip().endswith("extras: none)"), version.stdout
