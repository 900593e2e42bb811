"""CamVid data: readers for two on-disk layouts, tasks, geometry (crops, fold), integer cache."""

from nas.data._cache import FORMAT_VERSION, cache_root
from nas.data._dataset import DEFAULT_DATA_DIR, SplitData, load_split, resolve_data_dir
from nas.data._errors import (
    ChecksumError,
    CorruptImageError,
    DataError,
    DatasetNotFoundError,
    EmptySplitError,
    LabelValueError,
    LayoutError,
    SizeMismatchError,
)
from nas.data._geometry import (
    FOLD_RATIOS,
    eval_tiles,
    fold,
    normalize,
    preview_tiles,
    random_crops,
    tile_origins,
    to_int8,
    unfold,
)
from nas.data._layouts import SPLITS, detect_layout
from nas.data._tasks import TASKS, Task, get_task, list_tasks

__all__ = [
    "ChecksumError",
    "CorruptImageError",
    "DEFAULT_DATA_DIR",
    "DataError",
    "DatasetNotFoundError",
    "EmptySplitError",
    "FOLD_RATIOS",
    "FORMAT_VERSION",
    "LabelValueError",
    "LayoutError",
    "SPLITS",
    "SizeMismatchError",
    "SplitData",
    "TASKS",
    "Task",
    "cache_root",
    "detect_layout",
    "eval_tiles",
    "fold",
    "get_task",
    "list_tasks",
    "load_split",
    "normalize",
    "preview_tiles",
    "random_crops",
    "resolve_data_dir",
    "tile_origins",
    "to_int8",
    "unfold",
]
