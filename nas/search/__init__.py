"""The Optuna search: study, objective glue, workers, its output files.

``run(SearchConfig(...))`` runs or resumes a multi-objective study (val mIoU up, parameter bytes
down, optionally latency down) under the chip's constraints; ``run_search.py`` is its CLI.
"""

# The front's maths live in nas.front; re-exported here, where callers first found them.
from nas.front import (
    HEADLINE_REF_MIOU,
    HV_REFERENCE_BYTES,
    HV_REFERENCE_MIOU,
    REACH_MIOUS,
    REF_MIOUS,
    FrontQuality,
    bytes_to_reach,
    front_quality,
    hypervolume_2d,
    hypervolume_frame,
    knee_points,
    log_hypervolume,
    log_hypervolume_curve,
    log_hypervolume_frame,
    pareto_frame,
    pareto_mask,
    weight_memory_bytes,
)
from nas.search._config import DEFAULT_REFERENCES, OBJECTIVES, SAMPLERS, SearchConfig
from nas.search._objective import Objective, arch_summary
from nas.search._outputs import build_report, dashboard_figures, settings_of, write_reports
from nas.search._run import prepare, run
from nas.search._rung_studies import RungWork, open_rung_study, study_frame
from nas.search._rungs import (
    RungPoint,
    miou_key,
    promote,
    rung_points,
    rung_study_name,
    select_promotions,
)
from nas.search._storage import artifact_store, check_storage_url, open_storage
from nas.search._study import create_or_load_study, make_sampler, trial_counts
from nas.search._summary import SearchResult, finish, summary
from nas.search._workers import work

__all__ = [
    "DEFAULT_REFERENCES",
    "FrontQuality",
    "HEADLINE_REF_MIOU",
    "HV_REFERENCE_BYTES",
    "HV_REFERENCE_MIOU",
    "OBJECTIVES",
    "REACH_MIOUS",
    "REF_MIOUS",
    "Objective",
    "SAMPLERS",
    "SearchConfig",
    "RungPoint",
    "RungWork",
    "SearchResult",
    "arch_summary",
    "build_report",
    "dashboard_figures",
    "bytes_to_reach",
    "artifact_store",
    "check_storage_url",
    "create_or_load_study",
    "finish",
    "front_quality",
    "hypervolume_2d",
    "hypervolume_frame",
    "knee_points",
    "log_hypervolume",
    "log_hypervolume_curve",
    "log_hypervolume_frame",
    "make_sampler",
    "miou_key",
    "open_rung_study",
    "open_storage",
    "pareto_frame",
    "pareto_mask",
    "prepare",
    "promote",
    "run",
    "rung_points",
    "rung_study_name",
    "select_promotions",
    "settings_of",
    "study_frame",
    "summary",
    "trial_counts",
    "weight_memory_bytes",
    "work",
    "write_reports",
]
