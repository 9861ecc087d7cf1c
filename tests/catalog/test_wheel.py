"""The sdist and wheel build with correct metadata, and the wheel works from a fresh virtual
environment as a core install (no extra): ``--version``, ``data preview --source slice``, a neural
MYOW run, the Python API (``mtneuro.evaluate`` of a small encoder on the phantom), and the
packaged samples with no ../shared and no cache.

The fresh environment reuses this one's installed dependencies through a ``.pth`` file (no
download), while its ``mtneuro`` comes from the wheel alone; a second ``.pth`` hides every
extra's modules (``sys.modules[name] = None``), as if only ``pip install mtneuro`` had run.
"""

from __future__ import annotations

import email.parser
import json
import os
import shutil
import subprocess
import sys
import tarfile
import textwrap
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml

from mtneuro.extras import EXTRAS

REPO = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
VERSION = PROJECT["version"]
HIDDEN = tuple(m for extra in EXTRAS.values() for m in extra.modules)
PROBE = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from PIL import Image
    import mtneuro
    from mtneuro.data.catalog import catalog_sha256, get_dataset
    from mtneuro.data.catalog_files import file_report
    from mtneuro.data.checksums import sha256_file
    from mtneuro.data.paths import PACKAGED_ROOT, find_data_file

    found = {}
    for rel in sys.argv[1:]:
        path = find_data_file(rel)
        found[rel] = {"path": str(path), "sha_ok": sha256_file(path) == catalog_sha256()[rel]}
    chewie = np.load(find_data_file(sys.argv[1]))
    image = np.asarray(Image.open(find_data_file(sys.argv[2])).convert("L"))
    status = file_report(get_dataset("chewie-1").files[0])
    from mtneuro.bench.suite import builtin_suites, load_suite
    from mtneuro.report.published import load_published
    print(json.dumps({
        "suites": builtin_suites(),
        "quick_cells": len(load_suite("quick").grid),
        "published_rows": len(load_published()),
        "module": mtneuro.__file__,
        "found": found,
        "rates_shape": list(chewie["firing_rates"].shape),
        "slice_shape": list(image.shape),
        "status": [status.root_label, status.state],
        "notice": (PACKAGED_ROOT.parent / "NOTICE").is_file(),
        "readme": (PACKAGED_ROOT / "README.md").is_file(),
    }))
    """
)
API_PROBE = textwrap.dedent(
    """
    import json, sys
    import mtneuro

    names = mtneuro.list_tasks()
    light = "torch" not in sys.modules
    from torch import nn

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3, padding=1)

        def forward(self, x):
            return self.conv(x).mean(dim=(2, 3))

    results = mtneuro.evaluate(Encoder(), tasks=["task1/roi-c1"], preset="quick", seeds=[0],
                               out=sys.argv[1], params={"z_step": 64})
    rows = results.table()
    print(json.dumps({"names": names, "light": light, "module": mtneuro.__file__, "rows": rows,
                      "loaded": mtneuro.load_results(sys.argv[1]).table() == rows}))
    """
)
SAMPLES = [
    "neural/monkey/full-chewie-10032013-bin0.10-vel_thresh5.00.npz",
    "xray_slice/slice_z309.png",
]


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kwargs)
    assert proc.returncode == 0, f"{cmd[:4]} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def dists(tmp_path_factory) -> dict[str, Path]:
    """``python -m build`` (sdist, then the wheel from it) on a copy of the source tree."""
    pytest.importorskip("build", reason="needs the build package (mtneuro[test])")
    work = tmp_path_factory.mktemp("dist")
    tree = work / "tree"
    junk = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc", ".pytest_cache")
    for folder in ("src", "docs", "tests", "constraints"):  # what MANIFEST.in puts in the sdist
        shutil.copytree(REPO / folder, tree / folder, ignore=junk)
    for name in ("pyproject.toml", "README.md", "LICENSE", "MANIFEST.in", "CHANGELOG.md",
                 "CITATION.cff"):
        shutil.copy2(REPO / name, tree / name)
    # --no-isolation: no download of the build backend; this environment's setuptools builds.
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(work / "out"), str(tree)])
    sdists, wheels = list((work / "out").glob("*.tar.gz")), list((work / "out").glob("*.whl"))
    assert len(sdists) == len(wheels) == 1, sorted((work / "out").iterdir())
    return {"sdist": sdists[0], "wheel": wheels[0]}


@pytest.fixture(scope="module")
def core_venv(dists, tmp_path_factory) -> Path:
    """A fresh venv holding the wheel, seeing this environment's packages but no extra."""
    venv = tmp_path_factory.mktemp("venv") / "env"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    purelib = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"])
                   .stdout.strip())
    # every folder this interpreter imports from (site-packages, .pth and PYTHONPATH entries), but
    # not the checkout: its mtneuro must not be importable there
    outer = [p for p in sys.path if p and Path(p).is_dir()
             and Path(p).resolve() != REPO and not Path(p).resolve().is_relative_to(REPO / "src")]
    (purelib / "_outer_environment.pth").write_text("\n".join(outer) + "\n")
    (purelib / "_core_only.pth").write_text(f"import sys; sys.modules.update(dict.fromkeys({HIDDEN!r}))\n")
    # the outer environment's mtneuro (editable) is visible to pip: install beside it, not over it
    _run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed",
          "--disable-pip-version-check", "-q", str(dists["wheel"])])
    return venv


