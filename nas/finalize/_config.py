"""`FinalizeConfig`: one finalize run, validated at construction."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from nas import _resources
from nas._imports import import_function
from nas._resources import TORCH_DEVICES
from nas.search._config import worker_bytes
from nas.studyio import FINALISTS_DIR, finalists_csv, study_folder
from nas.train import get_preset


@dataclass(frozen=True)
class FinalizeConfig:
    """What to retrain, how, and where the results go.

    Attributes:
        study_name: the study (``studies/<name>.db`` unless ``storage``).
        k: knees to take from the front (fewer if the front is smaller; 0: references only).
        seeds: seeds per model: ``0 .. seeds-1``.
        preset: training preset (``full``: 352 crops, 100 epochs, the last 20 QAT).
        jobs: trainings at once, each a process with ``threads`` PyTorch threads; more than
            the machine runs (:func:`nas._resources.max_jobs`) is refused.
        storage: Optuna storage URL; ``None`` = SQLite in ``studies_dir``.
        studies_dir: folder of the study's database and reports.
        data_dir: CamVid root; ``None`` = ``$CAMVID_DIR`` or ``data/CamVid``.
        trials: retrain these trial numbers instead of knees.
        torch_device: where PyTorch trains and tests: ``cpu``, ``cuda`` or ``auto`` (CUDA
            if the worker sees one, else CPU; see :func:`nas.train.resolve_device`).
        threads: PyTorch threads per training; ``None`` = usable CPU cores // jobs.
        trainer: ``"module:function"`` with :func:`nas.train.train`'s signature (tests: a fake).
        tester: ``"module:function"`` with :func:`nas.finalize.score_test`'s signature.
        progress: a tqdm bar per training.
        rows_from: other studies (same folder and storage) whose finalize rows of the same
            architecture, preset, task, device and input size are taken over (with their
            checkpoints) instead of training them again: references trained ahead of a search.
        only: train only the finalists of these names (as in ``finalists.csv``; the report
            still covers every row), so that two runs on one study can split the work.
        best_within: weight-byte budgets; each adds the front net with the highest search
            mIoU within it (role ``budget``), e.g. a quarter of a reference's bytes.
    """

    study_name: str
    k: int = 4
    seeds: int = 1
    preset: str = "full"
    jobs: int = 1
    storage: str | None = None
    studies_dir: Path = Path("studies")
    data_dir: Path | None = None
    trials: tuple[int, ...] = ()
    torch_device: str = "cpu"
    threads: int | None = None
    trainer: str = "nas.train:train"
    tester: str = "nas.finalize._scoring:score_test"
    progress: bool = False
    rows_from: tuple[str, ...] = ()
    only: tuple[str, ...] = ()
    best_within: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "studies_dir", Path(self.studies_dir))
        object.__setattr__(self, "trials", tuple(int(t) for t in self.trials))
        object.__setattr__(self, "rows_from", tuple(self.rows_from))
        object.__setattr__(self, "only", tuple(self.only))
        object.__setattr__(self, "best_within", tuple(int(b) for b in self.best_within))
        if any(b < 1 for b in self.best_within):
            raise ValueError(f"--best-within takes weight bytes >= 1, but got "
                             f"{','.join(map(str, self.best_within))}")
        if self.study_name in self.rows_from:
            raise ValueError(f"--rows-from names the study itself ({self.study_name})")
        if self.k < 0:
            raise ValueError(f"--k must be >= 0 (0: the references only), but got --k {self.k}")
        for name in ("seeds",):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name} must be >= 1, but got --{name} {getattr(self, name)}")
        if self.torch_device not in TORCH_DEVICES:
            raise ValueError(f"--torch-device must be one of {TORCH_DEVICES}, but got "
                             f"--torch-device {self.torch_device}")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"--threads must be >= 1, but got --threads {self.threads}")
        get_preset(self.preset)  # unknown names list the valid ones
        # no more trainings at once than the machine runs (full: ~3 GB each at 88x88)
        _resources.check_jobs(self.jobs, worker_bytes((self.preset,)), what="trainings")
        import_function("trainer", self.trainer)
        import_function("tester", self.tester)

    @property
    def folder(self) -> Path:
        return study_folder(self.studies_dir, self.study_name)

    @property
    def csv(self) -> Path:
        return finalists_csv(self.studies_dir, self.study_name)

    @property
    def checkpoint_dir(self) -> Path:
        return self.folder / FINALISTS_DIR

    @property
    def threads_per_job(self) -> int:
        return self.threads or max(1, _resources.usable_cores() // self.jobs)

    def replace(self, **changes: object) -> FinalizeConfig:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]
