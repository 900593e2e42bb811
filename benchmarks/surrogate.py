"""A surrogate of proxy mIoU, fit on the trained trials of the committed studies.

Features are read off the spec (per-level widths, kernels, convs, skips, separable, bits,
depth, log weight bytes, log MACs); the model is scikit-learn's gradient boosting. Its own
held-out quality is measured by grouped k-fold (one architecture never sits on both sides):
Kendall tau and Spearman rho of the out-of-fold predictions.

    .venv/bin/python -m benchmarks.surrogate

Needs the ``bench`` extra (scikit-learn, scipy).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks._common import kendall_tau
from nas.spec import ArchSpec

STUDIES = ("studies/results/headline", "studies/results/samplers/nsga2",
           "studies/results/samplers/random")
MAX_LEVELS = 5
FOLDED_SIDE = 88  # MACs are counted at the default 88x88 folded input


def features(spec: ArchSpec) -> dict[str, float]:
    """Numbers describing ``spec`` (absent levels give 0)."""
    f: dict[str, float] = {"depth": spec.depth, "n_prep": len(spec.prep),
                           "n_head": len(spec.head)}
    for i in range(3):
        f[f"prep{i}_width"] = spec.prep[i].out if i < len(spec.prep) else 0
        f[f"head{i}_width"] = spec.head[i].out if i < len(spec.head) else 0
    f["prep_separable"] = sum(c.separable for c in spec.prep)
    f["head_separable"] = sum(c.separable for c in spec.head)
    dec = {spec.depth - 1 - k: lvl for k, lvl in enumerate(spec.decoder)}
    for level in range(1, MAX_LEVELS + 1):
        e = spec.encoder[level - 1] if level <= spec.depth else None
        f[f"enc{level}_width"] = e.width if e else 0
        f[f"enc{level}_n_convs"] = len(e.convs) if e else 0
        f[f"enc{level}_k3"] = sum(c.kernel == 3 for c in e.convs) if e else 0
        f[f"enc{level}_separable"] = float(e.convs[0].separable) if e else 0
        d = dec.get(level)
        f[f"dec{level}_up"] = d.up if d else 0
        f[f"dec{level}_width"] = max(c.out for c in d.convs) if d else 0
        f[f"dec{level}_n_convs"] = len(d.convs) if d else 0
        f[f"dec{level}_k3"] = sum(c.kernel == 3 for c in d.convs) if d else 0
        f[f"dec{level}_skip"] = float(d.skip) if d else 0
        f[f"dec{level}_separable"] = float(d.convs[0].separable) if d else 0
    layers = spec.layers()
    weights = sum(layer.weight_count for layer in layers)
    macs = sum(layer.weight_count * (FOLDED_SIDE / layer.scale) ** 2 for layer in layers)
    f["n_layers"] = len(layers)
    layer_bytes = sum(layer.weight_count * layer.bits // 8 for layer in layers)
    f["log_weight_bytes"] = math.log10(max(layer_bytes, 1))
    f["log_macs"] = math.log10(max(macs, 1))
    f["mean_bits"] = sum(layer.weight_count * layer.bits for layer in layers) / max(weights, 1)
    f["min_bits"] = min(layer.bits for layer in layers)
    return f


def feature_frame(specs: Iterable[ArchSpec]) -> pd.DataFrame:
    return pd.DataFrame([features(s) for s in specs])


def load_trained(dirs: Iterable[str | Path] = STUDIES) -> tuple[list[ArchSpec], np.ndarray]:
    """Specs and proxy mIoU of every trained trial in the studies' ``trials.csv``."""
    specs, miou = [], []
    for d in dirs:
        df = pd.read_csv(Path(d) / "trials.csv")
        df = df[(df["trained"] == True) & df["spec"].notna() & (df["miou"] > 0)]  # noqa: E712
        specs += [ArchSpec.from_json(s) for s in df["spec"]]
        miou += df["miou"].astype(float).tolist()
    return specs, np.asarray(miou)


@dataclass
class Surrogate:
    """Gradient-boosted proxy-mIoU predictor on :func:`features`."""

    model: object
    columns: list[str]

    def predict(self, specs: Iterable[ArchSpec]) -> np.ndarray:
        x = feature_frame(specs)[self.columns].to_numpy(float)
        return np.clip(self.model.predict(x), 0.0, 1.0)

    def __call__(self, spec: ArchSpec) -> float:
        return float(self.predict([spec])[0])


def _model(seed: int) -> object:
    from sklearn.ensemble import GradientBoostingRegressor

    return GradientBoostingRegressor(n_estimators=300, max_depth=3, learning_rate=0.05,
                                     subsample=0.8, random_state=seed)


def fit(specs: list[ArchSpec], miou: np.ndarray, seed: int = 0) -> Surrogate:
    """A surrogate fit on all of ``specs``."""
    x = feature_frame(specs)
    model = _model(seed)
    model.fit(x.to_numpy(float), np.asarray(miou, float))
    return Surrogate(model, list(x.columns))


def evaluate(specs: list[ArchSpec], miou: np.ndarray, folds: int = 5,
             seed: int = 0) -> dict[str, float]:
    """Held-out quality: Kendall tau, Spearman rho and MAE of grouped k-fold predictions
    (specs of one architecture stay in one fold)."""
    from scipy.stats import spearmanr
    from sklearn.model_selection import GroupKFold

    x = feature_frame(specs).to_numpy(float)
    y = np.asarray(miou, float)
    groups = [s.to_json(indent=None).replace(s.name, "") for s in specs]
    pred = np.zeros_like(y)
    for train, test in GroupKFold(n_splits=folds).split(x, y, groups):
        model = _model(seed)
        model.fit(x[train], y[train])
        pred[test] = model.predict(x[test])
    return {"n": len(y), "kendall_tau": kendall_tau(y, pred),
            "spearman_rho": float(spearmanr(y, pred).statistic),
            "mae": float(np.mean(np.abs(y - pred)))}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--study-dir", action="append", help="folders with trials.csv "
                    "(default: the three committed 200-trial studies)")
    ap.add_argument("--folds", type=int, default=5)
    args = ap.parse_args(argv)
    specs, miou = load_trained(args.study_dir or STUDIES)
    q = evaluate(specs, miou, args.folds)
    print(f"surrogate: {q['n']} trained specs, {args.folds}-fold grouped held-out: "
          f"Kendall tau {q['kendall_tau']:.3f}, Spearman rho {q['spearman_rho']:.3f}, "
          f"MAE {q['mae']:.4f} mIoU")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
