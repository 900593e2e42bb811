"""A front's quality in the metrics that tell samplers apart: log-bytes hypervolume and
bytes to reach an mIoU."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from nas.front._frames import feasible_complete
from nas.front._hypervolume import (
    HEADLINE_REF_MIOU,
    REACH_MIOUS,
    REF_MIOUS,
    bytes_to_reach,
    log_hypervolume,
    weight_memory_bytes,
)
from nas.hardware import DEFAULT_DEVICE


@dataclass(frozen=True)
class FrontQuality:
    """A study's front in the metrics that tell samplers apart (``benchmarks/sampler_seeds.py``).

    Attributes:
        device: whose weight memory bounds the hypervolume.
        ref_bytes: that weight memory, bytes.
        hypervolume: reference mIoU -> hypervolume in (mIoU, log10 bytes), mIoU x decades.
        bytes_to_reach: mIoU m -> fewest param bytes of a feasible trial with val mIoU >= m
            (``inf``: none yet).
    """

    device: str
    ref_bytes: int
    hypervolume: dict[float, float]
    bytes_to_reach: dict[float, float]

    def rows(self) -> list[tuple[str, str]]:
        """(what, value) pairs for a table; the headline reference first."""
        refs = sorted(self.hypervolume, key=lambda r: (r != HEADLINE_REF_MIOU, r))
        out = [(f"hypervolume, log10 bytes, ref. mIoU {r}"
                + (" (headline)" if r == HEADLINE_REF_MIOU else ""),
                f"{self.hypervolume[r]:.4f}") for r in refs]
        out += [(f"param bytes to reach val mIoU {m}", _bytes_text(b))
                for m, b in self.bytes_to_reach.items()]
        return out

    def lines(self) -> list[str]:
        """Three lines of at most 80 columns for the closing screen."""
        head = HEADLINE_REF_MIOU if HEADLINE_REF_MIOU in self.hypervolume else \
            next(iter(self.hypervolume))
        others = ", ".join(f"{r}: {v:.4f}" for r, v in self.hypervolume.items() if r != head)
        reach = ", ".join(f"{m}: {_bytes_text(b)}" for m, b in self.bytes_to_reach.items())
        return [f"hypervolume in (mIoU, log10 bytes) below {self.ref_bytes:,} B "
                f"({self.device}):",
                f"  ref. mIoU {head}: {self.hypervolume[head]:.4f}"
                + (f" ({others})" if others else ""),
                f"param bytes to reach val mIoU {reach}"]


def _bytes_text(b: float) -> str:
    return f"{b:,.0f}" if math.isfinite(b) else "not reached"


def front_quality(df: pd.DataFrame, device: str = DEFAULT_DEVICE,
                  ref_mious: Sequence[float] = REF_MIOUS,
                  reach_mious: Sequence[float] = REACH_MIOUS) -> FrontQuality:
    """:class:`FrontQuality` of the feasible complete trials of ``df`` (references included:
    every study trains the same ones; early-stopped trials, whose mIoU is partial, left out as
    from the front)."""
    ok = feasible_complete(df)
    if "early_stopped" in ok.columns:
        ok = ok[ok["early_stopped"] != True]  # noqa: E712
    miou = pd.to_numeric(ok["miou"], errors="coerce").fillna(0.0).to_numpy(float) \
        if len(ok) else np.zeros(0)
    nbytes = pd.to_numeric(ok["param_bytes"], errors="coerce").fillna(0.0).to_numpy(float) \
        if len(ok) else np.zeros(0)
    ref_bytes = weight_memory_bytes(device)
    return FrontQuality(
        device=device, ref_bytes=ref_bytes,
        hypervolume={r: log_hypervolume(miou, nbytes, r, ref_bytes) for r in ref_mious},
        bytes_to_reach={m: bytes_to_reach(miou, nbytes, m) for m in reach_mious},
    )
