"""What each preset charges for low-bit weights, against what the full recipe charges.

A row is one training: ``name,bits,preset,seed,val_miou`` in ``benchmarks/results/
bits_fidelity.csv``, where ``bits`` labels the weight widths: the inner layers' width
(:func:`nas.spec.with_inner_bits`; ``8`` = the same net all 8-bit), or for a searched net whose
inner layers mix widths its pattern, e.g. ``4/8`` (:func:`bits_label`). Nets are the references
(``ai85unetlarge``, ``unetmysmall``) or spec JSON files (``--spec trial122=path.json``; a
finalize ``<name>.json`` with a ``spec`` key works too), whose own widths are the label ``own``
(``--bits 8 own``: the searched net and its 8-bit twin). A searched net's spec is kept in
``benchmarks/results/bits_fidelity_specs/<name>.json`` for ``--report``. Every training keeps
its state in ``benchmarks/results/bits_fidelity_state/`` after each evaluated epoch and
continues from it
when the same command runs again (a full training is an hour or more of one CPU core; commit
that folder at the end of a session), and each row is appended as soon as it exists, so the
command can be stopped and rerun at any time::

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.bits_fidelity --nets ai85unetlarge \\
        unetmysmall --bits 8 4 2 --presets proxy medium --seeds 0 1 \\
        --data-dir ../shared/datasets/camvid
    .venv/bin/python -m benchmarks.bits_fidelity --import-finalists \\
        studies/refs-full/finalists.csv                    # full rows finalize trained
    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.bits_fidelity --spec-from \\
        studies/results/headline2/finalists.csv --nets trial14 --bits 8 --presets full \\
        --seeds 0 1 --float-phase-dir studies/results/headline2/finalists/float
        # a searched finalist's 8-bit twin: only full's QAT epochs, from finalize's float phase
    .venv/bin/python -m benchmarks.bits_fidelity --import-study \\
        sqlite:///studies/results/headline2.db:headline2   # the references a search trained
    .venv/bin/python -m benchmarks.bits_fidelity --report  # penalties, fit, goal

``--report`` prints, per (net, bits) pair, the penalty of each preset (mean over seeds of the
net at those bits minus the same net at 8 bits), the fit of ``nas.train._pricing``'s
``FULL_RECIPE_PENALTY`` on the full rows (least squares of penalty on the share of weights at
that width) and the goal: the first search preset's penalties within 0.03 of full's on average
and 0.06 at worst. A priced net trains in float exactly as its 8-bit twin, so that preset's
penalty is ``-table[b] * share``; the goal is checked with each pair's table fitted without its
net (leave one net out), the rows as trained are printed beside it.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks._common import RESULTS, append_row, done_keys, read_rows
from nas.spec import ArchSpec, get_reference, with_inner_bits
from nas.train._pricing import eight_bit_twin, weight_share
from search_spaces import DEFAULT_WEIGHT_BITS

OUT = RESULTS / "bits_fidelity.csv"
FIELDS = ("name", "bits", "preset", "seed", "val_miou")
KEY = ("name", "bits", "preset", "seed")  # one training
# Trainings in progress keep their state here (<name>-w<bits>-<preset>-seed<S>.pt.partial):
# commit it at the end of a session and the next one continues. A finished training's
# checkpoint is deleted once its row is written (the row is all this benchmark keeps).
RUNS = RESULTS / "bits_fidelity_state"
# The searched nets' specs (their own widths), by name, so --report can price their pairs.
SPECS = RESULTS / "bits_fidelity_specs"


def load_net(name: str, specs: dict[str, Path]) -> ArchSpec:
    """The spec in ``specs[name]`` (plain or under a ``spec`` key), else one kept in
    :data:`SPECS`, else a reference by name."""
    path = specs.get(name) or (SPECS / f"{name}.json")
    if not path.is_file():
        return get_reference(name)
    data = json.loads(path.read_text())
    return ArchSpec.from_dict(data.get("spec", data))


def keep_spec(name: str, spec: ArchSpec) -> None:
    """Keep a searched net's spec in :data:`SPECS` (its own widths)."""
    SPECS.mkdir(parents=True, exist_ok=True)
    (SPECS / f"{name}.json").write_text(spec.to_json() + "\n")


