"""mtneuro: learning and benchmarking representations of brain data across scales.

Layers, each importing only those before it::

    data -> models -> ssl -> tasks -> report -> bench -> cli
"""

from importlib.metadata import PackageNotFoundError, version

try:
    # pyproject.toml holds the version; an installed mtneuro (editable too) records it.
    __version__ = version("mtneuro")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"
