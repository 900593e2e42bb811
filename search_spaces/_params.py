"""Spec -> parameters, the reverse of sampling: :meth:`UNetSpace.params_for
<search_spaces.UNetSpace.params_for>`. Each function replays the sampling step of the same
parameters (``UNetSpace.__call__`` and its ``_sample_*`` steps)."""

from __future__ import annotations

import dataclasses
import warnings
from typing import TYPE_CHECKING, Any

from optuna.trial import FixedTrial

from nas.spec import ArchSpec, ConvSpec, width_packs_evenly
from search_spaces._budget import PASS_WIDTH, Budget

if TYPE_CHECKING:
    from search_spaces._unet import UNetSpace


def params_for(space: UNetSpace, spec: ArchSpec) -> dict[str, Any]:
    """:meth:`UNetSpace.params_for <search_spaces.UNetSpace.params_for>`: the parameters
    that make ``space`` return ``spec``, or ``ValueError`` naming the first reason it cannot."""
    lo, hi = space.depth_range
    for what, n, most in (("prep layers", len(spec.prep), space.max_prep),
                          ("head layers", len(spec.head), space.max_head),
                          ("encoder levels", spec.depth, hi)):
        if n > most:
            raise ValueError(f"spec {spec.name!r} is not in space {space.name!r}: {n} "
                             f"{what}, the space has at most {most}")
    if spec.depth < lo:
        raise ValueError(f"spec {spec.name!r} is not in space {space.name!r}: depth "
                         f"{spec.depth} < {lo}")
    try:
        p = _params(space, spec)
    except ValueError as e:
        raise ValueError(f"spec {spec.name!r} is not in space {space.name!r}: {e}") from None
    # The rules above cover the shape; replaying catches everything else (ReLU placement,
    # bits, bias, choices outside this space, widths above a data-memory cap) in one place.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # out-of-range _per_pass values are intended
            rebuilt = space(FixedTrial(p))
    except ValueError as e:
        raise ValueError(f"spec {spec.name!r} is not in space {space.name!r}: {e}") from None
    want = dataclasses.replace(spec, num_classes=space.num_classes).to_dict()
    got = rebuilt.to_dict()
    want.pop("name"), got.pop("name")
    diff = [k for k in want if want[k] != got[k]]
    if diff:
        raise ValueError(
            f"spec {spec.name!r} is not in space {space.name!r}: field {diff[0]!r} cannot "
            f"be reproduced (space gives {got[diff[0]]!r}, spec has {want[diff[0]]!r})"
        )
    return p


def _params(space: UNetSpace, spec: ArchSpec) -> dict[str, Any]:
    p: dict[str, Any] = {"fold_ratio": spec.fold_ratio}
    if len(space.batchnorms) > 1:
        p["batchnorm"] = spec.batchnorm
    if spec.fold_ratio not in space.fold_ratios:
        raise ValueError(f"fold_ratio {spec.fold_ratio} is not one of {space.fold_ratios}")
    budget = Budget(space)
    full, depth, max_depth = space.full_res_width(), spec.depth, space.depth_range[1]
    # the first layer's bits are the space's, not its group's
    fixed_first = space.first_layer_bits is not None

    def inner(convs: tuple[ConvSpec, ...], first: bool = False) -> list[int]:
        return [c.bits for c in convs[1 if first and fixed_first else 0:]]

    p["n_prep"] = len(spec.prep)
    if space.max_prep:
        p |= _group_bits(space, "prep_bits", inner(spec.prep, first=True))
    for i in range(space.max_prep):
        c = spec.prep[i] if i < len(spec.prep) else None
        p |= _width_params(space, f"prep{i}_width", c.out if c else None, full, budget.full)
        p |= _separable_params(space, f"prep{i}", (c,) if c else ())
    p["depth"] = depth
    dec = {depth - 1 - k: lvl for k, lvl in enumerate(spec.decoder)}
    for level in range(1, max_depth + 1):
        pre = f"enc{level}"
        lvl = spec.encoder[level - 1] if level <= depth else None
        convs = lvl.convs if lvl else ()
        widths = {c.out for c in convs}
        if len(widths) > 1:
            raise ValueError(f"{pre}: the space gives all convs of an encoder level one "
                             f"width, but the spec has {sorted(widths)}")
        p |= _width_params(space, f"{pre}_width", lvl.width if lvl else None,
                                space._level_cap(level, encoder=True),
                                budget.enc_cap(level, depth))
        p |= _kernel_params(space, pre, convs)
        p |= _separable_params(space, pre, convs)
        p |= _group_bits(space, f"{pre}_bits",
                         inner(convs, first=level == 1 and not spec.prep))
        if level == max_depth:
            break
        d, pre = dec.get(level), f"dec{level}"
        p[f"{pre}_skip"] = bool(d and d.skip)
        up_cap = budget.up_cap(level)
        if d is not None:
            assert lvl is not None  # a decoder level exists only above a used level
            if budget.skip_blocked(level, lvl.width):
                p[f"{pre}_skip"] = False
                p[f"{pre}_skip_unfit"] = int(d.skip)
            elif d.skip and not budget.skip_offered(level, lvl.width):
                raise ValueError(f"{pre}: the space offers skips only from levels of at "
                                 f"most {PASS_WIDTH} channels (izer concatenates 1-pass "
                                 f"parts)")
            if d.skip and d.up != lvl.width:
                raise ValueError(
                    f"{pre}: with a skip the space gives the upsampling the skip's width "
                    f"{lvl.width} (izer concatenates equal parts only), but the spec has "
                    f"up={d.up}"
                )
            budget.add(level, lvl.width, d.skip, d.up)
        p |= _width_params(space, f"{pre}_up", d.up if d and not d.skip else None,
                                space._level_cap(level), up_cap)
    for level in range(max_depth - 1, 0, -1):
        d, pre = dec.get(level), f"dec{level}"
        convs = d.convs if d else ()
        p |= _kernel_params(space, pre, convs)
        for j in range(space.n_convs_range[1]):
            c = convs[j] if j < len(convs) else None
            p |= _width_params(space, f"{pre}_conv{j}_width", c.out if c else None,
                                    space._level_cap(level),
                                    budget.dec_cap(level, last=j == len(convs) - 1))
        blocked = d is not None and budget.separable_blocked(
            level, spec.encoder[level - 1].width, d.skip)
        p |= _separable_params(space, pre, convs, blocked)
        p |= _group_bits(space, f"{pre}_bits", inner(convs) + ([d.up_bits] if d else []))
    p["n_head"] = len(spec.head)
    if space.max_head:
        p |= _group_bits(space, "head_bits", inner(spec.head))
    for i in range(space.max_head):
        c = spec.head[i] if i < len(spec.head) else None
        p |= _width_params(space, f"head{i}_width", c.out if c else None, full, budget.full)
        p |= _separable_params(space, f"head{i}", (c,) if c else ())
    if space.classifier_bits is None:
        p["classifier_bits"] = spec.classifier_bits
    return p


