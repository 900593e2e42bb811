import pytest

from tests.search import fakes


@pytest.fixture
def fake_backend(monkeypatch, tmp_path):
    """Space, hardware and data replaced by fakes in this process; trainer by name."""
    import nas.search._run as run_mod

    monkeypatch.setattr(run_mod, "components", lambda cfg: fakes.fake_components())
    monkeypatch.setattr(run_mod, "resolve_data_dir", lambda d: tmp_path / "data")
    fakes.CALLS.clear()
    return fakes