def bits_label(spec: ArchSpec) -> str:
    """``8`` for an all-8-bit net, ``b`` when every inner layer is at ``b`` bits
    (:func:`nas.spec.with_inner_bits` of its 8-bit twin), else the widths it uses, e.g.
    ``4/8``."""
    twin = eight_bit_twin(spec)
    if spec == twin:
        return "8"
    for b in (4, 2, 1):
        if spec == with_inner_bits(twin, b):
            return str(b)
    return "/".join(str(b) for b in sorted({layer.bits for layer in spec.layers()}))


def low_width(label: str) -> int:
    """The narrowest width of a label (``4/8`` -> 4)."""
    return min(int(b) for b in str(label).split("/"))


def single_low_width(label: str) -> bool:
    """Whether a label has one width below 8 (``4``, ``4/8``; not ``2/4/8`` or ``8``): the
    pairs one penalty per width can price."""
    return len({int(b) for b in str(label).split("/")} - {8}) == 1


def spec_at(base: ArchSpec, label: str) -> ArchSpec:
    """``base`` at the widths ``label`` names: ``8`` its 8-bit twin, ``own`` (or the label of
    ``base`` itself) ``base``, ``b`` its inner layers at ``b`` bits.

    Raises:
        ValueError: a mixed label that is not ``base``'s own.
    """
    if label == "8":
        return eight_bit_twin(base)
    if label in ("own", bits_label(base)):
        return base
    if "/" in label:
        raise ValueError(f"{base.name}: bits {label!r} is a mixed pattern that is not the "
                         f"net's own ({bits_label(base)}); pass own, 8 or one width")
    return with_inner_bits(eight_bit_twin(base), int(label))


def _done() -> set[tuple]:
    """The (name, bits label, preset, seed) of every row so far, the label as a string (pandas
    reads a column of plain widths as integers)."""
    return {(n, str(b), p, int(s)) for n, b, p, s in done_keys(OUT, KEY)}


def _append(row: dict) -> None:
    append_row(OUT, row, FIELDS)
    print(row, flush=True)


def train_rows(args: argparse.Namespace) -> None:
    from nas.data import get_task
    from nas.train import get_preset, train

    specs = spec_paths(args)
    done = _done()
    task = get_task("camvid4")
    for name in args.nets:
        if name in specs:
            keep_spec(name, load_net(name, specs))
    for seed in args.seeds:  # seed-major: every net gets a first seed before any a second
        for preset_name in args.presets:
            for name in args.nets:
                base = load_net(name, specs)
                for asked in args.bits:
                    spec = spec_at(base, asked)
                    bits = bits_label(spec)
                    if (name, bits, preset_name, seed) in done:
                        continue
                    preset = get_preset(preset_name).at_input_size((88, 88), spec.fold_ratio)
                    tag = bits.replace("/", "-")
                    ckpt = RUNS / f"{name}-w{tag}-{preset_name}-seed{seed}.pt"
                    t0 = time.monotonic()
                    res = train(spec, task, preset, args.data_dir, seed=seed, progress=False,
                                threads=args.threads, checkpoint_path=ckpt, resume=True,
                                float_phase_dir=args.float_phase_dir)
                    _append({"name": name, "bits": bits, "preset": preset_name,
                                "seed": seed, "val_miou": round(float(res.miou), 4),
                                "seconds": round(time.monotonic() - t0)})
                    ckpt.unlink(missing_ok=True)


