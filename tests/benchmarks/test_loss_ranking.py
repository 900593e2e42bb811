"""benchmarks/loss_ranking.py: estimators from a trial's first-rung training against the next
rung's mIoU, on a synthetic two-rung study."""

import json

import optuna
import pytest

from benchmarks.loss_ranking import agreement, promoted_trials


def _spec(width: int) -> str:
    return json.dumps({"name": f"n{width}", "encoder": [{"out": width, "bits": 8}]})


def _study(losses_rank_truth: bool) -> tuple[optuna.Study, optuna.Study]:
    storage = optuna.storages.InMemoryStorage()
    lower = optuna.create_study(study_name="s", storage=storage, directions=["maximize"] * 2)
    upper = optuna.create_study(study_name="s@medium", storage=storage,
                                directions=["maximize"] * 2)
    for i in range(5):
        losses = [2.0 - 0.1 * i, 1.5 - (0.1 * i if losses_rank_truth else -0.1 * i)]
        lower.add_trial(optuna.trial.create_trial(
            values=[0.5 - 0.01 * i, 1000.0 * (i + 1)],  # the proxy ranks them backwards
            user_attrs={"train_losses": losses, "param_bytes": 1000 * (i + 1),
                        "spec": _spec(4 * (i + 1))}))
        if i < 4:  # the last one is not promoted
            upper.add_trial(optuna.trial.create_trial(
                values=[0.6 + 0.01 * i, 1000.0 * (i + 1)], user_attrs={"promotion_of": i}))
    return lower, upper


def test_each_estimator_is_ranked_against_the_upper_rung():
    df = promoted_trials(*_study(losses_rank_truth=True))
    assert list(df["trial"]) == [0, 1, 2, 3]
    assert df["neg_loss_sum"].tolist() == pytest.approx([-3.5, -3.3, -3.1, -2.9])
    table = agreement(df.rename(columns={"upper_miou": "medium_miou"}), "medium_miou")
    tau = dict(zip(table["estimator"], table["kendall_tau"], strict=True))
    assert tau["proxy_miou"] == pytest.approx(-1.0)
    assert tau["neg_loss_sum"] == pytest.approx(1.0)
    assert tau["neg_loss_last"] == pytest.approx(1.0)
    assert set(table["n"]) == {4}


def test_losses_that_do_not_rank_score_below_one():
    df = promoted_trials(*_study(losses_rank_truth=False))
    table = agreement(df.rename(columns={"upper_miou": "medium_miou"}), "medium_miou")
    tau = dict(zip(table["estimator"], table["kendall_tau"], strict=True))
    assert tau["neg_loss_last"] == pytest.approx(-1.0)  # the last loss grows with i here
