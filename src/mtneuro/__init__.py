"""mtneuro: learning and benchmarking representations of brain data across scales.

Layers, each importing only those before it::

    data -> models -> ssl -> tasks -> report -> bench -> cli
"""

__version__ = "0.1.0"
