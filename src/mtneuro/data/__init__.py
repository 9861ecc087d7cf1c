"""mtneuro.data: volume sources, task splits and PyTorch datasets, neural recordings, image
sets and the catalogue of real data files.

The names below are imported on first use (``import mtneuro.data`` imports nothing heavy)::

    from mtneuro.data import open_source, RegionTileDataset
    tiles = RegionTileDataset(open_source("phantom"), "roi-c1", "train", "2d")
"""

from mtneuro.registry import lazy_dir, lazy_exports

_EXPORTS = {
    "open_source": "sources",
    "SOURCE_NAMES": "sources",
    "VolumeSource": "sources",
    "RegionTileDataset": "datasets",
    "SegmentationTileDataset": "datasets",
    "load_recording": "neural",
    "NeuralRecording": "neural",
    "load_vision": "vision",
    "ImageSet": "vision",
    "volume_tiles": "volume_file",
    "CATALOG": "catalog",
    "get_dataset": "catalog",
    "dataset_names": "catalog",
}
__getattr__ = lazy_exports(__name__, _EXPORTS)
__all__ = [
    "CATALOG",
    "SOURCE_NAMES",
    "ImageSet",
    "NeuralRecording",
    "RegionTileDataset",
    "SegmentationTileDataset",
    "VolumeSource",
    "dataset_names",
    "get_dataset",
    "load_recording",
    "load_vision",
    "open_source",
    "volume_tiles",
]
__dir__ = lazy_dir(globals(), _EXPORTS)
