"""What this machine can run: usable CPU cores, memory, the most training processes, and
where PyTorch runs (:data:`TORCH_DEVICES`).

``--jobs`` of ``nas search`` and ``nas finalize`` is checked against :func:`max_jobs`: at most
:data:`JOBS_PER_CORE` training processes per usable core (more only queue for the cores while
each holds its memory) and no more than the memory holds at :func:`training_worker_bytes`
each. Without the check, ``--jobs 999`` spawned hundreds of processes on a 2-core machine.
"""

from __future__ import annotations

import os
from pathlib import Path

GB = 1024**3
# Where PyTorch trains and evaluates (--torch-device); auto: CUDA when PyTorch sees a GPU, else
# the CPU (nas.train.resolve_device). No torch import here.
TORCH_DEVICES = ("auto", "cpu", "cuda")
DEFAULT_TORCH_DEVICE = "auto"
JOBS_PER_CORE = 2
# A training process, measured (peak RSS, ai85unetlarge, one thread, CamVid decoded on first
# use): 1.25 GB with the proxy preset (batch 16 of 160 px crops), 2.5-2.7 GB at the
# deployment resolution (batch 16 of 352 px crops: medium, full). Estimate: a fixed part
# (Python, PyTorch, the decoded frames) plus a part per pixel of a batch, ~15 % above both.
WORKER_BASE_BYTES = 1 * GB
WORKER_BYTES_PER_BATCH_PIXEL = 1024

CGROUP = Path("/sys/fs/cgroup")


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _cgroup_cpus() -> float | None:
    """CPUs allowed by a cgroup v2 quota (``cpu.max``: ``quota period``), ``None`` if none."""
    text = _read(CGROUP / "cpu.max")
    if not text:
        return None
    quota, _, period = text.partition(" ")
    if quota == "max" or not quota.isdigit() or not period.isdigit() or int(period) == 0:
        return None
    return int(quota) / int(period)


def usable_cores() -> int:
    """CPU cores this process may run on: its affinity mask, within a cgroup CPU quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cores = os.cpu_count() or 1
    quota = _cgroup_cpus()
    if quota is not None:
        cores = min(cores, max(1, int(quota)))
    return max(1, cores)


def total_memory() -> int | None:
    """Bytes of memory this process may use: physical memory, or a lower cgroup limit
    (``None`` when unknown)."""
    try:
        physical: int | None = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        physical = None
    limits = [physical] if physical and physical > 0 else []
    for name in ("memory.max", "memory/memory.limit_in_bytes"):  # cgroup v2, v1
        text = _read(CGROUP / name)
        if text and text.isdigit():
            limits.append(int(text))
    return min(limits) if limits else None


def training_worker_bytes(batch_size: int, crop: int) -> int:
    """Estimated peak memory of one training process (batches of ``crop`` x ``crop`` px)."""
    return WORKER_BASE_BYTES + WORKER_BYTES_PER_BATCH_PIXEL * batch_size * crop * crop


def max_jobs(worker_bytes: int) -> int:
    """The most training processes this machine runs at once (at least 1)."""
    limit = JOBS_PER_CORE * usable_cores()
    memory = total_memory()
    if memory is not None:
        limit = min(limit, memory // max(1, worker_bytes))
    return max(1, limit)


def check_jobs(jobs: int, worker_bytes: int, what: str = "workers") -> None:
    """``ValueError`` (one line: the limit and why) when ``jobs`` exceeds :func:`max_jobs`."""
    if jobs < 1:
        raise ValueError(f"--jobs must be >= 1, but got --jobs {jobs}")
    limit = max_jobs(worker_bytes)
    if jobs <= limit:
        return
    cores, memory = usable_cores(), total_memory()
    mem = "" if memory is None else (f"; ~{worker_bytes / GB:.1f} GB each of "
                                     f"{memory / GB:.1f} GB memory")
    raise ValueError(f"--jobs {jobs} is more than this machine can run: at most {limit} {what} "
                     f"({JOBS_PER_CORE} per CPU core, {cores} cores{mem}); "
                     f"use --jobs {limit} or fewer")
