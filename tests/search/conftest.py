import pytest

from tests.search import fakes


@pytest.fixture
def fake_backend(monkeypatch, tmp_path):
    """Fakes for data resolution (here) and, by name in the config, space/hardware/trainer."""
    import nas.search._run as run_mod

    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setattr(run_mod, "resolve_data_dir", lambda d: data)
    fakes.CALLS.clear()
    return fakes
