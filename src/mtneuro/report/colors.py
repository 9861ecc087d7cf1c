"""The one colour map of the microstructure classes, used by every figure.

The data preview (:mod:`mtneuro.report.preview`), the task-2 overlays
(:mod:`mtneuro.report.plots_segmentation`) and their legends all take their
colours from :data:`CLASS_COLOURS`, so a class looks the same in every picture.
Background is left unpainted (the grey image shows through), and so is the
3-class setting's ``background+axon``.
"""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.patches import Patch

#: RGB in [0, 1] per class name, as :data:`mtneuro.data.spec.PIXEL_CLASSES` names them.
#: Red, gold and blue differ in hue and lightness, so they stay apart for the common
#: colour-vision deficiencies and on the grey X-ray images.
CLASS_COLOURS: dict[str, tuple[float, float, float]] = {
    "vessel": (0.90, 0.12, 0.10),
    "cell": (1.00, 0.78, 0.00),
    "axon": (0.10, 0.45, 1.00),
}


def class_legend(class_names: Sequence[str]) -> list[Patch]:
    """Legend patches of ``class_names``: one per painted class, then one line naming
    the unpainted ones (so a reader knows what an uncoloured pixel means)."""
    handles = [Patch(color=CLASS_COLOURS[n], label=n) for n in class_names if n in CLASS_COLOURS]
    unpainted = [n for n in class_names if n not in CLASS_COLOURS]
    if unpainted:
        handles.append(
            Patch(facecolor="none", edgecolor="0.5", label=f"{', '.join(unpainted)}: not coloured")
        )
    return handles
