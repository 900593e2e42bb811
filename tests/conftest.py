"""Suite-wide fixtures: tests never write to the user's cache folder."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="session")
def _session_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    # Tests of every package call load_split(); keep their cache out of ~/.cache/maxnas.
    mp = pytest.MonkeyPatch()
    mp.setenv("MAXNAS_CACHE", str(tmp_path_factory.mktemp("maxnas-cache")))
    yield
    mp.undo()
