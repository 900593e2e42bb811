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
    assert (r["name"], r["bits"], r["preset"], r["seeds"]) == ("a", "4", "full", 2)
    assert r["penalty"] == pytest.approx(0.795 - 0.81)


def test_fit_is_least_squares_through_zero_on_the_share():
    pairs = pd.DataFrame({"name": ["a", "b"], "bits": [4, "4/8"], "penalty": [-0.02, -0.04]})
    shares = {("a", "4"): 0.5, ("b", "4/8"): 1.0}  # a mixed pair counts for its low width
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
    assert set(zip(rows["name"], rows["bits"].astype(str), strict=True)) == {
        ("ai85unetlarge", "8"), ("ai85unetlarge", "4")}
    assert len(rows) == 2


def _two_rung_study(tmp_path):
    """An empty search study ``s`` (preset proxy) and its medium rung, in one SQLite file."""
    import optuna

    url = f"sqlite:///{tmp_path / 's.db'}"
    study = optuna.create_study(study_name="s", storage=url, directions=["maximize", "minimize"])
    study.set_user_attr("config", {"preset": "proxy"})
    medium = optuna.create_study(study_name="s@medium", storage=url,
                                 directions=["maximize", "minimize"])
    medium.set_user_attr("rung", {"search_study": "s", "preset": "medium", "index": 1})
    return url, study, medium


def test_import_study_takes_the_references_of_every_rung(tmp_path, monkeypatch):
    import optuna

    out = tmp_path / "bits.csv"
    monkeypatch.setattr(bf, "OUT", out)
    url, study, medium = _two_rung_study(tmp_path)
    for s, base in ((study, 0.70), (medium, 0.80)):
        for i, ref in enumerate(("unetmysmall", "unetmysmall-w4", "")):
            s.add_trial(optuna.trial.create_trial(
                values=[base - 0.01 * i, 1000.0],
                user_attrs={"reference": ref, "trained": True}))
    bf.import_study(url, "s")
    bf.import_study(url, "s")  # a second import adds nothing
    rows = pd.read_csv(out, dtype={"bits": str}).sort_values(["preset", "bits"])
    assert rows[["name", "bits", "preset", "seed"]].values.tolist() == [
        ["unetmysmall", "4", "medium", 0], ["unetmysmall", "8", "medium", 0],
        ["unetmysmall", "4", "proxy", 0], ["unetmysmall", "8", "proxy", 0]]
    assert rows["val_miou"].tolist() == pytest.approx([0.79, 0.80, 0.69, 0.70])


def _mixed(spec):
    """``spec`` at 4 inner bits but one inner layer back at 8: a searched 4/8 pattern."""
    from nas.spec import ArchSpec, with_inner_bits

    flipped = []

    def walk(v):
        if isinstance(v, dict):
            out = {k: walk(x) for k, x in v.items()}
            if out.get("bits") == 4 and not flipped:
                flipped.append(1)
                out["bits"] = 8
            return out
        return [walk(x) for x in v] if isinstance(v, list | tuple) else v

    return ArchSpec.from_dict(walk(with_inner_bits(spec, 4).to_dict()))


def test_labels_name_the_widths_and_map_back_to_the_net():
    from nas.spec import get_reference, with_inner_bits

    ref = get_reference("unetmysmall")
    mixed = _mixed(ref)
    assert bf.bits_label(ref) == "8"
    assert bf.bits_label(with_inner_bits(ref, 4)) == "4"
    assert bf.bits_label(mixed) == "4/8"
    assert bf.spec_at(mixed, "own") == mixed and bf.spec_at(mixed, "4/8") == mixed
    assert bf.bits_label(bf.spec_at(mixed, "8")) == "8"
    assert bf.spec_at(mixed, "4") == with_inner_bits(ref, 4)
    assert bf.single_low_width("4/8") and not bf.single_low_width("2/4/8")
    with pytest.raises(ValueError, match="mixed pattern that is not the net's own"):
        bf.spec_at(ref, "2/8")


