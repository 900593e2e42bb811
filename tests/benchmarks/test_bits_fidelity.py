"""``benchmarks/bits_fidelity.py``: penalties per (net, bits, preset), the fit, the import."""

from __future__ import annotations

import pandas as pd
import pytest

from benchmarks import bits_fidelity as bf


def _rows(values: list[tuple[str, int, str, int, float]]) -> pd.DataFrame:
    return pd.DataFrame(values, columns=list(bf.FIELDS))


def test_penalty_is_the_mean_over_seeds_against_the_8_bit_twin():
    pen = bf.penalties(_rows([
        ("a", 8, "full", 0, 0.80), ("a", 8, "full", 1, 0.82),
        ("a", 4, "full", 0, 0.79), ("a", 4, "full", 1, 0.80),
        ("a", 4, "proxy", 0, 0.50),  # no 8-bit proxy row: no proxy penalty
        ("b", 2, "full", 0, 0.10),
    ]))
    assert len(pen) == 1
    r = pen.iloc[0]
    assert (r["name"], r["bits"], r["preset"], r["seeds"]) == ("a", 4, "full", 2)
    assert r["penalty"] == pytest.approx(0.795 - 0.81)


def test_fit_is_least_squares_through_zero_on_the_share():
    pairs = pd.DataFrame({"name": ["a", "b"], "bits": [4, 4], "penalty": [-0.02, -0.04]})
    shares = {("a", 4): 0.5, ("b", 4): 1.0}
    c = bf.fit_penalty(pairs, shares)[4]
    assert c == pytest.approx((0.02 * 0.5 + 0.04 * 1.0) / (0.25 + 1.0))
    assert bf.fit_penalty(pairs, shares)[8] == 0.0


def test_import_maps_w4_names_and_skips_rows_already_there(tmp_path, monkeypatch):
    out = tmp_path / "bits.csv"
    monkeypatch.setattr(bf, "OUT", out)
    fin = tmp_path / "finalists.csv"
    pd.DataFrame({"name": ["ai85unetlarge", "ai85unetlarge-w4"], "preset": ["full", "full"],
                  "seed": [0, 0], "val_miou": [0.85, 0.84]}).to_csv(fin, index=False)
    bf.import_finalists(fin)
    bf.import_finalists(fin)  # a rerun adds nothing
    rows = pd.read_csv(out)
    assert list(rows.columns) == list(bf.FIELDS)
    assert set(zip(rows["name"], rows["bits"], strict=True)) == {
        ("ai85unetlarge", 8), ("ai85unetlarge", 4)}
    assert len(rows) == 2


def test_import_study_takes_the_references_of_every_rung(tmp_path, monkeypatch):
    import optuna

    out = tmp_path / "bits.csv"
    monkeypatch.setattr(bf, "OUT", out)
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = optuna.create_study(study_name="s", storage=url, directions=["maximize", "minimize"])
    study.set_user_attr("config", {"preset": "proxy"})
    medium = optuna.create_study(study_name="s@medium", storage=url,
                                 directions=["maximize", "minimize"])
    medium.set_user_attr("rung", {"search_study": "s", "preset": "medium", "index": 1})
    for s, base in ((study, 0.70), (medium, 0.80)):
        for i, ref in enumerate(("unetmysmall", "unetmysmall-w4", "")):
            s.add_trial(optuna.trial.create_trial(
                values=[base - 0.01 * i, 1000.0],
                user_attrs={"reference": ref, "trained": True}))
    bf.import_study(url, "s")
    bf.import_study(url, "s")  # a second import adds nothing
    rows = pd.read_csv(out).sort_values(["preset", "bits"])
    assert rows[["name", "bits", "preset", "seed"]].values.tolist() == [
        ["unetmysmall", 4, "medium", 0], ["unetmysmall", 8, "medium", 0],
        ["unetmysmall", 4, "proxy", 0], ["unetmysmall", 8, "proxy", 0]]
    assert rows["val_miou"].tolist() == pytest.approx([0.79, 0.80, 0.69, 0.70])
