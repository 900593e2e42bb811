"""Reading a stored study: where its files are, opening it read-only, its trials' checkpoints.

Sits below both the search (which writes studies) and export (which reads one trial), so export
never imports the search.
"""

from nas.studyio._checkpoints import TORCH_ZIP_MAGIC, checkpoint_path, checkpoint_status
from nas.studyio._finalists import (
    FINALISTS_CSV,
    FINALISTS_DIR,
    FINALISTS_MD,
    FINALISTS_PLOT,
    FINALISTS_PREVIEW,
    best_val_checkpoint,
    finalist_checkpoint,
    finalists_csv,
    study_folder,
)
from nas.studyio._paths import default_artifact_dir, default_storage_url, load_study, study_storage
from nas.studyio._rungs import RUNG_SEP, miou_key, rung_checkpoint, rung_studies

__all__ = [
    "FINALISTS_CSV",
    "FINALISTS_DIR",
    "FINALISTS_MD",
    "FINALISTS_PLOT",
    "FINALISTS_PREVIEW",
    "RUNG_SEP",
    "TORCH_ZIP_MAGIC",
    "best_val_checkpoint",
    "checkpoint_path",
    "checkpoint_status",
    "default_artifact_dir",
    "default_storage_url",
    "finalist_checkpoint",
    "finalists_csv",
    "load_study",
    "miou_key",
    "rung_checkpoint",
    "rung_studies",
    "study_folder",
    "study_storage",
]
