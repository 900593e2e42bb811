"""The default sampler is built without warnings on the user's screen."""

import warnings

from nas.search import SearchConfig
from nas.search._study import make_sampler


def test_default_sampler_builds_without_experimental_warnings():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make_sampler(SearchConfig(), seed=0)
    assert [str(w.message) for w in caught] == []
