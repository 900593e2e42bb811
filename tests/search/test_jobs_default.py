"""`--jobs` defaults to one single-threaded worker per CPU core."""

from nas.search import SearchConfig, _config


def test_default_is_one_single_threaded_worker_per_core(monkeypatch):
    monkeypatch.setattr(_config.os, "cpu_count", lambda: 6)
    cfg = SearchConfig()
    assert (cfg.jobs, cfg.threads_per_job) == (6, 1)
    assert SearchConfig(jobs=2).threads_per_job == 3  # an explicit --jobs splits the cores


def test_unknown_core_count_means_one_worker(monkeypatch):
    monkeypatch.setattr(_config.os, "cpu_count", lambda: None)
    assert SearchConfig().jobs == 1
