"""The packaged real samples load from an installed wheel, with no ../shared and no cache."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROBE = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from PIL import Image
    import mtneuro
    from mtneuro.data.catalog import catalog_sha256, get_dataset, local_status
    from mtneuro.data.checksums import sha256_file
    from mtneuro.data.paths import PACKAGED_ROOT, find_data_file

    found = {}
    for rel in sys.argv[1:]:
        path = find_data_file(rel)
        found[rel] = {"path": str(path), "sha_ok": sha256_file(path) == catalog_sha256()[rel]}
    chewie = np.load(find_data_file(sys.argv[1]))
    image = np.asarray(Image.open(find_data_file(sys.argv[2])).convert("L"))
    status = local_status(get_dataset("chewie-1").files[0])
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
SAMPLES = [
    "neural/monkey/full-chewie-10032013-bin0.10-vel_thresh5.00.npz",
    "xray_slice/slice_z309.png",
]


def _pip(*args: str, cwd: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", *args, "--no-deps", "--no-build-isolation", "-q"],
        cwd=cwd, check=True, capture_output=True, text=True, timeout=240,
    )


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory) -> Path:
    """Build a wheel from a copy of the source tree and install it into a bare target dir."""
    work = tmp_path_factory.mktemp("wheel")
    tree = work / "tree"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    shutil.copytree(REPO / "src", tree / "src", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, tree / name)
    _pip("wheel", "-w", str(work / "dist"), str(tree), cwd=work)
    wheels = list((work / "dist").glob("mtneuro-*.whl"))
    assert len(wheels) == 1, wheels
    target = work / "site"
    _pip("install", "--target", str(target), str(wheels[0]), cwd=work)
    return target


def test_packaged_samples_load_from_the_installed_wheel(installed_wheel, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("MTNEURO_DATA", "PYTHONPATH")}
    env.update(PYTHONPATH=str(installed_wheel), XDG_CACHE_HOME=str(tmp_path / "empty-cache"),
               HOME=str(tmp_path))
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *SAMPLES],
        check=False, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["module"].startswith(str(installed_wheel)), "imported the checkout, not the wheel"
    for rel in SAMPLES:
        assert report["found"][rel]["path"].startswith(str(installed_wheel))
        assert report["found"][rel]["sha_ok"], rel
    assert report["rates_shape"] == [895, 174]
    assert report["slice_shape"] == [1420, 5805]
    assert report["status"] == ["packaged samples", "verified"]
    assert report["notice"] and report["readme"]
    # The other package resources (suites, published numbers) ship too.
    assert {"quick", "paper"} <= set(report["suites"]) and report["quick_cells"] > 0
    assert report["published_rows"] > 50
