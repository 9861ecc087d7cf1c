"""The benchmark's vocabulary, written once: method, task and feature names and titles, and
the X-ray normalisation constants.

A base module (no layer, no third-party import): the data layer, the tasks, the report,
the bench and the CLI's choices all read these names from here, so a new method or
feature is added in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# -- methods --------------------------------------------------------------------------------
#: Self-supervised methods (:mod:`mtneuro.ssl`); tasks 1 and 3 pre-train them on the fly.
SSL_METHODS: tuple[str, ...] = ("byol", "myow", "myow-merged")
#: Task-1 classifiers trained end to end (task 3 reuses their encoders).
SUPERVISED_METHODS: tuple[str, ...] = ("supervised", "supervised-mixup")
#: Pixel decompositions with a linear readout.
PIXEL_METHODS: tuple[str, ...] = ("pca", "nmf")
#: A user's frozen encoder (``--encoder SPEC`` / ``mtneuro.evaluate(encoder, ...)``).
ENCODER_METHOD = "encoder"
#: Methods of the volume tasks 1 and 3, in the order tables list them.
VOLUME_METHODS: tuple[str, ...] = (
    *SUPERVISED_METHODS, *SSL_METHODS, *PIXEL_METHODS, ENCODER_METHOD)
#: Segmentation networks of task 2 and their dimension (MTNeuro's table order, then
#: ``ssl-unet``: a U-Net decoder on an SSL-pretrained encoder, and MTNeuro's own U-Net,
#: 2D and 3D, as the reference's UNet configs build it).
SEGMENTATION_MODEL_DIMS: dict[str, str] = {
    "unet": "2d", "manet": "2d", "fpn": "2d", "unetplusplus": "2d", "pan": "2d", "pspnet": "2d",
    "ssl-unet": "2d", "unet3d": "3d", "vnet": "3d", "highresnet": "3d",
    "unet-mtneuro": "2d", "unet3d-mtneuro": "3d",
}
SEGMENTATION_MODELS: tuple[str, ...] = tuple(SEGMENTATION_MODEL_DIMS)
#: MTNeuro's own U-Net (``MTNeuro/models/unet.py``), which the reference's UNet_2D / UNet_3D
#: configs build: the networks of the published U-Net rows.
MTNEURO_UNETS: tuple[str, ...] = ("unet-mtneuro", "unet3d-mtneuro")
#: the zoos of the published table: 2D (segmentation-models-pytorch, not our SSL U-Net) and
#: 3D (MONAI)
PAPER_MODELS_2D: tuple[str, ...] = tuple(
    n for n, d in SEGMENTATION_MODEL_DIMS.items()
    if d == "2d" and n not in ("ssl-unet", *MTNEURO_UNETS))
PAPER_MODELS_3D: tuple[str, ...] = tuple(n for n, d in SEGMENTATION_MODEL_DIMS.items()
                                         if d == "3d" and n not in MTNEURO_UNETS)
#: The smp encoder of the 2D zoo models (MTNeuro's ResNet-18).
SMP_DEFAULT_ENCODER = "resnet18"
#: ``encoder_weights`` value that asks smp for its pretrained ImageNet weights.
IMAGENET = "imagenet"
#: Methods of neural decoding (:mod:`mtneuro.tasks.neural`).
NEURAL_METHODS: tuple[str, ...] = ("myow", "byol", "supervised", "pca", "raw")
#: neural methods with no encoder to train (a training length does not apply)
NEURAL_UNTRAINED_METHODS: tuple[str, ...] = ("pca", "raw")


def method_label(config: Mapping[str, Any], key: str = "method") -> str:
    """A run's method (``key``: task 2's is its ``model``) as its result line and figure
    titles name it: with the encoder it scored (or task 2's ssl-unet fine-tuned), if given.

    >>> method_label({"method": "encoder", "encoder": "mypkg.encoders:build"})
    'encoder (mypkg.encoders:build)'
    """
    encoder = config.get("encoder")
    return f"{config[key]} ({encoder})" if encoder else str(config[key])


# -- tasks ----------------------------------------------------------------------------------
#: Report heading of each task, in report order (``pretrain``: ``mtneuro pretrain`` runs).
TASK_TITLES: dict[str, str] = {
    "task1": "Task 1: brain-region classification (accuracy)",
    "task2": "Task 2: microstructure segmentation (F1, IoU)",
    "task3": "Task 3: semantic features from frozen embeddings (linear-readout R²)",
    "neural": "Neural decoding (MYOW protocol)",
    "pretrain": "Self-supervised pretraining",
}

# -- task-3 features ------------------------------------------------------------------------
#: The five task-3 features under their published definitions and names.
FEATURE_NAMES: tuple[str, ...] = (
    "vessel_fraction", "axon_fraction", "cell_count", "cell_size", "nn_distance")
#: The same features under the corrected definitions: never the published names, so a number
#: computed another way is never shown as the published column.
EXACT_FEATURE_NAMES: tuple[str, ...] = (
    "vessel_fraction", "axon_fraction", "cell_count", "cell_size_exact", "nn_distance_exact")
#: Short titles of the features in tables (paper column names).
FEATURE_TITLES: dict[str, str] = {
    "vessel_fraction": "Vessels", "axon_fraction": "Axons", "cell_count": "Cell count",
    "cell_size": "Cell size", "nn_distance": "Dist (k=1)",
    "cell_size_exact": "Cell size, exact", "nn_distance_exact": "Dist (k=1), exact",
}
#: Units of the features (fractions in percent of the crop, sizes as areas in square pixels,
#: distances in pixels).
FEATURE_UNITS: dict[str, str | None] = {
    "vessel_fraction": "%", "axon_fraction": "%", "cell_count": None, "cell_size": "px²",
    "nn_distance": "px", "cell_size_exact": "px²", "nn_distance_exact": "px",
}

# -- data -----------------------------------------------------------------------------------
#: Mean and std of X-ray intensities in [0, 1] that the MTNeuro encoders are trained and
#: probed with (``self_supervised/transforms/xray.py:16`` of the reference).
XRAY_MEAN, XRAY_STD = 0.4894, 0.1238
# -- runtime ----------------------------------------------------------------------------
#: ``amp`` of every training loop: autocast type (:func:`mtneuro.acceleration.autocast_dtype`).
AMP_MODES: tuple[str, ...] = ("auto", "none", "bf16", "fp16")
#: How a pre-training step is driven, and its ``torch.compile`` modes (:mod:`mtneuro.acceleration`).
STEP_MODES: tuple[str, ...] = ("auto", "eager", "static", "cuda_graph")
COMPILE_MODES: tuple[str, ...] = ("auto", "off", "default", "reduce-overhead", "max-autotune",
                                  "max-autotune-no-cudagraphs")
#: Image sources with class labels (pre-training's ``--probe`` scores an encoder on them).
LABELLED_IMAGE_SOURCES: tuple[str, ...] = ("digits", "cifar10", "cifar100", "folder")
#: Image sets for pre-training (:mod:`mtneuro.data.vision`, :mod:`mtneuro.data.volume_file`).
VISION_SOURCES: tuple[str, ...] = (*LABELLED_IMAGE_SOURCES, "volume")
#: PCA baselines run an exact SVD when the samples or the pixels number at most this many
#: (above it, scikit-learn's "auto" choice: a randomized solver for few components of large
#: data, as the task-3 reference's PCA gets; its card says which ran).
EXACT_PCA_LIMIT = 4096
