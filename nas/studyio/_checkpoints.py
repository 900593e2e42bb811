"""Trial checkpoints in the study's artifact store (a ``FileSystemArtifactStore``)."""

from __future__ import annotations

from pathlib import Path

import optuna

TORCH_ZIP_MAGIC = b"PK"  # torch.save's default (zip) format


def checkpoint_status(artifact_dir: Path | None, artifact_id: str | None) -> str:
    """``ok``, ``none`` (not trained), ``missing``, ``corrupt``, ``unknown`` (no store given)."""
    if not artifact_id:
        return "none"
    if artifact_dir is None:
        return "unknown"
    path = Path(artifact_dir) / artifact_id
    if not path.is_file():
        return "missing"
    try:
        with open(path, "rb") as f:
            head = f.read(2)
    except OSError:
        return "corrupt"
    return "ok" if head == TORCH_ZIP_MAGIC and path.stat().st_size > 64 else "corrupt"


def checkpoint_path(study: optuna.Study, number: int, artifact_dir: str | Path) -> Path:
    """Path of trial ``number``'s checkpoint in the artifact store, checked.

    Raises:
        ValueError: naming the trial, if it has no checkpoint or the file is missing/corrupt.
    """
    trials = [t for t in study.get_trials(deepcopy=False) if t.number == number]
    if not trials:
        raise ValueError(f"study {study.study_name!r} has no trial {number}")
    artifact_id = trials[0].user_attrs.get("checkpoint_artifact_id")
    status = checkpoint_status(Path(artifact_dir), artifact_id)
    if status == "none":
        raise ValueError(f"trial {number} has no checkpoint (it was not trained)")
    if status != "ok":
        raise ValueError(
            f"trial {number}: checkpoint artifact {artifact_id} is {status} in {artifact_dir}; "
            "retrain this trial (the other trials are unaffected)"
        )
    return Path(artifact_dir) / str(artifact_id)
