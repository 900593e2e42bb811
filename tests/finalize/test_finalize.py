"""finalize on a fake study: selection, CSV, resume after a crash, export's lookup, errors."""

from __future__ import annotations

import pandas as pd
import pytest

from nas.__main__ import main
from nas.finalize import KEY_COLUMNS, FinalizeConfig, finalize, pick_knees
from nas.search import DEFAULT_REFERENCES
from tests.finalize import fakes


def _cfg(study_cfg, tmp_path, **kw) -> FinalizeConfig:
    base = dict(study_name=study_cfg.study_name, k=2, seeds=2, preset="smoke",
                studies_dir=study_cfg.studies_dir, data_dir=tmp_path / "data",
                trainer=fakes.TRAINER, tester=fakes.TESTER)
    base.update(kw)
    return FinalizeConfig(**base)


def _argv(study_cfg, tmp_path, *extra: str) -> list[str]:
    return ["finalize", "--study", study_cfg.study_name, "--studies-dir",
            str(study_cfg.studies_dir), "--data-dir", str(tmp_path / "data"), "--preset",
            "smoke", "--trainer", fakes.TRAINER, "--tester", fakes.TESTER, *extra]


def test_csv_has_every_model_and_seed(fake_study, tmp_path):
    result = finalize(_cfg(fake_study, tmp_path))
    df = pd.read_csv(fake_study.study_dir / "finalists.csv")
    assert list(df.columns[:len(KEY_COLUMNS)]) == KEY_COLUMNS
    knees = df[df["role"] == "knee"]["name"].unique()
    assert len(knees) == 2 and all(n.startswith("trial") for n in knees)
    assert set(df[df["role"] == "reference"]["name"]) == set(DEFAULT_REFERENCES)  # -w4 too
    assert len(df) == (2 + len(DEFAULT_REFERENCES)) * 2
    assert sorted(df["seed"].unique()) == [0, 1]
    # one test score per (model, seed), from that seed's own checkpoint
    assert not df.duplicated(["name", "seed"]).any()
    assert (df["test_miou"] - df["val_miou"]).round(6).eq(-0.02).all()
    s1 = df[(df["name"] == knees[0]) & (df["seed"] == 1)]["val_miou"].iloc[0]
    s0 = df[(df["name"] == knees[0]) & (df["seed"] == 0)]["val_miou"].iloc[0]
    assert s1 == pytest.approx(s0 + 0.01)
    for rel in df["checkpoint"]:
        assert (fake_study.study_dir / rel).is_file()
    md = (fake_study.study_dir / "finalists.md").read_text()
    assert "± 0.007" in md and "ai85unetlarge-w4" in md  # std of (x, x + 0.01), ddof 1
    assert result.paths["plot"].is_file()
    assert len(result.trained) == len(df) and not result.skipped