def test_a_searched_finalist_is_imported_by_its_widths_and_priced(tmp_path, monkeypatch,
                                                                   capsys):
    """A finalize row of a searched net at 4/8 bits and the row of its 8-bit twin make a
    pair labelled 4/8; the spec is kept, so --report prices it by its share of 4-bit weights
    with the table fitted on the other nets."""
    import dataclasses

    from nas.spec import get_reference, with_inner_bits
    from nas.train._pricing import eight_bit_twin, weight_share

    monkeypatch.setattr(bf, "OUT", tmp_path / "bits.csv")
    monkeypatch.setattr(bf, "SPECS", tmp_path / "specs")
    ref = get_reference("ai85unetlarge")
    mixed = dataclasses.replace(_mixed(get_reference("unetmysmall")), name="trial7")
    rows = [("ai85unetlarge", "reference", ref, 0.85), ("ai85unetlarge-w4", "reference",
                                                        with_inner_bits(ref, 4), 0.83),
            ("trial7", "knee", mixed, 0.80)]
    fin = tmp_path / "finalists.csv"
    pd.DataFrame([{"name": n, "role": r, "preset": "full", "seed": 0, "val_miou": v,
                   "spec": s.to_json()} for n, r, s, v in rows]).to_csv(fin, index=False)
    bf.import_finalists(fin)
    bf._append({"name": "trial7", "bits": "8", "preset": "full", "seed": 0,
                "val_miou": 0.81})  # its 8-bit twin, as --bits 8 trains it
    bf.import_finalists(fin)  # a rerun adds nothing
    got = pd.read_csv(bf.OUT, dtype={"bits": str})
    assert sorted(zip(got["name"], got["bits"], strict=True)) == [
        ("ai85unetlarge", "4"), ("ai85unetlarge", "8"), ("trial7", "4/8"), ("trial7", "8")]
    assert (bf.SPECS / "trial7.json").is_file() and not (bf.SPECS / "ai85unetlarge.json").exists()
    assert bf.load_net("trial7", {}) == mixed and eight_bit_twin(mixed) != mixed
    bf.report({})
    out = capsys.readouterr().out
    # trial7 predicted from ai85unetlarge's fit: 0.02 per unit share, times its 4-bit share
    share_ref = weight_share(with_inner_bits(ref, 4))[4]
    share = weight_share(mixed)[4]
    pred = -(0.02 / share_ref) * share
    assert f"trial7 at 4/8 bits: full -0.010 (1 seeds), proxy with the table fitted without it " \
           f"{pred:+.3f}" in out


def test_spec_from_trains_a_finalists_8_bit_twin_once(tmp_path, monkeypatch):
    """--spec-from CSV --nets trial7 --bits 8 own: the twin and the searched widths, each
    trained once (a rerun skips both), from the shared float-phase folder."""
    import argparse
    import dataclasses
    import types

    import nas.train
    from nas.spec import get_reference

    monkeypatch.setattr(bf, "OUT", tmp_path / "bits.csv")
    monkeypatch.setattr(bf, "SPECS", tmp_path / "specs")
    monkeypatch.setattr(bf, "RUNS", tmp_path / "runs")
    mixed = dataclasses.replace(_mixed(get_reference("unetmysmall")), name="trial7")
    fin = tmp_path / "finalists.csv"
    pd.DataFrame([{"name": "trial7", "role": "knee", "preset": "full", "seed": 0,
                   "val_miou": 0.8, "spec": mixed.to_json()}]).to_csv(fin, index=False)
    calls = []

    def fake_train(spec, task, preset, data_dir, **kw):
        calls.append((bf.bits_label(spec), preset.name, kw["seed"], kw["float_phase_dir"]))
        return types.SimpleNamespace(miou=0.5 + 0.1 * (bf.bits_label(spec) == "8"))

    monkeypatch.setattr(nas.train, "train", fake_train)
    args = argparse.Namespace(spec=[], spec_from=fin, nets=["trial7"], bits=["8", "own"],
                              presets=["full"], seeds=[0], threads=1, data_dir=None,
                              float_phase_dir=tmp_path / "float")
    bf.train_rows(args)
    bf.train_rows(args)  # everything done: no training
    assert calls == [("8", "full", 0, tmp_path / "float"), ("4/8", "full", 0, tmp_path / "float")]
    got = pd.read_csv(bf.OUT, dtype={"bits": str})
    assert list(zip(got["bits"], got["val_miou"], strict=True)) == [("8", 0.6), ("4/8", 0.5)]