@pytest.fixture
def venv_env(tmp_path, tmp_path_factory) -> dict[str, str]:
    """No checkout, data or cache on the path: only what the wheel installed."""
    env = {k: v for k, v in os.environ.items() if k not in ("MTNEURO_DATA", "PYTHONPATH")}
    env.update(XDG_CACHE_HOME=str(tmp_path / "empty-cache"), HOME=str(tmp_path),
               MPLCONFIGDIR=str(tmp_path_factory.getbasetemp() / "mplconfig"))
    return env


def _metadata(text: str) -> email.message.Message:
    return email.parser.Parser().parsestr(text)


def test_sdist_and_wheel_metadata(dists):
    with zipfile.ZipFile(dists["wheel"]) as whl:
        names = whl.namelist()
        wheel_meta = _metadata(whl.read(f"mtneuro-{VERSION}.dist-info/METADATA").decode())
        entry_points = whl.read(f"mtneuro-{VERSION}.dist-info/entry_points.txt").decode()
    with tarfile.open(dists["sdist"]) as sdist:
        members = {m.name.split("/", 1)[1] for m in sdist.getmembers() if "/" in m.name}
        sdist_meta = _metadata(sdist.extractfile(f"mtneuro-{VERSION}/PKG-INFO").read().decode())
    assert dists["wheel"].name == f"mtneuro-{VERSION}-py3-none-any.whl"
    readme = (REPO / "README.md").read_text()
    for meta in (wheel_meta, sdist_meta):
        assert meta["Name"] == "mtneuro" and meta["Version"] == VERSION
        assert meta["Requires-Python"] == ">=3.11"
        assert meta["License-Expression"] == "MIT" and meta.get_all("License-File") == ["LICENSE"]
        assert set(meta.get_all("Provides-Extra")) == {*EXTRAS, "all", "test"}
        # the README renders on PyPI as markdown (what `twine check` verifies)
        assert meta["Description-Content-Type"] == "text/markdown"
        assert meta.get_payload().strip() == readme.strip()
    requires = wheel_meta.get_all("Requires-Dist")
    core = [r for r in requires if "extra ==" not in r]
    assert sorted(core) == sorted(PROJECT["dependencies"])
    assert not {"intern", "monai", "segmentation-models-pytorch", "submitit"} & {
        r.split(">")[0].split("=")[0] for r in core}
    assert "mtneuro = mtneuro.cli.main:main" in entry_points
    # the packaged data and its notice ship in both
    # and the typing marker, so a type checker reads the annotated public API
    for rel in [f"mtneuro/resources/data/{s}" for s in SAMPLES] + ["mtneuro/resources/NOTICE",
                                                                    "mtneuro/py.typed"]:
        assert rel in names and f"src/{rel}" in members, rel
    assert {"pyproject.toml", "README.md", "LICENSE", "CHANGELOG.md", "CITATION.cff",
            "docs/protocols.md", "tests/conftest.py", "constraints/ci.txt"} <= members
    assert not any("__pycache__" in m or m.endswith(".pyc") for m in members)
    assert not any(n.startswith(("tests/", "docs/")) for n in names)  # the wheel: package only
    for meta in (wheel_meta, sdist_meta):
        classifiers = meta.get_all("Classifier")
        assert "Programming Language :: Python :: 3.11" in classifiers
        assert "Typing :: Typed" in classifiers