def _group_bits(space: UNetSpace, name: str, bits: list[int]) -> dict[str, int]:
    """The group's weight-bits parameter (none when the space has one width)."""
    if len(space.weight_bits) == 1:
        return {}
    if len(set(bits)) > 1:
        raise ValueError(f"{name}: the space gives one weight width per layer group, "
                         f"but the spec has {sorted(set(bits))}")
    return {name: bits[0] if bits else space.weight_bits[0]}


def _width_params(space: UNetSpace, name: str, width: int | None,
                  max_width: int | None = None, cap: int | None = None) -> dict[str, int]:
    """The index (and ``_per_pass``) that :meth:`UNetSpace._width` turns into ``width``."""
    ladder = space._ladder(max_width)
    if width is None:  # unused: any value
        return {f"{name}_idx": 0}
    out: dict[str, int] = {}
    rung = width
    if width > PASS_WIDTH:
        passes = -(-width // PASS_WIDTH)
        rung = PASS_WIDTH * passes
        if not width_packs_evenly(width) or rung not in ladder:
            raise ValueError(f"{name}={width} is neither on the space's width ladder nor "
                             f"{passes} equal passes of a ladder width")
        out[f"{name}_per_pass"] = width // passes
    elif width not in ladder:
        raise ValueError(f"{name}={width} is not on the space's width ladder {ladder}")
    k = ladder.index(rung)
    if cap is not None:
        fit = sum(w <= cap for w in ladder)
        if k >= fit:
            raise ValueError(f"{name}={width} does not fit the {cap} processors data "
                             f"memory leaves it")
        k = -(-k * len(ladder) // fit)  # smallest index that squeezes onto it
    return {f"{name}_idx": k} | out


def _kernel_params(space: UNetSpace, prefix: str,
                   convs: tuple[ConvSpec, ...]) -> dict[str, Any]:
    n = len(convs) if convs else space.n_convs_range[0]
    if not space.n_convs_range[0] <= n <= space.n_convs_range[1]:
        raise ValueError(f"{prefix}: {n} convs, the space offers {space.n_convs_range}")
    out: dict[str, Any] = {f"{prefix}_n_convs": n}
    for j in range(space.n_convs_range[1]):
        out[f"{prefix}_conv{j}_kernel"] = convs[j].kernel if j < len(convs) \
            else space.kernels[0]
    return out


def _separable_params(space: UNetSpace, prefix: str, convs: tuple[ConvSpec, ...],
                      blocked: bool = False) -> dict[str, Any]:
    seps = {c.separable for c in convs} or {False}
    dws = {c.depthwise for c in convs} or {False}
    if len(seps) > 1 or len(dws) > 1:
        raise ValueError(f"{prefix}: the space makes all convs of a level separable or "
                         f"none, depthwise or none")
    sep, dw = seps.pop(), dws.pop()
    out: dict[str, Any] = {f"{prefix}_separable": sep and not blocked}
    if blocked:
        out[f"{prefix}_separable_unfit"] = int(sep)
    if dw and not space.depthwise:
        raise ValueError(f"{prefix} is depthwise, which space {space.name!r} does not "
                         f"allow (depthwise runs on MAX78002 only)")
    if space.depthwise:
        out[f"{prefix}_depthwise"] = dw
    return out