def test_torch_device_auto_is_resolved_before_training_and_testing(fake_study, tmp_path,
                                                                   monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    fakes.TEST_DEVICES.clear()
    finalize(_cfg(fake_study, tmp_path, k=0, seeds=1, torch_device="auto"))
    assert fakes.TEST_DEVICES and set(fakes.TEST_DEVICES) == {"cpu"}
    with pytest.raises(ValueError, match="--torch-device must be one of"):
        _cfg(fake_study, tmp_path, torch_device="gpu")


def test_k_0_trains_the_references_alone(fake_study, tmp_path):
    finalize(_cfg(fake_study, tmp_path, k=0, seeds=1))
    df = pd.read_csv(fake_study.study_dir / "finalists.csv")
    assert set(df["role"]) == {"reference"}
    assert set(df["name"]) == set(DEFAULT_REFERENCES)


def test_only_splits_the_work_between_two_runs(fake_study, tmp_path):
    finalize(_cfg(fake_study, tmp_path, k=0, seeds=2, only=("unetmysmall",)))
    df = pd.read_csv(fake_study.study_dir / "finalists.csv")
    assert sorted(zip(df["name"], df["seed"], strict=True)) == [
        ("unetmysmall", 0), ("unetmysmall", 1)]
    rest = tuple(n for n in DEFAULT_REFERENCES if n != "unetmysmall")
    result = finalize(_cfg(fake_study, tmp_path, k=0, seeds=2, only=rest))
    df = pd.read_csv(fake_study.study_dir / "finalists.csv")
    assert len(df) == 2 * len(DEFAULT_REFERENCES) and not df.duplicated(["name", "seed"]).any()
    assert len(result.trained) == 2 * len(rest)


def test_knees_come_from_the_front_of_searched_trials(fake_study, tmp_path):
    from nas.finalize import plan
    from nas.report import trials_frame
    from nas.search import pareto_frame
    from nas.studyio import load_study

    finalists = plan(_cfg(fake_study, tmp_path, k=3))[0]
    study = load_study("s", studies_dir=fake_study.studies_dir)
    df = trials_frame(study.get_trials())
    front = set(pareto_frame(df[df["reference"] == ""])["number"])
    knees = [f for f in finalists if f.role == "knee"]
    assert knees and {f.trial for f in knees} <= front


def test_rerun_skips_done_rows_and_a_crash_loses_only_the_running_one(
        fake_study, tmp_path, monkeypatch):
    cfg = _cfg(fake_study, tmp_path, seeds=1)
    n_models = 2 + len(DEFAULT_REFERENCES)
    monkeypatch.setenv("MAXNAS_FAKE_CRASH_AT", "4")
    with pytest.raises(RuntimeError, match="fake crash"):
        finalize(cfg)
    done = pd.read_csv(cfg.csv)
    assert len(done) == 3  # the three before the crash are kept
    monkeypatch.delenv("MAXNAS_FAKE_CRASH_AT")
    fakes.CALLS.clear()
    result = finalize(cfg)
    assert len(fakes.CALLS) == n_models - 3  # only the missing ones
    assert len(result.skipped) == 3
    assert len(pd.read_csv(cfg.csv)) == n_models
    fakes.CALLS.clear()
    again = finalize(cfg)
    assert fakes.CALLS == [] and len(again.skipped) == n_models
    # more seeds later: only the new seed is trained
    finalize(cfg.replace(seeds=2))
    assert sorted({s for _, s in fakes.CALLS}) == [1] and len(fakes.CALLS) == n_models


@pytest.mark.slow  # two spawned workers import torch: ~30 s on a busy 2-core machine
def test_parallel_jobs_write_every_row(fake_study, tmp_path):
    cfg = _cfg(fake_study, tmp_path, k=1, seeds=1, jobs=2, threads=1)
    finalize(cfg)
    df = pd.read_csv(cfg.csv)
    assert len(df) == 1 + len(DEFAULT_REFERENCES)
    assert not df.duplicated(["name", "seed"]).any()


def test_export_prefers_the_finalize_checkpoint(fake_study, tmp_path):
    from nas.export._trial import load_trial

    finalize(_cfg(fake_study, tmp_path, k=1))
    df = pd.read_csv(fake_study.study_dir / "finalists.csv")
    knee = df[df["role"] == "knee"].sort_values("val_miou").iloc[-1]
    src = load_trial("s", int(knee["trial"]), studies_dir=fake_study.studies_dir)
    assert src.checkpoint == fake_study.study_dir / knee["checkpoint"]
    assert src.checkpoint.name.endswith("seed1.pt")  # the better val mIoU of two seeds
    assert src.checkpoint_source.startswith("finalize")
    proxy = load_trial("s", int(knee["trial"]), studies_dir=fake_study.studies_dir,
                       prefer_finalist=False)
    assert proxy.checkpoint_source == "search" and "artifacts" in str(proxy.checkpoint)


def test_cli_runs_and_reruns(fake_study, tmp_path, capsys):
    argv = _argv(fake_study, tmp_path, "--k", "1")
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "5 trained, 0 done already" in out and "finalists.md" in out
    assert main(argv) == 0
    assert "0 trained, 5 done already" in capsys.readouterr().out
    assert main([*argv, "--dry-run"]) == 0
    assert "0 trainings to run, 5 done already" in capsys.readouterr().out


def test_sigterm_stops_cleanly_and_keeps_finished_rows(fake_study, tmp_path, capsys,
                                                      monkeypatch):
    import signal

    before = signal.getsignal(signal.SIGTERM)
    monkeypatch.setenv("MAXNAS_FAKE_SIGTERM_AT", "2")
    assert main(_argv(fake_study, tmp_path, "--k", "1")) == 143
    assert "rerun the same command to resume" in capsys.readouterr().err
    assert len(pd.read_csv(fake_study.study_dir / "finalists.csv")) == 1
    assert signal.getsignal(signal.SIGTERM) is before  # the handler was restored


@pytest.mark.parametrize(("extra", "message"), [
    (["--k", "-1"], "--k must be >= 0 (0: the references only), but got --k -1"),
    (["--seeds", "0"], "--seeds must be >= 1"),
    (["--preset", "nope"], "unknown preset 'nope'; available:"),
    (["--trial", "999"], "the study has no trial 999"),
    (["--only", "unetmysmall,nope"], "--only nope: not a finalist of"),
])
def test_bad_input_is_one_clean_error(fake_study, tmp_path, capsys, extra, message):
    assert main(_argv(fake_study, tmp_path, *extra)) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_trial_without_checkpoint_is_refused(fake_study, tmp_path, capsys):
    from nas.studyio import load_study

    study = load_study("s", studies_dir=fake_study.studies_dir)
    untrained = [t.number for t in study.get_trials() if t.user_attrs.get("trained") is False]
    assert main(_argv(fake_study, tmp_path, "--trial", str(untrained[0]))) == 2
    assert "has no checkpoint (it was never trained" in capsys.readouterr().err


def test_no_complete_trials_and_unknown_study(fake_backend, tmp_path, capsys):
    import optuna

    studies = tmp_path / "studies"
    studies.mkdir()
    optuna.create_study(study_name="empty", storage=f"sqlite:///{studies}/empty.db",
                        directions=["maximize", "minimize"])
    base = ["finalize", "--studies-dir", str(studies), "--preset", "smoke",
            "--trainer", fakes.TRAINER, "--tester", fakes.TESTER]
    assert main([*base, "--study", "empty"]) == 2
    assert "no complete trials" in capsys.readouterr().err
    assert main([*base, "--study", "nope"]) == 2
    assert "no study database" in capsys.readouterr().err


def test_another_preset_in_the_csv_is_refused(fake_study, tmp_path):
    finalize(_cfg(fake_study, tmp_path, k=1, seeds=1))
    with pytest.raises(ValueError, match="holds rows trained with preset 'smoke'"):
        finalize(_cfg(fake_study, tmp_path, k=1, seeds=1, preset="proxy"))


def test_pick_knees_tops_up_a_small_front():
    front = pd.DataFrame({"number": [1, 2, 3, 4], "miou": [0.3, 0.5, 0.55, 0.6],
                          "param_bytes": [1_000, 2_000, 50_000, 100_000]})
    two = pick_knees(front, 2)
    assert len(two) == 2 and 2 in set(two["number"])  # the clear knee
    assert len(pick_knees(front, 10)) == 4  # never more than the front
    assert set(pick_knees(front.iloc[:2], 3)["number"]) == {1, 2}
    with pytest.raises(ValueError, match="k must be >= 1"):
        pick_knees(front, 0)


def test_rows_from_another_study_are_taken_over_not_trained_again(fake_study, tmp_path,
                                                                  capsys):
    import shutil

    # the references trained ahead, in a study of their own that holds the same nets
    other = fake_study.studies_dir / "refs"
    finalize(_cfg(fake_study, tmp_path, k=0, seeds=1))
    shutil.move(str(fake_study.study_dir), str(other))
    fakes.CALLS.clear()
    # --dry-run counts what it would take over, and copies nothing
    n_refs = len(DEFAULT_REFERENCES)
    assert main(_argv(fake_study, tmp_path, "--k", "1", "--seeds", "2", "--rows-from", "refs",
                      "--dry-run")) == 0
    out = capsys.readouterr().out
    assert f"{n_refs + 2} trainings to run, 0 done already, {n_refs} taken over" in out
    assert f"{DEFAULT_REFERENCES[0]} seed 0: taken over from study refs" in out
    assert not (fake_study.study_dir / "finalists.csv").exists() and not fakes.CALLS
    result = finalize(_cfg(fake_study, tmp_path, k=1, seeds=2, rows_from=("refs",)))
    trained = {name for name, _ in fakes.CALLS}
    refs = set(DEFAULT_REFERENCES)
    # seed 0 of every reference came from "refs"; seed 1 and the knee were trained here
    assert (set(fakes.CALLS) & {(r, 0) for r in refs}) == set()
    assert {(r, 1) for r in refs} <= set(fakes.CALLS) and trained - refs
    df = pd.read_csv(fake_study.study_dir / "finalists.csv")
    assert len(df) == (1 + len(refs)) * 2 and len(result.trained) == len(refs) + 2
    for rel in df["checkpoint"]:
        assert (fake_study.study_dir / rel).is_file()  # copied, not pointing elsewhere
    with pytest.raises(ValueError, match="names the study itself"):
        _cfg(fake_study, tmp_path, rows_from=(fake_study.study_name,))


def test_best_within_adds_the_best_front_net_within_each_budget(fake_study, tmp_path, capsys):
    from nas.finalize import plan
    from nas.report import trials_frame
    from nas.search import pareto_frame
    from nas.studyio import load_study

    study = load_study("s", studies_dir=fake_study.studies_dir)
    df = trials_frame(study.get_trials())
    front = pareto_frame(df[df["reference"] == ""]).merge(df[["number", "weight_bytes"]],
                                                          on="number")
    assert len(front) >= 2, front
    small, large = front.iloc[0], front.iloc[-1]  # by bytes: the lowest and highest mIoU
    fits = (int(small["weight_bytes"]), int(large["weight_bytes"]))
    finalists = plan(_cfg(fake_study, tmp_path, k=0, best_within=fits))[0]
    assert [f.trial for f in finalists if f.role == "budget"] == [int(small["number"]),
                                                                  int(large["number"])]
    # one byte less and the largest front net is out: the best below it (here the smallest,
    # already a finalist) is taken, and listed once
    budgets = (fits[0], fits[1] - 1)
    finalists = plan(_cfg(fake_study, tmp_path, k=0, best_within=budgets))[0]
    below = front[front["weight_bytes"] <= budgets[1]].sort_values("miou")
    assert [f.trial for f in finalists if f.role == "budget"] == sorted(
        {int(small["number"]), int(below.iloc[-1]["number"])})
    # with knees: a budget net that is a knee already is not listed twice
    both = plan(_cfg(fake_study, tmp_path, k=3, best_within=budgets))[0]
    assert len({f.trial for f in both}) == len(both)
    with pytest.raises(ValueError, match="no front net has at most 10 weight bytes"):
        plan(_cfg(fake_study, tmp_path, k=0, best_within=(10,)))
    assert main(_argv(fake_study, tmp_path, "--k", "0", "--dry-run", "--best-within",
                      f"{budgets[0]}")) == 0
    assert f"trial {int(small['number']):4d}" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(_argv(fake_study, tmp_path, "--best-within", "27k"))
    assert "--best-within takes weight bytes" in capsys.readouterr().err


def test_no_searched_trial_at_the_top_rung_names_the_rung():
    """Knees come from the highest rung any trial reached; a study whose promoted searched
    trials have not finished there yet says so, not just 'no feasible trial'."""
    from nas.finalize import select_finalists
    from nas.spec import get_reference

    spec = get_reference("unetmysmall").to_json()
    rows = [{"number": 0, "state": "COMPLETE", "reference": "unetmysmall", "feasible": False,
             "trained": True, "miou": 0.7, "miou@proxy": 0.7, "miou@medium": 0.8,
             "param_bytes": 110_904, "weight_bytes": 110_016, "spec": spec},
            {"number": 1, "state": "COMPLETE", "reference": "", "feasible": True,
             "trained": True, "miou": 0.6, "miou@proxy": 0.6, "miou@medium": None,
             "param_bytes": 20_000, "weight_bytes": 19_000, "spec": spec}]
    with pytest.raises(ValueError, match="no feasible trained searched trial at rung medium"):
        select_finalists(pd.DataFrame(rows), k=2)
    assert [f.name for f in select_finalists(pd.DataFrame(rows), k=0)] == ["unetmysmall"]


def test_a_budget_no_promoted_net_fits_is_read_on_the_rung_below():
    """Promotion takes the best of the lower rung, so the small nets of a budget may never
    reach the top rung: such a budget takes the best net within it on the highest rung whose
    front has one, and says which rung scored it."""
    import dataclasses

    from nas.finalize import select_finalists
    from nas.finalize._outputs import markdown, summary_frame
    from nas.spec import get_reference

    ref = get_reference("unetmysmall")

    def row(n: int, proxy: float, medium: float | None, wbytes: int) -> dict:
        spec = dataclasses.replace(ref, name=f"net{n}").to_json()  # one architecture each
        return {"number": n, "state": "COMPLETE", "reference": "", "feasible": True,
                "trained": True, "miou": proxy, "miou@proxy": proxy, "miou@medium": medium,
                "param_bytes": wbytes + 500, "weight_bytes": wbytes, "spec": spec}

    rows = pd.DataFrame([row(0, 0.70, 0.80, 50_000), row(1, 0.75, 0.82, 90_000),
                         row(2, 0.60, None, 20_000), row(3, 0.55, None, 15_000),
                         row(4, 0.50, None, 30_000)])  # 4: dominated at proxy by 2
    picked = select_finalists(rows, k=0, budgets=(25_000, 60_000))
    # (listed by weight count, then trial: here one architecture size, so by trial)
    assert [(f.trial, f.role, f.rung) for f in picked] == [(0, "budget", "medium"),
                                                           (2, "budget", "proxy")]
    assert picked[0].search_miou == 0.80 and picked[1].search_miou == 0.60
    with pytest.raises(ValueError, match="no front net has at most 10,000 weight bytes "
                                         r"\(the smallest has 15,000\)"):
        select_finalists(rows, k=0, budgets=(10_000,))
    # knees stay on the top rung only
    assert {f.rung for f in select_finalists(rows, k=2)} == {"medium"}
    # finalists.md names each search mIoU's rung once the rungs differ
    fin = pd.DataFrame([{"name": f"trial{f.trial}", "role": f.role, "trial": f.trial,
                         "seed": 0, "val_miou": 0.8, "test_miou": 0.7,
                         "weight_bytes": 1000, "bias_bytes": 10, "latency_cycles": 1,
                         "fits": True, "search_miou": f.search_miou, "search_rung": f.rung}
                        for f in picked])
    md = markdown(summary_frame(fin))
    assert "| 0.600 (proxy) |" in md and "| 0.800 (medium) |" in md
    assert "(medium)" not in markdown(summary_frame(fin[fin["search_rung"] == "medium"]))


def test_chosen_trials_are_taken_when_every_trial_was_trained():
    """--trial on a frame whose ``trained`` column has no gaps (numpy booleans, as a study
    frame of trained trials gives it) picks the trial instead of calling it untrained."""
    from nas.finalize import select_finalists
    from nas.spec import get_reference

    spec = get_reference("unetmysmall").to_json()
    rows = pd.DataFrame([{"number": n, "state": "COMPLETE", "reference": "", "feasible": True,
                          "trained": True, "miou": 0.6 + n / 100, "param_bytes": 20_000 + n,
                          "weight_bytes": 19_000 + n, "spec": spec} for n in range(3)])
    assert rows["trained"].dtype == bool
    assert [(f.trial, f.role) for f in select_finalists(rows, k=0, trials=[1])] == [
        (1, "chosen")]
    # one trial promoted to medium: a chosen one that was not is read at the proxy
    rows["miou@proxy"] = rows["miou"]
    rows["miou@medium"] = [None, None, 0.8]
    chosen = select_finalists(rows, k=0, trials=[1, 2])
    assert [(f.rung, f.search_miou) for f in chosen] == [("proxy", 0.61), ("medium", 0.8)]
    rows.loc[0, "trained"] = False
    with pytest.raises(ValueError, match="--trial 0: the trial has no checkpoint"):
        select_finalists(rows, k=0, trials=[0])
