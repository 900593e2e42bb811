"""`--jobs`: one single-threaded worker per usable core by default, and never more workers
than the machine runs (cores and memory, the same rule for search and finalize)."""

from __future__ import annotations

import pytest

from nas import _resources
from nas.__main__ import main as nas_main
from nas._resources import GB
from nas.search import SearchConfig
from nas.search._config import default_jobs, worker_bytes
from nas.search.cli import main


@pytest.fixture
def machine(monkeypatch):
    """Pretend to be a machine with ``cores`` usable cores and ``memory`` bytes."""
    def set_(cores: int, memory: int | None) -> None:
        monkeypatch.setattr(_resources, "usable_cores", lambda: cores)
        monkeypatch.setattr(_resources, "total_memory", lambda: memory)
    return set_


def test_default_is_one_single_threaded_worker_per_core(machine):
    machine(6, 64 * GB)
    cfg = SearchConfig()
    assert (cfg.jobs, cfg.threads_per_job) == (6, 1)
    assert SearchConfig(jobs=2).threads_per_job == 3  # an explicit --jobs splits the cores


def test_the_default_stays_within_the_memory(machine):
    machine(16, 8 * GB)  # 8 GB / ~1.4 GB per proxy worker: 5; at 352 px crops ~2.9 GB: 2
    assert default_jobs() == 5
    assert default_jobs(("proxy", "medium")) == 2
    assert SearchConfig(rungs=("proxy", "medium"),
                        jobs=default_jobs(("proxy", "medium"))).jobs == 2


def test_usable_cores_follow_the_affinity_mask_and_a_cgroup_quota(monkeypatch):
    monkeypatch.setattr(_resources.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3},
                        raising=False)
    monkeypatch.setattr(_resources.os, "cpu_count", lambda: 64)
    monkeypatch.setattr(_resources, "_cgroup_cpus", lambda: None)
    assert _resources.usable_cores() == 4  # not the host's 64
    monkeypatch.setattr(_resources, "_cgroup_cpus", lambda: 2.5)  # docker --cpus 2.5
    assert _resources.usable_cores() == 2


def test_worker_memory_estimate_covers_the_measured_peaks():
    # measured peak RSS of one training process: 1.25 GB (proxy), 2.5-2.7 GB (medium, full)
    assert 1.25 * GB < worker_bytes(("proxy",)) < 1.6 * GB
    assert 2.7 * GB < worker_bytes(("medium",)) == worker_bytes(("full",)) < 3.2 * GB
    assert worker_bytes(("proxy", "medium")) == worker_bytes(("medium",))  # the dearest rung
    assert worker_bytes(("full",), (64, 64)) < worker_bytes(("full",))  # 256 px crops


@pytest.mark.parametrize("cores, memory, limit", [
    (2, 24 * GB, 4),    # 2 per core
    (64, 8 * GB, 5),    # the memory: 8 GB / ~1.4 GB
    (4, None, 8),       # memory unknown: cores only
    (1, 1 * GB, 1),     # always at least one
])
def test_max_jobs_is_the_smaller_of_cores_and_memory(machine, cores, memory, limit):
    machine(cores, memory)
    assert _resources.max_jobs(worker_bytes(("proxy",))) == limit


def test_too_many_search_workers_are_refused_in_one_line(machine, tmp_path, capsys):
    """--jobs 999 used to start more than 200 Python processes on a 2-core, 24 GB machine."""
    machine(2, 24 * GB)
    with pytest.raises(SystemExit) as e:
        main(["--jobs", "999", "--trials", "1", "--studies-dir", str(tmp_path / "s")],
             prog="run_search.py")
    err = capsys.readouterr().err
    assert e.value.code == 2
    assert err == ("run_search.py: error: --jobs 999 is more than this machine can run: at "
                   "most 4 workers (2 per CPU core, 2 cores; ~1.4 GB each of 24.0 GB memory); "
                   "use --jobs 4 or fewer\n")
    assert nas_main(["search", "--jobs", "999", "--studies-dir", str(tmp_path / "s")]) == 2
    assert "at most 4 workers" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()
    assert SearchConfig(jobs=4).jobs == 4  # the limit itself is fine
    machine(2, 8 * GB)  # ~2.9 GB per worker with a medium rung: 2 fit
    with pytest.raises(ValueError, match="at most 2 workers .*~2.9 GB each of 8.0 GB"):
        SearchConfig(preset="proxy", rungs=("proxy", "medium"), jobs=3)


def test_too_many_finalize_trainings_are_refused(machine, tmp_path, capsys):
    machine(16, 8 * GB)  # the full preset: ~2.9 GB each, 2 fit
    assert nas_main(["finalize", "--study", "nope", "--jobs", "3", "--studies-dir",
                     str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == ("error: --jobs 3 is more than this machine can run: at most 2 trainings "
                   "(2 per CPU core, 16 cores; ~2.9 GB each of 8.0 GB memory); use --jobs 2 "
                   "or fewer\n")
    assert nas_main(["finalize", "--study", "nope", "--jobs", "3", "--preset", "smoke",
                     "--studies-dir", str(tmp_path)]) == 2  # smoke: 1 GB each, 3 fit
    assert "no study" in capsys.readouterr().err.lower()
