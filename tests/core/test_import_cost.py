"""Commands that never build a network do not import the libraries that build them.

torchvision imports torch._dynamo, segmentation-models-pytorch and MONAI their model zoos:
seconds at every start of `bench --dry-run` (protocol cards) or a PCA / NMF run, for
nothing they use. Checked in a fresh interpreter, where ``sys.modules`` starts empty.
"""

from __future__ import annotations

import subprocess
import sys

from fresh_python import run_fresh

HEAVY = ("torchvision", "segmentation_models_pytorch", "monai")

CARDS_AND_PCA = """
import sys
from mtneuro.tasks.registry import get_task
import mtneuro.tasks.region, mtneuro.tasks.semantic_probe  # task 1 / task 3 run modules
for task, values in (("task2", {"model": "unet"}), ("task2", {"model": "unet3d"}),
                     ("task1", {"method": "pca"}), ("task3", {"method": "nmf"})):
    spec = get_task(task)
    spec.protocol_card(spec.make_config("quick", values))
print(" ".join(name for name in %r if name in sys.modules))
"""


def test_protocol_cards_and_pixel_methods_import_no_model_zoo():
    done = subprocess.run([sys.executable, "-c", CARDS_AND_PCA % (HEAVY,)], capture_output=True,
                          text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == ""  # names of the heavy modules that were imported


def test_the_neural_task_imports_no_scikit_learn_until_a_readout_needs_it():
    """Reach readouts are closed-form numpy; scikit-learn (with SciPy, ~2 s of a reach run)
    is for the sleep readout and the PCA baseline only, imported where they run."""
    code = ("import sys\n"
            "import mtneuro.cli.neural, mtneuro.tasks.neural.run\n"
            "print(' '.join(m for m in ('sklearn', 'scipy') if m in sys.modules))\n")
    assert run_fresh(code) == ""


def test_the_segmentation_registry_imports_each_zoo_only_to_build_one_of_its_models():
    """smp (with timm) and MONAI cost seconds each: the registry and config checks need
    neither, a 3D model only MONAI, a 2D smp model only smp."""
    code = ("import sys\n"
            "from mtneuro.models.segmentation import create_segmentation_model as create\n"
            "import mtneuro.tasks.segmentation.config\n"
            "seen = lambda: ','.join(m for m in ('segmentation_models_pytorch', 'monai')"
            " if m in sys.modules) or '-'\n"
            "out = [seen()]\n"
            "create('highresnet', n_classes=3)\n"
            "out.append(seen())\n"
            "create('unet', n_classes=3)\n"
            "print(out[0], out[1], seen())\n")
    assert run_fresh(code) == "- monai segmentation_models_pytorch,monai"


def test_task1_imports_scikit_learn_only_for_its_logistic_and_pixel_readouts():
    """A supervised or linear-head task-1 run uses no scikit-learn (~1 s to import): the
    module's imports must not pull it in (the perf audit measured 1.04 s -> 0.09 s)."""
    code = ("import sys\n"
            "import mtneuro.cli.task1, mtneuro.tasks.region\n"
            "print(' '.join(m for m in ('sklearn',) if m in sys.modules))\n")
    assert run_fresh(code) == ""
