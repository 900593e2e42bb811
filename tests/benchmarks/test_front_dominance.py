"""``benchmarks/front_dominance.py``: where along the log-bytes axis one front is above another."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from benchmarks import front_dominance as fd
from nas.search import weight_memory_bytes


def _frame(points: list[tuple[int, float]], extra: int = 0) -> pd.DataFrame:
    rows = [{"number": i, "state": "COMPLETE", "feasible": True, "trained": True,
             "early_stopped": False, "reference": "", "param_bytes": b, "miou": m}
            for i, (b, m) in enumerate(points)]
    rows += [{"number": len(rows) + i, "state": "COMPLETE", "feasible": False, "trained": False,
              "early_stopped": False, "reference": "", "param_bytes": 10**6, "miou": 0.0}
             for i in range(extra)]
    return pd.DataFrame(rows)


def test_shares_of_the_log_bytes_range_where_each_front_wins():
    # B wins below 21,000 B (0.6 against 0.5), A above it (0.9 against 0.6)
    a = _frame([(1_000, 0.5), (21_000, 0.9)])
    b = _frame([(1_000, 0.6)], extra=1)
    r = fd.compare(a, b, n=2, device="MAX78000", tie=0.005, points=2000)
    top = weight_memory_bytes("MAX78000")
    expected = math.log(top / 21_000) / math.log(top / 1_000)
    assert r["a_above"] == pytest.approx(expected, abs=0.002)
    assert r["b_above"] == pytest.approx(1 - expected, abs=0.002)
    assert r["level"] == 0
    assert r["hv_a"] > r["hv_b"]


def test_only_the_first_n_trials_count_and_early_stopped_ones_never():
    a = _frame([(1_000, 0.5), (50_000, 0.95)])
    b = _frame([(1_000, 0.5), (2_000, 0.99)])
    b.loc[1, "early_stopped"] = True  # a partial mIoU is no front point
    first = fd.compare(a, b, n=1, device="MAX78000", tie=0.005)
    assert first["level"] == 1.0  # 1 trial each: the same net
    both = fd.compare(a, b, n=2, device="MAX78000", tie=0.005, points=2000)
    top = weight_memory_bytes("MAX78000")
    assert both["a_above"] == pytest.approx(math.log(top / 50_000) / math.log(top / 1_000),
                                            abs=0.002)
    assert both["b_above"] == 0  # B's 0.99 at 2 kB was stopped early
