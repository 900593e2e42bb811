"""Digests of what a refactor must not change: export files, the front figure, sampled specs.

Run it in two checkouts and compare the JSON files: equal digests mean equal outputs.

    (cd /tmp/before && PYTHONPATH=. python /path/to/benchmarks/output_digest.py \\
        --out /tmp/d-before.json)
    PYTHONPATH=. python benchmarks/output_digest.py --out /tmp/d-after.json
    diff /tmp/d-before.json /tmp/d-after.json && echo same

``PYTHONPATH=.`` makes the script import ``nas`` and ``search_spaces`` from the current
directory (the checkout under test), whichever checkout the environment has installed.
Exports go to one fixed folder (``--work``) so that the README's paths agree; the checkpoints
are compared by their tensors (a zip's bytes carry no meaning).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
import torch

from nas.export import export
from nas.hardware import get_device
from nas.models import build_model
from nas.report import front_figure
from nas.spec import get_reference
from search_spaces import get_space

EXPORTS = [("ai85unetlarge", "MAX78000", (16, 16), False),
           ("unetmysmall", "MAX78002", (24, 24), True)]
SPACES = ["unet_max78000", "unet_max78002"]
N_SPECS = 40


def _sha(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, torch.Tensor):
        return value.tolist()
    return value


def export_digests(work: Path) -> dict[str, str]:
    """Each file of two exports (random and trained weights, both devices)."""
    rows = {}
    for name, device, size, trained in EXPORTS:
        spec = get_reference(name)
        torch.manual_seed(0)
        model = build_model(spec).eval() if trained else None
        out = work / f"exp-{name}"
        shutil.rmtree(out, ignore_errors=True)
        result = export(spec, out, model=model, device=device, input_size=size, seed=3,
                        epoch=5, source="digest")
        for role, path in sorted(result.files.items()):
            data = path.read_bytes()
            if path.name.endswith(".pth.tar"):
                data = repr(_plain(torch.load(path, weights_only=True))).encode()
            rows[f"export/{name}/{role}"] = _sha(data)
        rows[f"export/{name}/predicted"] = json.dumps(result.predicted, sort_keys=True)
    return rows


def figure_digests() -> dict[str, str]:
    """The front figure's plotly JSON for a synthetic trials frame (with and without extras)."""
    rng = np.random.default_rng(1)
    n = 30
    df = pd.DataFrame({
        "number": range(n), "state": ["COMPLETE"] * (n - 2) + ["FAIL", "COMPLETE"],
        "reference": [""] * (n - 3) + ["unetmysmall", "", "ai85unetlarge"],
        "feasible": [bool(x) for x in rng.integers(0, 2, n)],
        "param_bytes": rng.integers(2000, 400000, n).astype(float),
        "miou": rng.uniform(0.3, 0.8, n), "latency_ms": rng.uniform(1, 9, n),
        "arch": ["a"] * n, "violations": [""] * n})
    front, knees = df.iloc[[1, 4, 7]], df.iloc[[4]]
    limit = float(get_device("MAX78000").kernel_bytes_total)
    figs = {
        "front/knees-limit": front_figure(df, front, knees, title="t", limit_bytes=limit,
                                          limit_label="limit"),
        "front/plain": front_figure(df, front, None, title="t"),
        "front/empty": front_figure(df.iloc[:0], df.iloc[:0]),
    }
    return {k: _sha(fig.to_json()) for k, fig in figs.items()}


def space_digests() -> dict[str, str]:
    """Specs (and their parameters) sampled from each space by TPE and random search."""
    rows = {}
    for name in SPACES:
        space = get_space(name)
        for sampler_name, sampler in [("random", optuna.samplers.RandomSampler(seed=0)),
                                      ("tpe", optuna.samplers.TPESampler(seed=0))]:
            study = optuna.create_study(sampler=sampler)
            texts, specs = [], []
            for _ in range(N_SPECS):
                trial = study.ask()
                spec = space(trial)
                specs.append(spec)
                texts.append(spec.to_json(indent=None) + json.dumps(trial.params, sort_keys=True))
                study.tell(trial, 0.0)
            rows[f"space/{name}/{sampler_name}"] = _sha("\n".join(texts))
            rows[f"space/{name}/{sampler_name}/params_for"] = _sha(json.dumps(
                [space.params_for(s) for s in specs[:10]], sort_keys=True, default=str))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="JSON file of digests")
    parser.add_argument("--work", type=Path, default=Path("/tmp/maxnas-output-digest"),
                        help="folder for the exports (the same in both checkouts)")
    args = parser.parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rows = {**export_digests(args.work), **figure_digests(), **space_digests()}
    args.out.write_text(json.dumps(rows, indent=1, sort_keys=True) + "\n")
    print(f"{len(rows)} digests of {Path(sys.modules['nas'].__file__).parent.parent}"
          f" -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