def test_version_from_the_installed_wheel(core_venv, venv_env, tmp_path):
    proc = _run([str(core_venv / "bin" / "mtneuro"), "--version"], cwd=tmp_path, env=venv_env)
    assert proc.stdout.startswith(f"mtneuro {VERSION} (Python ") and "extras: none" in proc.stdout


def test_slice_preview_from_the_installed_wheel(core_venv, venv_env, tmp_path):
    out = tmp_path / "slice.png"
    _run([str(core_venv / "bin" / "mtneuro"), "data", "preview", "--source", "slice", "--out", str(out)],
         cwd=tmp_path, env=venv_env)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000


def test_core_install_runs_neural_myow_on_packaged_chewie(core_venv, venv_env, tmp_path):
    out = tmp_path / "neural"
    _run([str(core_venv / "bin" / "mtneuro"), "neural", "--data", "chewie-1", "--method", "myow",
          "--steps", "10", "--out", str(out)], cwd=tmp_path, env=venv_env)
    metrics = json.loads((out / "metrics.json").read_text())["metrics"]
    assert metrics["method"] == "myow" and metrics["steps"] == 10
    assert 0.0 <= metrics["accuracy"] <= 1.0 and (out / "encoder.pt").is_file()


def test_python_api_from_the_installed_wheel(core_venv, venv_env, tmp_path):
    proc = _run([str(core_venv / "bin" / "python"), "-c", API_PROBE, str(tmp_path / "runs")],
                cwd=tmp_path, env=venv_env)
    report = json.loads(proc.stdout)
    assert report["module"].startswith(str(core_venv)), "imported the checkout, not the wheel"
    assert report["light"] and "task1/roi-c1" in report["names"] and "neural/chewie-1" in report["names"]
    ours = [r for r in report["rows"] if r["kind"] == "ours"]
    assert [r["metric"] for r in ours] == ["accuracy"] and 0 <= ours[0]["mean"] <= 1
    assert any(r["kind"].startswith("published: ") for r in report["rows"])
    assert report["loaded"]


def test_packaged_samples_load_from_the_installed_wheel(core_venv, venv_env, tmp_path):
    proc = _run([str(core_venv / "bin" / "python"), "-c", PROBE, *SAMPLES], cwd=tmp_path, env=venv_env)
    report = json.loads(proc.stdout)
    site_dir = str(core_venv)
    assert report["module"].startswith(site_dir), "imported the checkout, not the wheel"
    for rel in SAMPLES:
        assert report["found"][rel]["path"].startswith(site_dir)
        assert report["found"][rel]["sha_ok"], rel
    assert report["rates_shape"] == [895, 174]
    assert report["slice_shape"] == [1420, 5805]
    assert report["status"] == ["packaged samples", "verified"]
    assert report["notice"] and report["readme"]
    # The other package resources (suites, published numbers) ship too.
    assert {"quick", "paper"} <= set(report["suites"]) and report["quick_cells"] > 0
    assert report["published_rows"] > 50


def test_release_files_carry_the_package_version():
    citation = yaml.safe_load((REPO / "CITATION.cff").read_text())
    assert citation["version"] == VERSION and citation["license"] == PROJECT["license"]
    changelog = (REPO / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in changelog and f"## [{VERSION}] - " in changelog
