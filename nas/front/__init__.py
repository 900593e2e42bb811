"""The Pareto front of val mIoU (up) against param bytes (down): its one home.

Dominance (:func:`pareto_mask`, the 2-D :func:`staircase` and its height
:func:`front_miou_at`), the front of a trials table (:func:`pareto_frame`), its knees
(:func:`knee_points`), hypervolumes with bytes on a linear or a log10 axis and the fewest bytes
that reach an mIoU (:func:`front_quality`). The reference bytes of every hypervolume are a
device's weight memory, from the device table (:func:`weight_memory_bytes`).

Pure functions of numbers and frames (no Optuna, no study): ``nas.search``, ``nas.report``
and ``nas.finalize`` all take the front from here.
"""

from nas.front._dominance import FrontPoint, Point, front_miou_at, pareto_mask, staircase
from nas.front._frames import (
    FRONT_COLUMNS,
    feasible_complete,
    hypervolume_frame,
    log_hypervolume_frame,
    pareto_frame,
)
from nas.front._hypervolume import (
    HEADLINE_REF_MIOU,
    HV_REFERENCE_BYTES,
    HV_REFERENCE_MIOU,
    REACH_MIOUS,
    REF_MIOUS,
    bytes_to_reach,
    hypervolume_2d,
    log_hypervolume,
    log_hypervolume_curve,
    weight_memory_bytes,
)
from nas.front._knees import knee_points
from nas.front._quality import FrontQuality, front_quality

__all__ = [
    "FRONT_COLUMNS",
    "FrontPoint",
    "FrontQuality",
    "HEADLINE_REF_MIOU",
    "HV_REFERENCE_BYTES",
    "HV_REFERENCE_MIOU",
    "Point",
    "REACH_MIOUS",
    "REF_MIOUS",
    "bytes_to_reach",
    "feasible_complete",
    "front_miou_at",
    "front_quality",
    "hypervolume_2d",
    "hypervolume_frame",
    "knee_points",
    "log_hypervolume",
    "log_hypervolume_curve",
    "log_hypervolume_frame",
    "pareto_frame",
    "pareto_mask",
    "staircase",
    "weight_memory_bytes",
]
