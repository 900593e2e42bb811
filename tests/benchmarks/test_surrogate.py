"""The proxy-mIoU surrogate of ``benchmarks/surrogate.py`` on a tiny synthetic table."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from nas.spec import ArchSpec, ConvSpec, DecoderLevel, EncoderLevel

pytest.importorskip("sklearn")  # the dev extra installs it; the bench scripts need it too
from benchmarks import surrogate as sg  # noqa: E402


def _spec(depth: int, base: int, kernel: int, n_convs: int) -> ArchSpec:
    widths = [min(base * 2**i, 64) for i in range(depth)]
    return ArchSpec(
        name=f"syn-d{depth}-b{base}-k{kernel}-n{n_convs}", num_classes=4,
        encoder=tuple(EncoderLevel(tuple(ConvSpec(w, kernel) for _ in range(n_convs)))
                      for w in widths),
        decoder=tuple(DecoderLevel(widths[i], (ConvSpec(widths[i], kernel),))
                      for i in reversed(range(depth - 1))),
    )


@pytest.fixture(scope="module")
def table() -> tuple[list[ArchSpec], np.ndarray]:
    """48 distinct specs; "mIoU" grows with log weight bytes and 3x3 kernels, plus noise."""
    specs = [_spec(*p) for p in itertools.product((2, 3, 4), (4, 8, 16, 32), (1, 3), (1, 2))]
    rng = np.random.default_rng(0)
    logw = np.array([np.log10(s.layer_weight_bytes()) for s in specs])
    k3 = np.array([s.encoder[0].convs[0].kernel == 3 for s in specs], float)
    miou = 0.2 + 0.12 * logw + 0.03 * k3 + rng.normal(0, 0.005, len(specs))
    return specs, miou


def test_features_describe_absent_levels_as_zero(table):
    f = sg.features(_spec(2, 8, 3, 2))
    assert f["depth"] == 2 and f["enc1_width"] == 8 and f["enc2_width"] == 16
    assert f["enc3_width"] == 0 and f["enc4_n_convs"] == 0 and f["enc1_k3"] == 2
    frame = sg.feature_frame(table[0])
    assert len(frame) == len(table[0]) and not frame.isna().any().any()


def test_fit_predicts_within_range_and_ranks_the_table(table):
    specs, miou = table
    model = sg.fit(specs, miou)
    pred = model.predict(specs)
    assert pred.shape == miou.shape and ((pred >= 0) & (pred <= 1)).all()
    assert np.corrcoef(pred, miou)[0, 1] > 0.95
    assert model(specs[0]) == pytest.approx(pred[0])


def test_evaluate_is_held_out_and_tells_signal_from_noise(table):
    specs, miou = table
    good = sg.evaluate(specs, miou, folds=4)
    assert good["n"] == len(specs)
    assert good["kendall_tau"] > 0.6 and good["spearman_rho"] > 0.8 and good["mae"] < 0.05
    # the same specs with shuffled labels: nothing to learn, so held-out ranks are ~random
    shuffled = np.random.default_rng(1).permutation(miou)
    noise = sg.evaluate(specs, shuffled, folds=4)
    assert abs(noise["kendall_tau"]) < 0.3 < good["kendall_tau"]


def test_load_trained_keeps_trained_trials_with_a_spec_and_an_miou(tmp_path, table):
    specs, _ = table
    rows = [
        {"trained": True, "spec": specs[0].to_json(), "miou": 0.61},
        {"trained": False, "spec": specs[1].to_json(), "miou": 0.0},  # infeasible
        {"trained": True, "spec": None, "miou": 0.5},  # reference without a spec
        {"trained": True, "spec": specs[2].to_json(), "miou": 0.0},  # failed training
        {"trained": True, "spec": specs[3].to_json(), "miou": 0.72},
    ]
    (tmp_path / "s").mkdir()
    pd.DataFrame(rows).to_csv(tmp_path / "s" / "trials.csv", index=False)
    got, miou = sg.load_trained([tmp_path / "s"])
    assert got == [specs[0], specs[3]] and miou.tolist() == [0.61, 0.72]
