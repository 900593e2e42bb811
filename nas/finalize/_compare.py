"""Searched finalists against the references, seed by seed: the headline's question (how much
smaller at the same test mIoU?) with each difference next to its spread over seeds."""

from __future__ import annotations

import pandas as pd

# Byte budgets, as shares of a reference's weight bytes: a quarter and a half of an 8-bit
# reference's; all of a low-bit (-w4) reference's, since a user could quantise the hand-made
# net instead of searching, so a searched net must beat that at no more bytes.
BUDGETS_8_BIT = (0.25, 0.5)
BUDGETS_LOW_BIT = (1.0,)

COLUMNS = ["reference", "budget", "budget_bytes", "finalist", "weight_bytes", "seeds",
           "finalist_test", "reference_test", "diffs", "diff_mean", "diff_std", "verdict"]


def _budgets(name: str) -> tuple[float, ...]:
    return BUDGETS_LOW_BIT if name.endswith("-w4") else BUDGETS_8_BIT


def _verdict(diffs: list[float]) -> str:
    if not diffs:
        return "no seed in common"
    mean = sum(diffs) / len(diffs)
    if len(diffs) == 1:
        return ("higher" if mean >= 0 else "lower") + " on its one seed (no spread)"
    std = float(pd.Series(diffs).std(ddof=1))
    side = "higher" if mean >= 0 else "lower"
    return f"{side} by more than its spread" if abs(mean) > std else "within its spread"


def comparison_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (reference, budget): the searched finalist that fits the chip with the
    highest mean test mIoU within ``budget`` x the reference's weight bytes, and its test
    mIoU minus the reference's seed by seed (``diffs``, over the seeds both have), their mean
    and std (ddof 1) and whether the mean is larger than that std (``verdict``).

    Args:
        rows: ``finalists.csv`` rows (``name``, ``role``, ``seed``, ``test_miou``,
            ``weight_bytes``, ``fits``).
    """
    searched = rows[(rows["role"] != "reference") & (rows["fits"].astype(bool))]
    means = searched.groupby("name").agg(test=("test_miou", "mean"),
                                         weight_bytes=("weight_bytes", "first"))
    out = []
    for ref, g in rows[rows["role"] == "reference"].groupby("name", sort=False):
        ref_bytes = int(g["weight_bytes"].iloc[0])
        ref_test = g.set_index("seed")["test_miou"]
        for share in _budgets(str(ref)):
            limit = int(ref_bytes * share)
            within = means[means["weight_bytes"] <= limit]
            rec = {"reference": ref, "budget": share, "budget_bytes": limit,
                   "reference_test": float(ref_test.mean())}
            if within.empty:
                out.append({**rec, "finalist": "", "seeds": 0, "diffs": [],
                            "verdict": "no searched finalist that fits within it"})
                continue
            best = str(within.sort_values(["test", "weight_bytes"],
                                          ascending=[False, True]).index[0])
            mine = searched[searched["name"] == best].set_index("seed")["test_miou"]
            seeds = sorted(set(mine.index) & set(ref_test.index))
            diffs = [float(mine[s] - ref_test[s]) for s in seeds]
            out.append({**rec, "finalist": best, "weight_bytes": int(means.loc[best,
                                                                              "weight_bytes"]),
                        "seeds": len(seeds), "finalist_test": float(mine.mean()),
                        "diffs": diffs,
                        "diff_mean": sum(diffs) / len(diffs) if diffs else float("nan"),
                        "diff_std": (float(pd.Series(diffs).std(ddof=1)) if len(diffs) > 1
                                     else float("nan")),
                        "verdict": _verdict(diffs)})
    return pd.DataFrame(out, columns=COLUMNS)


def comparison_markdown(table: pd.DataFrame) -> str:
    """:func:`comparison_frame` as a Markdown table (empty string when it has no rows or no
    searched finalist at all, as in a study of the references alone)."""
    if table.empty or not table["finalist"].astype(bool).any():
        return ""
    head = ["reference (test mIoU)", "budget", "best searched finalist within it",
            "test mIoU", "difference per seed", "mean ± std", "verdict"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in table.to_dict("records"):
        share = {0.25: "1/4", 0.5: "1/2", 1.0: "1"}.get(r["budget"], f"{r['budget']:g}")
        found = bool(r["finalist"])
        lines.append("| " + " | ".join([
            f"{r['reference']} ({r['reference_test']:.3f})",
            f"{share}: {int(r['budget_bytes']):,} B",
            f"{r['finalist']} ({int(r['weight_bytes']):,} B)" if found else "-",
            f"{r['finalist_test']:.3f}" if found else "-",
            " / ".join(f"{d:+.3f}" for d in r["diffs"]) or "-",
            (f"{r['diff_mean']:+.3f} ± {r['diff_std']:.3f}" if r["seeds"] > 1
             else f"{r['diff_mean']:+.3f}" if found and r["seeds"] else "-"),
            r["verdict"]]) + " |")
    return ("\nAgainst the references, seed by seed (test mIoU of the finalist minus the "
            "reference's, same seed; 'spread': the std of those differences):\n\n"
            + "\n".join(lines) + "\n")
