"""Reading one trial of a search study: its spec and its checkpoint (for the CLI).

What the search stores per trial: ``user_attrs["spec"]`` (ArchSpec JSON),
``user_attrs["feasible"]``, ``user_attrs["trained"]`` and ``user_attrs["checkpoint_artifact_id"]``,
the id of the checkpoint file in the study's ``FileSystemArtifactStore``
(``studies/<name>/artifacts`` unless ``--artifact-dir``). A checkpoint that ``python -m nas
finalize`` trained for the trial (``studies/<name>/finalists.csv``) is preferred: it is the
final recipe's, not the search's short proxy training; next, the checkpoint of the highest rung
the trial was promoted to (``run_search.py --rungs``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nas.spec import ArchSpec
from nas.studyio import (
    checkpoint_path,
    default_artifact_dir,
    finalist_checkpoint,
    load_study,
    rung_checkpoint,
)


@dataclass(frozen=True)
class TrialSource:
    """A study trial resolved to what the exporter needs."""

    study_name: str
    number: int
    spec: ArchSpec
    checkpoint: Path | None  # None when not needed (untrained export)
    # what the study searched for (None for a study whose stored settings lack them)
    device: str | None = None
    input_size: tuple[int, int] | None = None
    task: str | None = None
    checkpoint_source: str = ""  # "finalize (preset full, seed 0)", "rung medium" or "search"


def load_trial(
    study_name: str,
    number: int,
    *,
    storage: str | None = None,
    studies_dir: str | Path = "studies",
    artifact_dir: str | Path | None = None,
    need_checkpoint: bool = True,
    prefer_finalist: bool = True,
) -> TrialSource:
    """Spec (and checkpoint path) of trial ``number`` of study ``study_name``.

    Raises:
        ValueError: no such study or trial; the trial is not COMPLETE, has no spec, was
            infeasible, or (``need_checkpoint``) was not trained / its checkpoint is missing.

    With ``prefer_finalist`` the finalize checkpoint of the trial (best val mIoU over its
    seeds) is taken when there is one, else its highest rung's, else the search's.
    """
    import optuna

    study = load_study(study_name, storage, studies_dir)
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    if number not in trials:
        raise ValueError(f"study {study_name!r} has no trial {number} (trials 0.."
                         f"{max(trials, default=-1)})")
    t = trials[number]
    if t.state != optuna.trial.TrialState.COMPLETE:
        reason = t.user_attrs.get("fail_reason", "")
        raise ValueError(f"trial {number} is {t.state.name}, not COMPLETE"
                         + (f" ({reason})" if reason else ""))
    spec_json = t.user_attrs.get("spec")
    if not spec_json:
        raise ValueError(f"trial {number} has no 'spec' user attribute (incomplete trial)")
    spec = ArchSpec.from_json(spec_json)
    if t.user_attrs.get("feasible") is False:
        why = "; ".join(t.user_attrs.get("violations", [])) or "infeasible"
        raise ValueError(f"trial {number} is infeasible on the chip: {why}")
    ckpt, source = None, ""
    if need_checkpoint:
        final = finalist_checkpoint(studies_dir, study_name, number) if prefer_finalist else None
        store = artifact_dir if artifact_dir is not None else \
            default_artifact_dir(studies_dir, study_name)
        rung = rung_checkpoint(study, number, store) if prefer_finalist else None
        if final is not None:
            ckpt, row = final
            source = f"finalize (preset {row.get('preset')}, seed {row.get('seed')})"
        elif rung is not None:
            ckpt, preset = rung
            source = f"rung {preset}"
        else:
            ckpt, source = checkpoint_path(study, number, store), "search"
    config = study.user_attrs.get("config") or {}
    size = config.get("input_size")
    return TrialSource(study_name, number, spec, ckpt, device=config.get("device"),
                       input_size=tuple(size) if size else None, task=config.get("task"),
                       checkpoint_source=source)
