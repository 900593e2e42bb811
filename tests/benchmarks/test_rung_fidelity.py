"""benchmarks/rung_fidelity.py: a candidate rung trained with several seeds is ranked per seed."""

import pandas as pd

from benchmarks.rung_fidelity import _per_seed


def test_each_seed_gets_its_own_tau():
    table = pd.DataFrame({"name": ["a", "b", "c"], "full": [0.5, 0.6, 0.7]})
    rows = pd.DataFrame({"name": ["a", "b", "c"] * 2, "preset": "cand",
                         "seed": [0, 0, 0, 1, 1, 1],
                         "val_miou": [0.1, 0.2, 0.3,  # seed 0 ranks as full does
                                      0.3, 0.2, 0.1]})  # seed 1 in reverse
    text = _per_seed(rows, "cand", table)
    assert "seed 0: 1.000 over 3" in text and "seed 1: -1.000 over 3" in text


def test_one_seed_adds_nothing():
    rows = pd.DataFrame({"name": ["a", "b"], "preset": "cand", "seed": 0,
                         "val_miou": [0.1, 0.2]})
    assert _per_seed(rows, "cand", pd.DataFrame({"name": ["a", "b"], "full": [0.1, 0.2]})) == ""