def spec_paths(args: argparse.Namespace) -> dict[str, Path]:
    """``--spec NAME=JSON`` and, with ``--spec-from CSV``, each finalist's spec in that
    finalize CSV (written to :data:`SPECS`)."""
    specs = {k: Path(v) for k, v in (s.split("=", 1) for s in args.spec)}
    if getattr(args, "spec_from", None):
        for r in pd.read_csv(args.spec_from).drop_duplicates("name").itertuples():
            if r.name not in specs and isinstance(r.spec, str):
                keep_spec(str(r.name), ArchSpec.from_json(r.spec))
                specs[str(r.name)] = SPECS / f"{r.name}.json"
    return specs


def _net_and_label(name: str, spec_json: object) -> tuple[str, str]:
    """A finalize row's net and bits label: ``X-w4`` -> (X, 4) for a reference; a searched
    net by its spec's widths (its 8-bit twin trained here is ``(name, 8)``)."""
    if not isinstance(spec_json, str):  # a reference's name alone (older CSVs, studies)
        return (name[:-3], "4") if name.endswith("-w4") else (name, "8")
    spec = ArchSpec.from_json(spec_json)
    label = bits_label(spec)
    if name.endswith(f"-w{label}"):
        return name[: -len(f"-w{label}")], label
    return name, label


def import_finalists(csv_path: Path) -> None:
    """Full-recipe rows from a finalize CSV: ``X`` -> (X, 8), ``X-w4`` -> (X, 4), a searched
    net labelled by its widths (:func:`bits_label`; its spec kept in :data:`SPECS`)."""
    fin = pd.read_csv(csv_path)
    done = _done()
    for r in fin.itertuples():
        spec_json = getattr(r, "spec", None)
        name, bits = _net_and_label(str(r.name), spec_json)
        if str(getattr(r, "role", "")) != "reference" and isinstance(spec_json, str):
            keep_spec(name, ArchSpec.from_json(spec_json))
        if (name, bits, r.preset, int(r.seed)) not in done:
            done.add((name, bits, r.preset, int(r.seed)))
            _append({"name": name, "bits": bits, "preset": r.preset, "seed": int(r.seed),
                     "val_miou": round(float(r.val_miou), 4)})


def import_study(storage: str, study_name: str, seed: int = 0) -> None:
    """Rows of the nets a search trained, at each of its rungs, preset = the rung's: the
    references (``X`` -> (X, 8), ``X-w4`` -> (X, 4)) and every searched net whose spec is kept
    in :data:`SPECS` (``trial<N>``, by its widths; a net priced instead of trained low-bit gives
    its 8-bit twin's row too, from ``measured_miou``). A search worker trains with the search's
    ``--seed`` (``seed``, default 0) on one thread, the same training this script runs, so the
    value is the one this script would get (a priced net's included)."""
    import optuna

    from nas.studyio import RUNG_SEP, rung_studies

    study = optuna.load_study(study_name=study_name, storage=storage)
    levels = [(study, str(study.user_attrs["config"]["preset"]))]
    levels += [(r, r.study_name.split(RUNG_SEP, 1)[1]) for r in rung_studies(study)]
    done = _done()

    def add(name: str, bits: str, preset: str, value: float) -> None:
        if (name, bits, preset, seed) not in done:
            done.add((name, bits, preset, seed))
            _append({"name": name, "bits": bits, "preset": preset, "seed": seed,
                     "val_miou": round(float(value), 4)})

    for rung, preset in levels:
        for t in rung.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
            if t.user_attrs.get("trained") is not True or not t.values:
                continue
            ref = str(t.user_attrs.get("reference") or "")
            if ref:
                add(*_net_and_label(ref, None), preset, t.values[0])
                continue
            name = f"trial{t.user_attrs.get('origin_trial', t.number)}"  # rungs point back
            if not (SPECS / f"{name}.json").is_file() or not t.user_attrs.get("spec"):
                continue
            label = bits_label(ArchSpec.from_json(t.user_attrs["spec"]))
            add(name, label, preset, t.values[0])
            if label != "8" and t.user_attrs.get("measured_miou") is not None:
                add(name, "8", preset, t.user_attrs["measured_miou"])


