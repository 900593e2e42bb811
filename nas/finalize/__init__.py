"""Retrain a study's finalists (knees of its front and its references) with the final recipe.

``finalize(FinalizeConfig(study_name=..., k=4, seeds=3))`` trains each finalist for each
seed, scores the test split once per (model, seed) and writes ``studies/<name>/finalists.csv``,
``finalists.md``, a plot and ``finalists_preview.png`` (test tiles as each model segments
them); ``python -m nas finalize`` is its CLI. The checkpoints land where
``python -m nas export --study NAME --trial N`` looks first.
"""

from nas.finalize._config import FinalizeConfig
from nas.finalize._outputs import figure, markdown, summary_frame, write_outputs
from nas.finalize._run import FinalizeResult, Job, finalize, plan, run_job, study_settings
from nas.finalize._scoring import score_test
from nas.finalize._select import Finalist, pick_knees, select_finalists
from nas.finalize._store import KEY_COLUMNS, done_keys, merge_row, read_rows

__all__ = [
    "KEY_COLUMNS",
    "FinalizeConfig",
    "FinalizeResult",
    "Finalist",
    "Job",
    "done_keys",
    "figure",
    "finalize",
    "markdown",
    "merge_row",
    "pick_knees",
    "plan",
    "read_rows",
    "run_job",
    "score_test",
    "select_finalists",
    "study_settings",
    "summary_frame",
    "write_outputs",
]
