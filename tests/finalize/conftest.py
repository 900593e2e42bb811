import shutil

import pytest

from nas.search import SearchConfig, run
from tests.finalize import fakes
from tests.search import fakes as search_fakes


def _make_study(root):
    """4 references, one infeasible (never trained) trial and 5 random ones, fake backend."""
    import nas.search._run as run_mod
    from nas.search._storage import open_storage
    from nas.search._study import create_or_load_study

    cfg = SearchConfig(n_trials=10, jobs=1, study_name="s", studies_dir=root / "studies",
                       preset="smoke", progress=False, sampler="random", seed=1,
                       heartbeat_interval=1, **search_fakes.FAKE)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(run_mod, "resolve_data_dir", lambda d: root)
        study = create_or_load_study(cfg, open_storage(cfg))
        study.enqueue_trial({"depth": 3, "base": 256})  # over the chip: never trained
        run(cfg)
    return cfg


@pytest.fixture(scope="module")
def _study_template(tmp_path_factory):
    return _make_study(tmp_path_factory.mktemp("template"))


@pytest.fixture
def fake_study(_study_template, fake_backend, tmp_path):
    """A copy of a 10-trial fake study in ``tmp_path/studies`` (built once per module)."""
    shutil.copytree(_study_template.studies_dir, tmp_path / "studies")
    return _study_template.replace(studies_dir=tmp_path / "studies")


@pytest.fixture
def fake_backend(monkeypatch, tmp_path):
    (tmp_path / "data").mkdir()
    monkeypatch.delenv("MAXNAS_FAKE_CRASH_AT", raising=False)
    monkeypatch.delenv("MAXNAS_FAKE_SIGTERM_AT", raising=False)
    search_fakes.CALLS.clear()
    fakes.CALLS.clear()
    return search_fakes
