"""mtneuro: learning and benchmarking representations of brain data across scales.

Layers, each importing only those before it::

    data -> models -> ssl -> tasks -> report -> bench -> api, cli

The Python API (imported on first use, so ``import mtneuro`` stays light)::

    import mtneuro
    mtneuro.list_tasks()
    results = mtneuro.evaluate(my_encoder, tasks=["task1/roi-c1"], preset="quick", out="runs/mine")
    results.table()
    mtneuro.load_results("runs/mine")
"""

from importlib.metadata import PackageNotFoundError, version

from mtneuro.registry import lazy_dir, lazy_exports

try:
    # pyproject.toml holds the version; an installed mtneuro (editable too) records it.
    __version__ = version("mtneuro")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"

#: Public names, imported from :mod:`mtneuro.api` on first use, and the exceptions the API
#: raises (:mod:`mtneuro.errors`), so ``except mtneuro.ConfigError`` needs no deeper import.
_API = {"evaluate": "api", "list_tasks": "api", "load_results": "api", "Results": "api",
        "NoResultsError": "api", "pretrain": "pretraining", "MtneuroError": "errors",
        "ConfigError": "errors", "DataError": "errors", "ChecksumError": "errors",
        "CheckpointError": "errors", "SourceUnavailableError": "errors", "TrainingError": "errors"}
__getattr__ = lazy_exports(__name__, _API)
__dir__ = lazy_dir(globals(), _API)
# the helpers above stay out of the namespace that dir() and tab completion show; the two
# functions made from them keep what they need
del PackageNotFoundError, version, lazy_dir, lazy_exports, _API
__all__ = ["CheckpointError", "ChecksumError", "ConfigError", "DataError", "MtneuroError",
           "NoResultsError", "Results", "SourceUnavailableError", "TrainingError", "__version__",
           "evaluate", "list_tasks", "load_results", "pretrain"]
