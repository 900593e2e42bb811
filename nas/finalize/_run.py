"""``finalize(cfg)``: train the finalists for every seed, score test once, write the table.

Resume: a (model, seed) whose row is in ``finalists.csv`` is skipped, so rerunning the same
command after a crash, Ctrl-C or on another host sharing the folder only trains what is
missing; a training in progress continues from its last evaluated epoch
(``<checkpoint>.partial``, every 5 epochs with ``full``), so a crash loses at most those
epochs. Rows are merged in as each training ends (:mod:`nas.finalize._store`).
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import multiprocessing as mp
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from nas._atomic import atomic_open
from nas._imports import import_function
from nas.data import DatasetNotFoundError, get_task, resolve_data_dir
from nas.finalize._config import FinalizeConfig
from nas.finalize._outputs import summary_frame, write_outputs
from nas.finalize._preview import finalists_preview
from nas.finalize._select import Finalist, select_finalists
from nas.finalize._store import done_keys, merge_row, read_rows
from nas.hardware import DEFAULT_DEVICE, check
from nas.search import study_frame
from nas.spec import DEFAULT_INPUT_SIZE
from nas.studyio import FINALISTS_PREVIEW, load_study, study_folder
from nas.train import get_preset, resolve_device

DEFAULT_STUDY_SETTINGS = {"task": "camvid4", "device": DEFAULT_DEVICE,
                          "input_size": list(DEFAULT_INPUT_SIZE)}


@dataclass(frozen=True)
class Job:
    """One (finalist, seed) training: everything a spawned worker needs, picklable."""

    finalist: Finalist
    seed: int
    preset: str
    task: str
    device: str
    input_size: tuple[int, int]
    data_dir: Path | None
    folder: Path  # the study folder; the checkpoint path in the row is relative to it
    checkpoint: Path
    csv: Path
    trainer: str
    tester: str
    threads: int
    torch_device: str
    progress: bool


FLOAT_PHASE_DIR = "float"  # states before QAT, shared by a net's bit variants (nas.train.train)


@dataclass
class FinalizeResult:
    """What :func:`finalize` did."""

    finalists: list[Finalist]
    trained: list[tuple[str, int]] = field(default_factory=list)
    skipped: list[tuple[str, int]] = field(default_factory=list)
    rows: pd.DataFrame = field(default_factory=pd.DataFrame)
    summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    paths: dict[str, Path] = field(default_factory=dict)


def study_settings(study: Any) -> dict[str, Any]:
    """Task, device and input size the study was searched at (its stored config)."""
    stored = study.user_attrs.get("config") or {}
    out = {k: stored.get(k, v) for k, v in DEFAULT_STUDY_SETTINGS.items()}
    out["input_size"] = tuple(int(v) for v in out["input_size"])
    return out


def plan(cfg: FinalizeConfig) -> tuple[list[Finalist], list[Job], list[tuple[str, int]],
                                        pd.DataFrame, dict[str, Any]]:
    """(finalists, jobs still to run, (name, seed) already done, trials frame, settings)."""
    study = load_study(cfg.study_name, cfg.storage, cfg.studies_dir)
    trials = study_frame(study)  # with miou@<preset> of every rung
    finalists = select_finalists(trials, cfg.k, cfg.trials, cfg.best_within)
    settings = study_settings(study)
    _check_same_preset(cfg)
    done = done_keys(cfg.csv)
    names = [f.name for f in finalists]
    unknown = [n for n in cfg.only if n not in names]
    if unknown:
        raise ValueError(f"--only {','.join(unknown)}: not a finalist of {cfg.study_name}; "
                         f"finalists: {', '.join(names)}")
    jobs, skipped = [], []
    for f in finalists:
        if cfg.only and f.name not in cfg.only:
            continue
        for seed in range(cfg.seeds):
            if (f.name, seed) in done:
                skipped.append((f.name, seed))
                continue
            jobs.append(Job(
                finalist=f, seed=seed, preset=cfg.preset, task=settings["task"],
                device=settings["device"], input_size=settings["input_size"],
                data_dir=cfg.data_dir, folder=cfg.folder,
                checkpoint=cfg.checkpoint_dir / f"{f.name}-seed{seed}.pt", csv=cfg.csv,
                trainer=cfg.trainer, tester=cfg.tester, threads=cfg.threads_per_job,
                torch_device=cfg.torch_device, progress=cfg.progress))
    return finalists, jobs, skipped, trials, settings


def _check_same_preset(cfg: FinalizeConfig) -> None:
    rows = read_rows(cfg.csv)
    if "preset" not in rows.columns or rows.empty:
        return
    other = sorted(set(rows["preset"].astype(str)) - {cfg.preset})
    if other:
        raise ValueError(
            f"{cfg.csv} holds rows trained with preset {other[0]!r}, not {cfg.preset!r}: pass "
            f"--preset {other[0]} to resume it, or move the file away to start over")


def run_job(job: Job) -> dict[str, Any]:
    """Train one finalist with one seed, score test once, merge its row; returns the row."""
    f = job.finalist
    task = get_task(job.task)
    preset = get_preset(job.preset).at_input_size(job.input_size, f.spec.fold_ratio)
    train: Callable[..., Any] = import_function("trainer", job.trainer)
    tester: Callable[..., dict] = import_function("tester", job.tester)
    job.checkpoint.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    # resume: a training cut by a crash, a signal or the end of a session continues from its
    # last evaluated epoch (<checkpoint>.partial) when the same command runs again; a net's
    # 8- and 4-bit variants train their float epochs once (finalists/float/)
    torch_device = resolve_device(job.torch_device)  # auto: cuda where this worker sees one
    res = train(f.spec, task, preset, job.data_dir, seed=job.seed, device=torch_device,
                checkpoint_path=job.checkpoint, progress=job.progress, threads=job.threads,
                resume=True, float_phase_dir=job.checkpoint.parent / FLOAT_PHASE_DIR)
    test = tester(job.checkpoint, f.spec, task, preset, job.data_dir, torch_device)
    hw = check(f.spec, job.device, job.input_size)
    row = {
        "name": f.name, "role": f.role, "trial": f.trial, "seed": job.seed,
        "val_miou": float(res.miou), "test_miou": float(test["miou"]),
        "weight_bytes": int(hw.weight_bytes), "bias_bytes": int(hw.bias_bytes),
        "latency_cycles": hw.latency_cycles, "fits": bool(hw.feasible),
        "param_bytes": int(hw.param_bytes), "latency_ms": hw.latency_ms,
        "search_miou": f.search_miou, "search_rung": f.rung,
        "test_pixel_accuracy": float(test["pixel_accuracy"]),
        **{f"test_iou_{k}": v for k, v in test["per_class_iou"].items()},
        "violations": "; ".join(v.message for v in hw.violations),
        "preset": preset.name, "epochs": int(res.epochs), "task": job.task,
        "device": job.device,
        "input_size": "x".join(map(str, job.input_size)),
        "train_seconds": float(res.seconds), "wall_seconds": time.perf_counter() - t0,
        "checkpoint": str(job.checkpoint.relative_to(job.folder)),
        "spec": json.dumps(f.spec.to_dict(), separators=(",", ":")),
    }
    merge_row(job.csv, row)
    return row


def finalize(cfg: FinalizeConfig, log: Callable[[str], None] = print) -> FinalizeResult:
    """Run (or resume) ``cfg``; see the module docstring.

    Raises:
        ValueError: unknown study, no complete trials, nothing to pick, another preset in the
            existing CSV.
        KeyboardInterrupt: Ctrl-C / SIGTERM; finished rows are kept, rerun to resume.
    """
    if cfg.rows_from:
        chosen, _, _, _, settings = plan(cfg)
        for name, seed, other in adopt_rows(cfg, chosen, settings):
            log(f"{name} seed {seed}: taken over from study {other}")
    finalists, jobs, skipped, trials, settings = plan(cfg)
    result = FinalizeResult(finalists=finalists, skipped=skipped)
    for name, seed in skipped:
        log(f"{name} seed {seed}: in {cfg.csv.name} already, skipped")
    if cfg.data_dir is None and jobs:
        try:
            cfg = cfg.replace(data_dir=Path(resolve_data_dir(None)))
        except DatasetNotFoundError as e:  # one clean line, before any training
            raise ValueError(str(e)) from None
        jobs = [_with_data(j, cfg.data_dir) for j in jobs]
    for row in _execute(jobs, cfg.jobs, log):
        result.trained.append((row["name"], int(row["seed"])))
    rows = read_rows(cfg.csv)
    result.rows = rows
    if not rows.empty:
        result.summary = summary_frame(rows)
        preview = _write_preview(cfg, rows, result.summary, settings, log)
        result.paths = write_outputs(rows, trials, cfg.folder, cfg.study_name, preview)
    return result


def _write_preview(cfg: FinalizeConfig, rows: pd.DataFrame, summary: pd.DataFrame,
                   settings: dict[str, Any], log: Callable[[str], None]) -> Path | None:
    """``finalists_preview.png`` in the study folder, or None (and one line) without CamVid."""
    try:
        grid = finalists_preview(summary, rows, cfg.folder, get_task(settings["task"]),
                                 get_preset(cfg.preset), settings["input_size"], cfg.data_dir,
                                 resolve_device(cfg.torch_device))
    except ValueError as e:  # DataError (no CamVid here) included
        log(f"{FINALISTS_PREVIEW} skipped: {str(e).split('. ')[0]}")
        return None
    path = cfg.folder / FINALISTS_PREVIEW
    with atomic_open(path, "wb") as fh:
        grid.image.save(fh, format="PNG")
    return path


def rows_to_adopt(cfg: FinalizeConfig, finalists: list[Finalist],
                  settings: dict[str, Any]) -> list[tuple[Finalist, dict[str, Any], str]]:
    """The rows of ``cfg.rows_from`` studies that train one of ``finalists`` exactly as this
    run would (same spec, preset, task, device and input size) and that ``cfg``'s CSV lacks:
    (finalist, row, study) each, first study first."""
    want = {json.dumps(f.spec.to_dict(), separators=(",", ":")): f for f in finalists}
    size = "x".join(map(str, settings["input_size"]))
    done = done_keys(cfg.csv)
    out: list[tuple[Finalist, dict[str, Any], str]] = []
    for other in cfg.rows_from:
        folder = study_folder(cfg.studies_dir, other)
        for row in read_rows(folder / cfg.csv.name).to_dict("records"):
            f = want.get(str(row.get("spec")))
            if (f is None or (f.name, int(row["seed"])) in done or row.get("preset") != cfg.preset
                    or row.get("device") != settings["device"]
                    or str(row.get("input_size")) != size
                    or str(row.get("task") or settings["task"]) != settings["task"]):
                continue
            done.add((f.name, int(row["seed"])))
            out.append((f, row, other))
    return out


def adopt_rows(cfg: FinalizeConfig, finalists: list[Finalist],
               settings: dict[str, Any]) -> list[tuple[str, int, str]]:
    """Copy into ``cfg``'s CSV the rows :func:`rows_to_adopt` finds, with their checkpoints;
    rows already here win. Returns (name, seed, study) taken over."""
    import shutil

    taken: list[tuple[str, int, str]] = []
    for f, row, other in rows_to_adopt(cfg, finalists, settings):
        src = study_folder(cfg.studies_dir, other) / str(row["checkpoint"])
        dst = cfg.checkpoint_dir / f"{f.name}-seed{int(row['seed'])}.pt"
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)
        merge_row(cfg.csv, {**row, "name": f.name, "role": f.role, "trial": f.trial,
                            "search_miou": f.search_miou, "search_rung": f.rung,
                            "checkpoint": str(dst.relative_to(cfg.folder))})
        taken.append((f.name, int(row["seed"]), other))
    return taken


def _with_data(job: Job, data_dir: Path | None) -> Job:
    import dataclasses

    return dataclasses.replace(job, data_dir=data_dir)


def _done_line(row: dict) -> str:
    return (f"{row['name']} seed {row['seed']}: test mIoU {row['test_miou']:.4f} "
            f"(val {row['val_miou']:.4f}), {row['wall_seconds']:.0f} s")


def _execute(jobs: list[Job], n_jobs: int, log: Callable[[str], None]) -> list[dict]:
    rows = []
    if n_jobs == 1 or len(jobs) <= 1:
        for job in jobs:
            log(f"{job.finalist.name} seed {job.seed}: training with {job.preset} ...")
            rows.append(run_job(job))
            log(_done_line(rows[-1]))
        return rows
    # spawn: a fresh interpreter per worker (no forked torch / SQLite state)
    with cf.ProcessPoolExecutor(max_workers=n_jobs, mp_context=mp.get_context("spawn")) as pool:
        futures = {pool.submit(run_job, job): job for job in jobs}
        for job in jobs:
            log(f"{job.finalist.name} seed {job.seed}: queued ({job.preset})")
        try:
            for fut in cf.as_completed(futures):
                rows.append(fut.result())
                log(_done_line(rows[-1]))
        except BaseException:
            _stop_workers(pool)
            raise
    return rows


def _stop_workers(pool: cf.ProcessPoolExecutor) -> None:
    """End the trainings in progress now: a signal sent to this process alone (``kill``,
    a scheduler) does not reach the workers, and the pool would otherwise wait for each
    running training to finish. Their state stays in ``<checkpoint>.partial`` for a rerun."""
    workers = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for w in workers:
        if w.is_alive():
            w.terminate()
    for w in workers:
        w.join(timeout=30)
