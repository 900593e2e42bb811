"""What early stop (``--early-stop``) did in a study: how many trials it stopped and how much
training it saved."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class EarlyStopSummary:
    """Early stop over the searched trials that trained with it.

    Attributes:
        trials: searched trials trained with early stop on (references never stop).
        stopped: those it stopped.
        epochs_run: training epochs they ran.
        epochs_planned: epochs they would have run without early stop.
        seconds_run: their training seconds (val passes included).
        seconds_saved: training seconds the stopped trials did not run, estimated at each
            stopped trial's own seconds per epoch so far (an upper bound on the evaluation
            cost it includes: the val passes every ``early_stop_every`` epochs).
    """

    trials: int
    stopped: int
    epochs_run: int
    epochs_planned: int
    seconds_run: float
    seconds_saved: float

    @property
    def epochs_saved_share(self) -> float:
        """Share of the planned epochs not run (0 when nothing was planned)."""
        return 1 - self.epochs_run / self.epochs_planned if self.epochs_planned else 0.0

    @property
    def seconds_saved_share(self) -> float:
        """Estimated share of the training time early stop saved."""
        total = self.seconds_run + self.seconds_saved
        return self.seconds_saved / total if total else 0.0

    def line(self) -> str:
        """One line for the closing screen (under 80 columns)."""
        return (f"early stop: {self.stopped} of {self.trials} trained trials stopped, "
                f"{self.epochs_saved_share:.0%} of epochs saved")


def early_stop_summary(df: pd.DataFrame) -> EarlyStopSummary | None:
    """What early stop did in a trials frame (``trials_frame`` or ``trials.csv``), or None
    when no trial trained with it (its ``preset_epochs`` column is empty)."""
    if "preset_epochs" not in df.columns:
        return None
    d = df[(df["state"] == "COMPLETE") & (df["trained"] == True)  # noqa: E712
           & df["preset_epochs"].notna() & df["epochs"].notna()]
    if d.empty:
        return None
    stopped = d[d["early_stopped"] == True]  # noqa: E712
    epochs = stopped["epochs"].astype(float)
    per_epoch = stopped["train_seconds"].astype(float) / epochs.clip(lower=1)
    saved = float((per_epoch * (stopped["preset_epochs"].astype(float) - epochs)).sum())
    return EarlyStopSummary(
        trials=len(d), stopped=len(stopped), epochs_run=int(d["epochs"].sum()),
        epochs_planned=int(d["preset_epochs"].sum()),
        seconds_run=float(d["train_seconds"].astype(float).sum()), seconds_saved=saved)


def early_stop_table(summary: EarlyStopSummary) -> pd.DataFrame:
    """The summary as a one-row table for the report page."""
    return pd.DataFrame([{
        "trials trained with early stop": summary.trials,
        "stopped": summary.stopped,
        "epochs run / planned": f"{summary.epochs_run:,} / {summary.epochs_planned:,}",
        "epochs saved": f"{summary.epochs_saved_share:.1%}",
        "training s run": round(summary.seconds_run),
        "training s saved (est.)": round(summary.seconds_saved),
        "time saved (est.)": f"{summary.seconds_saved_share:.1%}",
    }])
