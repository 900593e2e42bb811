"""The Optuna search: study, objective glue, workers, reports.

``run(SearchConfig(...))`` runs or resumes a multi-objective study (val mIoU up, parameter bytes
down, optionally latency down) under the chip's constraints; ``run_search.py`` is its CLI.
"""

from nas.search._config import (
    DEFAULT_REFERENCES,
    HV_REFERENCE_BYTES,
    HV_REFERENCE_MIOU,
    OBJECTIVES,
    SAMPLERS,
    SearchConfig,
)
from nas.search._objective import Objective, arch_summary
from nas.search._report import (
    atomic_write_text,
    checkpoint_path,
    checkpoint_status,
    front_figure,
    hypervolume_2d,
    hypervolume_figure,
    knee_points,
    pareto_frame,
    trials_frame,
    write_figure,
    write_reports,
)
from nas.search._run import SearchResult, finish, prepare, run, summary, work
from nas.search._storage import artifact_store, check_storage_url, open_storage
from nas.search._study import create_or_load_study, make_sampler, trial_counts

__all__ = [
    "DEFAULT_REFERENCES",
    "HV_REFERENCE_BYTES",
    "HV_REFERENCE_MIOU",
    "OBJECTIVES",
    "Objective",
    "SAMPLERS",
    "SearchConfig",
    "SearchResult",
    "arch_summary",
    "artifact_store",
    "atomic_write_text",
    "check_storage_url",
    "checkpoint_path",
    "checkpoint_status",
    "create_or_load_study",
    "finish",
    "front_figure",
    "hypervolume_2d",
    "hypervolume_figure",
    "knee_points",
    "make_sampler",
    "open_storage",
    "pareto_frame",
    "prepare",
    "run",
    "summary",
    "trial_counts",
    "trials_frame",
    "work",
    "write_figure",
    "write_reports",
]