def penalties(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (net, bits label other than 8, preset): mean val mIoU at those bits minus
    at 8 over the seeds trained at both (a seed whose twin is still training does not count),
    and how many (labels as strings: ``4``, ``4/8``)."""
    rows = rows.assign(bits=rows["bits"].astype(str))
    val = rows.groupby(["name", "preset", "bits", "seed"])["val_miou"].mean()
    out = []
    for (name, preset, bits), low in val.groupby(level=["name", "preset", "bits"]):
        if bits == "8" or (name, preset, "8") not in val.index.droplevel("seed"):
            continue
        low = low.droplevel(["name", "preset", "bits"])
        eight = val.loc[(name, preset, "8")]
        seeds = low.index.intersection(eight.index)
        if len(seeds):
            out.append({"name": name, "bits": bits, "preset": preset,
                        "penalty": float(low[seeds].mean() - eight[seeds].mean()),
                        "seeds": len(seeds)})
    return pd.DataFrame(out, columns=["name", "bits", "preset", "penalty", "seeds"])


def penalty_figure(rows: pd.DataFrame):  # -> plotly Figure
    """Bars: each (net, bits) pair's penalty per preset, with the spread over seeds."""
    import plotly.graph_objects as go

    pen = penalties(rows)
    # spread: std over seeds of the low-bit score (the 8-bit mean is one number per preset)
    std = rows.assign(bits=rows["bits"].astype(str)).groupby(
        ["name", "preset", "bits"])["val_miou"].std()
    fig = go.Figure()
    for preset in ("proxy", "medium", "full"):
        g = pen[pen["preset"] == preset]
        if g.empty:
            continue
        err = [std.get((n, preset, b), 0.0) for n, b in zip(g["name"], g["bits"], strict=True)]
        fig.add_bar(x=[f"{n} {b}-bit" for n, b in zip(g["name"], g["bits"], strict=True)],
                    y=g["penalty"], name=preset,
                    error_y={"type": "data", "array": [0 if e != e else e for e in err]},
                    text=[f"{v:+.3f} ({k})" for v, k in zip(g["penalty"], g["seeds"],
                                                           strict=True)])
    fig.update_layout(
        barmode="group", width=900, height=480, template="plotly_white",
        title="val mIoU at low bits minus the same net at 8 bits (seeds in brackets)",
        yaxis_title="penalty (val mIoU)",
        legend={"orientation": "h", "y": -0.2, "x": 0})
    return fig


def fit_penalty(pairs: pd.DataFrame, shares: dict[tuple[str, str], float]) -> dict[int, float]:
    """Per width, the mIoU lost per unit share: least squares through 0 of -penalty on share
    (at least 0). A pair counts for its narrowest width (``4/8``: 4), with ``shares[(net,
    label)]`` the share of its weights at that width; pairs that mix two low widths
    (``2/4/8``) are left out."""
    pairs = pairs.assign(bits=pairs["bits"].astype(str))
    pairs = pairs[pairs["bits"].map(single_low_width)]
    table = {8: 0.0}
    for width, g in pairs.groupby(pairs["bits"].map(low_width)):
        s = np.array([shares[(n, b)] for n, b in zip(g["name"], g["bits"], strict=True)])
        # clamped at 0: a width measured as free is priced free, never as a gain
        table[int(width)] = max(0.0, float(-(g["penalty"].to_numpy() * s).sum() / (s * s).sum()))
    return table


def report(specs: dict[str, Path], first_preset: str = "proxy",
           searched: tuple[int, ...] = DEFAULT_WEIGHT_BITS) -> pd.DataFrame:
    """Print the penalties, the fitted table and the goal; the goal counts the pairs whose
    low width is in ``searched`` (the widths a default search samples)."""
    pen = penalties(read_rows(OUT, FIELDS))
    if pen.empty:
        print("no (net, low-bit) pair with its 8-bit twin yet")
        return pen
    table = pen.pivot_table(index=["name", "bits"], columns="preset", values="penalty")
    print("penalty = mean val mIoU at the bits - the same net at 8 bits (seeds in brackets)")
    print(table.round(3).to_string())
    full = pen[pen["preset"] == "full"]
    if full.empty:
        return table
    shares = {(n, b): weight_share(spec_at(load_net(n, specs), b)).get(low_width(b), 0.0)
              for n, b in zip(full["name"], full["bits"], strict=True)}
    print("fitted FULL_RECIPE_PENALTY:", {b: round(v, 4) for b, v in
                                           fit_penalty(full, shares).items()})
    # A priced net trains in float exactly as its 8-bit twin, so the first preset's penalty
    # is -table[b] * share: its honest value for a pair is the table fitted without that net.
    loo = []
    for r in full.itertuples():
        rest = full[full["name"] != r.name]
        fitted = fit_penalty(rest, shares)
        if single_low_width(r.bits) and low_width(r.bits) not in searched:
            # the search never samples this width, so no preset prices it: shown, not scored
            print(f"  {r.name} at {r.bits} bits: full {r.penalty:+.3f} ({r.seeds} seeds); "
                  f"not in the default --weight-bits {searched}, left out of the goal")
            continue
        if single_low_width(r.bits) and low_width(r.bits) in fitted:
            pred = -fitted[low_width(r.bits)] * shares[(r.name, r.bits)]
            loo.append(abs(pred - r.penalty))
            print(f"  {r.name} at {r.bits} bits: full {r.penalty:+.3f} ({r.seeds} seeds), "
                  f"{first_preset} with the table fitted without it {pred:+.3f}")
    if loo:
        print(f"{first_preset} (priced, net left out) vs full over {len(loo)} pairs: mean "
              f"|difference| {np.mean(loo):.3f} (goal <= 0.03), worst {max(loo):.3f} "
              f"(goal <= 0.06)")
    if first_preset in table.columns:
        as_trained = table[[low_width(b) in searched for _, b in table.index]]
        err = (as_trained[first_preset] - as_trained["full"]).abs().dropna()
        print(f"{first_preset} rows as trained vs full over {len(err)} pairs: mean |difference| "
              f"{err.mean():.3f}, worst {err.max():.3f}")
    return table


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--nets", nargs="*", default=[])
    p.add_argument("--spec", nargs="*", default=[], metavar="NAME=JSON")
    p.add_argument("--spec-from", type=Path, default=None, metavar="CSV",
                   help="the nets of a finalize CSV by name (e.g. --nets trial14)")
    p.add_argument("--bits", nargs="*", default=["8", "4"],
                   help="labels to train: 8 (the 8-bit twin), a width for the inner layers, "
                        "or own (a --spec net's own widths)")
    p.add_argument("--presets", nargs="*", default=["proxy"])
    p.add_argument("--seeds", nargs="*", type=int, default=[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--float-phase-dir", type=Path, default=RUNS / "float",
                   help="states before QAT shared by a net's bit variants (nas.train.train); "
                        "the references' are in studies/results/refs-full/finalists/float")
    p.add_argument("--import-finalists", type=Path, default=None, metavar="CSV")
    p.add_argument("--import-study", default=None, metavar="URL:NAME",
                   help="the rows of a search study at every rung: its references and the "
                        "searched nets imported with --import-finalists, e.g. "
                        "sqlite:///studies/results/headline2.db:headline2 (its --seed 0)")
    p.add_argument("--report", action="store_true")
    p.add_argument("--plot", type=Path, default=None, metavar="PNG",
                   help="with --report: the penalties as a bar chart "
                        "(e.g. docs/bits_fidelity.png)")
    args = p.parse_args()
    if args.import_finalists:
        import_finalists(args.import_finalists)
    if args.import_study:
        url, _, name = args.import_study.rpartition(":")
        import_study(url, name)
    if args.nets:
        train_rows(args)
    if args.report:
        report(spec_paths(args))
        if args.plot:
            from nas.report import write_figure

            print("wrote", write_figure(penalty_figure(read_rows(OUT, FIELDS)), args.plot))


if __name__ == "__main__":
    main()
