"""Fixtures the benchmark scripts' tests share with the search's."""

from tests.search.conftest import fake_backend  # noqa: F401  (a fixture: fake data dir, CALLS)
