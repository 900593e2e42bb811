from __future__ import annotations

from pathlib import Path

import pytest

from nas.data.synthetic import make_synthetic_camvid


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own cache folder (never ~/.cache) and no CAMVID_DIR."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("MAXNAS_CACHE", str(cache))
    monkeypatch.delenv("CAMVID_DIR", raising=False)
    return cache


@pytest.fixture
def cache_dir(_private_cache: Path) -> Path:
    return _private_cache


@pytest.fixture
def maxnas_root(tmp_path: Path) -> Path:
    return make_synthetic_camvid(tmp_path / "maxnas", layout="maxnas")


@pytest.fixture
def ai8x_root(tmp_path: Path) -> Path:
    return make_synthetic_camvid(tmp_path / "ai8x", layout="ai8x")