def test_import_study_takes_a_kept_searched_net_and_its_priced_twin(tmp_path, monkeypatch):
    """A searched finalist (its spec kept by --import-finalists) gets its search rows at each
    rung: the priced value at its widths and, from measured_miou, its 8-bit twin's; a searched
    net without a kept spec is left out."""
    import dataclasses

    import optuna

    from nas.spec import get_reference

    monkeypatch.setattr(bf, "OUT", tmp_path / "bits.csv")
    monkeypatch.setattr(bf, "SPECS", tmp_path / "specs")
    mixed = _mixed(get_reference("unetmysmall"))
    bf.keep_spec("trial1", mixed)
    url, study, medium = _two_rung_study(tmp_path)
    other = dataclasses.replace(mixed, name="other")
    for spec, value in ((other, 0.60), (mixed, 0.70)):  # trial 0 (not kept), trial 1
        study.add_trial(optuna.trial.create_trial(
            values=[value, 1000.0], user_attrs={"reference": "", "trained": True,
                                                "spec": spec.to_json(),
                                                "measured_miou": value + 0.007}))
    medium.add_trial(optuna.trial.create_trial(
        values=[0.80, 1000.0], user_attrs={"reference": "", "trained": True, "origin_trial": 1,
                                           "spec": mixed.to_json(), "measured_miou": 0.807}))
    bf.import_study(url, "s")
    bf.import_study(url, "s")  # a second import adds nothing
    rows = pd.read_csv(bf.OUT, dtype={"bits": str}).sort_values(["preset", "bits"])
    assert rows[["name", "bits", "preset"]].values.tolist() == [
        ["trial1", "4/8", "medium"], ["trial1", "8", "medium"],
        ["trial1", "4/8", "proxy"], ["trial1", "8", "proxy"]]
    assert rows["val_miou"].tolist() == pytest.approx([0.80, 0.807, 0.70, 0.707])


def test_widths_the_search_never_samples_are_shown_but_left_out_of_the_goal(
        tmp_path, monkeypatch, capsys):
    """A 2-bit pair (2 bits are not in the default --weight-bits) is printed with its full
    penalty but not scored: the goal counts only the two 4-bit pairs, not the two 2-bit ones."""
    monkeypatch.setattr(bf, "OUT", tmp_path / "bits.csv")
    for name, bits, v in [("ai85unetlarge", "8", 0.85), ("ai85unetlarge", "4", 0.84),
                          ("unetmysmall", "8", 0.84), ("unetmysmall", "4", 0.83),
                          ("unetmysmall", "2", 0.53), ("ai85unetlarge", "2", 0.83)]:
        bf._append({"name": name, "bits": bits, "preset": "full", "seed": 0, "val_miou": v})
    bf.report({}, searched=(8, 4))
    out = capsys.readouterr().out
    assert "unetmysmall at 2 bits: full -0.310 (1 seeds); not in the default" in out
    assert "vs full over 2 pairs" in out
    bf.report({}, searched=(8, 4, 2))  # were 2 bits searched, the pair would count
    assert "vs full over 4 pairs" in capsys.readouterr().out


def test_a_penalty_pairs_only_the_seeds_trained_at_both_widths():
    """Seed 1 at 4 bits has no 8-bit twin yet: the penalty is seed 0's alone, not the mean of
    two 4-bit seeds against one 8-bit seed."""
    pen = bf.penalties(_rows([("a", 8, "full", 0, 0.80), ("a", 4, "full", 0, 0.79),
                              ("a", 4, "full", 1, 0.70)]))
    r = pen.iloc[0]
    assert r["penalty"] == pytest.approx(-0.01) and r["seeds"] == 1
