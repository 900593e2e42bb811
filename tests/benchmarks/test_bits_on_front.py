"""benchmarks/bits_on_front.py: low-bit nets on a front, from a trials table."""

import pandas as pd

from benchmarks.bits_on_front import low_bit, summarise


def test_low_bit_reads_the_arch_line():
    assert low_bit("depth 4, fold 4, separable 0, bits 4/8")
    assert low_bit("depth 3, bits 2/4/8, skips 1")
    assert not low_bit("depth 4, fold 4, separable 13, bits 8")
    assert not low_bit(None) and not low_bit("depth 4")


def _trial(n, miou, nbytes, bits, ref=""):
    return {"number": n, "state": "COMPLETE", "reference": ref, "feasible": True,
            "trained": True, "early_stopped": False, "miou": miou, "param_bytes": nbytes,
            "latency_ms": 1.0, "arch": f"depth 3, bits {bits}", "checkpoint_artifact_id": ""}


def test_summarise_counts_the_searched_low_bit_front_nets_within_the_first_n():
    trials = pd.DataFrame([
        _trial(0, 0.80, 280_000, "8", "ai85unetlarge"),
        _trial(1, 0.79, 140_000, "4/8", "ai85unetlarge-w4"),  # a reference: not counted
        _trial(2, 0.72, 30_000, "4/8"),
        _trial(3, 0.76, 60_000, "8"),
        _trial(4, 0.50, 90_000, "4/8"),  # dominated
        _trial(5, 0.77, 20_000, "4/8"),  # beyond the first 5
    ])
    s = summarise(trials, "s", 5)
    assert (s["trials"], s["front"], s["front_searched"]) == (5, 4, 2)
    assert s["front_searched_low_bit"] == 1
    assert (s["bytes_to_0.7"], s["bytes_to_0.75"]) == (30_000, 60_000)
    later = summarise(trials, "s", 6)
    assert later["front_searched_low_bit"] == 1 and later["bytes_to_0.75"] == 20_000
    assert later["log_hv_0.6"] > s["log_hv_0.6"]
