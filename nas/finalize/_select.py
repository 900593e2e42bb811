"""Which models a study's finalize trains: K knees of its front and the study's references."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from nas.front import knee_points, pareto_frame
from nas.report import rung_names
from nas.spec import ArchSpec
from nas.studyio import miou_key


@dataclass(frozen=True)
class Finalist:
    """One model to retrain.

    Attributes:
        name: ``trial<N>`` for a searched net, the reference's name for a reference.
        role: ``knee``, ``chosen`` (named with ``--trial``), ``budget`` (the best front net
            within a ``--best-within`` byte budget) or ``reference``.
        trial: its trial number in the study (references are trials too).
        search_miou: the mIoU the search scored it with, at ``rung``.
        spec: the architecture, as the trial stored it.
        rung: the preset of the rung whose front it was picked from (``""`` in a study
            without rungs): the highest rung, except for a budget that no net promoted there
            fits in (see :func:`select_finalists`).
    """

    name: str
    role: str
    trial: int
    search_miou: float
    spec: ArchSpec
    rung: str = ""


def rung_columns(df: pd.DataFrame) -> list[str]:
    """The columns of each rung's mIoU (``miou@<preset>``, from ``--rungs``), lowest rung
    first; ``["miou"]`` (the search's objective) in a study without rungs."""
    rungs = [miou_key(r) for r in rung_names(df) if df[miou_key(r)].notna().any()]
    return rungs if len(rungs) >= 2 else ["miou"]


def search_miou_column(df: pd.DataFrame) -> str:
    """The column holding each trial's best-fidelity mIoU: the highest rung any trial reached
    (``miou@<preset>``, from ``--rungs``), else ``miou`` (the search's objective).

    The front and the knees are read at that rung only, among the trials promoted to it: a
    medium mIoU is never ranked against a proxy one.
    """
    return rung_columns(df)[-1]


def _rung_name(col: str) -> str:
    return col.split("@", 1)[1] if "@" in col else ""


def _front_at(complete: pd.DataFrame, df: pd.DataFrame, col: str) -> pd.DataFrame:
    """The front of the searched (non-reference) trials scored at rung ``col``, with their
    weight bytes; empty when no searched trial has a value there."""
    refs = complete["reference"].fillna("").astype(str)
    searched = complete[(refs == "") & complete[col].notna()]
    front = pareto_frame(searched.assign(miou=searched[col]))
    if front.empty:
        return front
    return front.merge(df[["number", "weight_bytes"]], on="number")


def pick_knees(front: pd.DataFrame, k: int) -> pd.DataFrame:
    """``k`` points of a front: its knees (:func:`nas.front.knee_points`), topped up.

    ``knee_points`` returns fewer than ``k`` points when a byte bin holds no interior point
    (and none on a front of fewer than 3). The rest is filled with the remaining front points
    by knee score (height above the chord; by mIoU on a front of 1-2), so a small front still
    gives ``min(k, len(front))`` finalists.

    Raises:
        ValueError: if ``k`` < 1.
    """
    if k < 1:
        raise ValueError(f"--k must be >= 1, but got k={k}")
    knees = knee_points(front, k)
    if len(knees) >= k or len(knees) == len(front):
        return knees.drop(columns="knee_score", errors="ignore").reset_index(drop=True)
    f = front.sort_values("param_bytes").reset_index(drop=True)
    if len(f) >= 3:  # the knee score of every point: height above the chord (0 at the ends)
        x = np.log10(f["param_bytes"].to_numpy(float))
        y = f["miou"].to_numpy(float)
        score = ((y - y[0]) / max(y[-1] - y[0], 1e-12)
                 - (x - x[0]) / max(x[-1] - x[0], 1e-12))
    else:
        score = f["miou"].to_numpy(float)
    rest = f.assign(_score=score)[~f["number"].isin(knees["number"])]
    rest = rest.sort_values("_score", ascending=False).drop(columns="_score")
    picked = pd.concat([knees.drop(columns="knee_score", errors="ignore"),
                        rest.head(k - len(knees))])
    return picked.reset_index(drop=True)


def best_within(front: pd.DataFrame, budget: int) -> int | None:
    """The trial number of the front net with the highest mIoU whose weight bytes are at most
    ``budget`` (ties: fewer bytes), or None when every front net is larger."""
    ok = front[front["weight_bytes"].astype(float) <= budget]
    if ok.empty:
        return None
    return int(ok.sort_values(["miou", "weight_bytes"], ascending=[False, True])
               .iloc[0]["number"])


def select_finalists(df: pd.DataFrame, k: int, trials: Sequence[int] | None = None,
                     budgets: Sequence[int] = ()) -> list[Finalist]:
    """The finalists of a trials frame (:func:`nas.report.trials_frame`).

    Args:
        df: every trial of the study.
        k: knees to take from the front of the feasible, complete, non-reference trials
            (0: the references alone).
        trials: train these trial numbers instead of knees (``--trial``).
        budgets: weight-byte budgets; for each, the front net with the highest mIoU within it
            is added (``--best-within``), unless already a finalist. It is read on the highest
            rung's front; when no net promoted to that rung fits the budget (promotion takes
            the best of the lower rung, so small nets may never reach it), on the highest
            rung below whose front has one, and its ``rung`` says which.

    Returns:
        The knees (or chosen trials) and budget nets by bytes, then every reference the study
        trained (the 4-bit ``-w4`` ones included), by name.

    Raises:
        ValueError: ``k`` < 1, no complete trials, no feasible trained trial to pick knees
            from, a chosen trial that is unknown, not complete or was never trained, or a
            budget no front net fits in.
    """
    if k < 0:
        raise ValueError(f"--k must be >= 0 (0: the references only), but got k={k}")
    complete = df[df["state"] == "COMPLETE"] if len(df) else df
    if complete.empty:
        raise ValueError("the study has no complete trials; run the search first")
    col = search_miou_column(df)
    refs = complete["reference"].fillna("").astype(str)
    out: list[Finalist] = []
    rung_cols = rung_columns(df)
    for n in trials or ():
        row = df[df["number"] == n]
        if row.empty:
            raise ValueError(f"--trial {n}: the study has no trial {n}")
        r = row.iloc[0]
        if r["state"] != "COMPLETE":
            raise ValueError(f"--trial {n}: the trial is {r['state']}, not COMPLETE")
        # == True, not `is True`: a column without gaps holds numpy booleans
        if not r.get("trained") == True or not r.get("spec"):  # noqa: E712
            why = "; ".join(filter(None, [str(r.get("violations") or "")])) or "not trained"
            raise ValueError(f"--trial {n}: the trial has no checkpoint (it was never "
                             f"trained: {why}); pick a trained trial")
        # a chosen trial may not have been promoted: its value at the highest rung it reached
        reached = [c for c in rung_cols if pd.notna(r.get(c))]
        out.append(_finalist(r, "chosen", reached[-1] if reached else col))
    if k > 0 and not trials:
        front = _front_at(complete, df, col)
        if front.empty:
            at = f" at rung {_rung_name(col)}" if "@" in col else ""
            raise ValueError(f"the study has no feasible trained searched trial{at} to pick "
                             f"knees from ({len(complete)} complete trials)")
        for number in pick_knees(front, k)["number"]:
            out.append(_finalist(df[df["number"] == number].iloc[0], "knee", col))
    fronts = {c: _front_at(complete, df, c) for c in rung_cols} if budgets else {}
    for budget in budgets:
        picked = None
        for c in reversed(list(fronts)):  # the highest rung with a front net within budget
            number = best_within(fronts[c], budget) if len(fronts[c]) else None
            if number is not None:
                picked = (number, c)
                break
        if picked is None:
            sizes = [int(f["weight_bytes"].min()) for f in fronts.values() if len(f)]
            if not sizes:
                raise ValueError(f"--best-within {budget:,}: the study has no feasible trained "
                                 f"searched trial ({len(complete)} complete trials)")
            raise ValueError(f"--best-within {budget:,}: no front net has at most "
                             f"{budget:,} weight bytes (the smallest has {min(sizes):,})")
        number, c = picked
        if number not in {f.trial for f in out}:
            out.append(_finalist(df[df["number"] == number].iloc[0], "budget", c))
    out.sort(key=lambda f: (f.spec.weight_count(), f.trial))
    names = {f.name for f in out}
    trained_refs = complete[(refs != "") & (complete["trained"] == True)]  # noqa: E712
    for _, r in trained_refs.sort_values("number").iterrows():
        if r["reference"] not in names and r.get("spec"):
            names.add(r["reference"])
            out.append(_finalist(r, "reference", col))
    if not out:
        raise ValueError("--k 0 trains the references only, but the study trained none")
    return out


def _finalist(row: pd.Series, role: str, col: str) -> Finalist:
    ref = str(row.get("reference") or "")
    number = int(row["number"])
    return Finalist(name=ref if role == "reference" else f"trial{number}", role=role,
                    trial=number, search_miou=float(row[col]),
                    spec=ArchSpec.from_json(row["spec"]), rung=_rung_name(col))
