"""Suite-wide fixtures: tests never write to the user's cache folder; external tools are
required where a run asked for them.

A test that needs something outside the repository (real CamVid, ai8x-synthesis,
ai8x-training) calls :func:`require`. In the default run (``-m 'not slow and not
integration'``) such tests are deselected anyway, and a missing tool skips. When a run asks
for their marker explicitly (``pytest -m integration``, ``make test-slow``), a missing tool
FAILS the test: a run that asked for the izer checks must not pass having checked nothing.
"""

from __future__ import annotations

import os

import pytest

_CONFIG: pytest.Config | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _CONFIG
    _CONFIG = config


def asked_for(marker: str) -> bool:
    """Whether this run's ``-m`` expression selects ``marker`` (and does not negate it)."""
    expr = str(_CONFIG.getoption("markexpr", "") or "") if _CONFIG is not None else ""
    words = expr.replace("(", " ").replace(")", " ").split()
    return any(w == marker and (i == 0 or words[i - 1] != "not") for i, w in enumerate(words))


def require(available: bool, what: str, markers: tuple[str, ...] = ("integration",)) -> None:
    """Skip (default run) or fail (a run that asked for ``markers``) when ``what`` is missing."""
    if available:
        return
    asked = [m for m in markers if asked_for(m)]
    if asked:
        pytest.fail(f"{what} (this run asked for -m {' / '.join(asked)}, so it cannot skip)",
                    pytrace=False)
    pytest.skip(what)


@pytest.fixture(autouse=True, scope="session")
def _session_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    # Tests of every package call load_split(); keep their cache out of ~/.cache/maxnas.
    mp = pytest.MonkeyPatch()
    mp.setenv("MAXNAS_CACHE", str(tmp_path_factory.mktemp("maxnas-cache")))
    yield
    mp.undo()


@pytest.fixture(autouse=True)
def _exact_planner_budget_independent_of_load(monkeypatch):
    """The exact planner's verdicts in tests must not depend on how busy the machine is: its
    1 s default can run out on a loaded CI box ("undecided"). A test that sets the budget
    itself (monkeypatch.setenv) still wins."""

    if "NAS_PLAN_EXACT_MS" not in os.environ:
        monkeypatch.setenv("NAS_PLAN_EXACT_MS", "20000")
