"""Placing text labels beside points so that no two overlap (a greedy search in pixels)."""

from __future__ import annotations

from collections.abc import Sequence

CHAR_PX = 7.0  # width of one character of a 12 px label, roughly
LABEL_H_PX = 18.0
# Offsets (dx, dy) in pixels from the point to the label's centre, tried in this order:
# above, below, then further out and to the sides.
CANDIDATES = [(0, -30), (0, 30), (0, -55), (0, 55), (-70, -30), (70, -30), (-70, 30),
              (70, 30), (0, -80), (0, 80), (-90, -55), (90, -55), (-90, 55), (90, 55),
              (0, -105), (0, 105)]

Box = tuple[float, float, float, float]  # x0, y0, x1, y1


def label_box(x: float, y: float, text: str) -> Box:
    """The box a label centred at pixel (x, y) covers."""
    w = CHAR_PX * len(text) + 6
    return x - w / 2, y - LABEL_H_PX / 2, x + w / 2, y + LABEL_H_PX / 2


def overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def place_labels(points: Sequence[tuple[float, float]], texts: Sequence[str],
                 width: float, height: float,
                 obstacles: Sequence[Box] = ()) -> list[tuple[float, float]]:
    """Offsets (dx, dy) in pixels (y down) for labels of the points at pixel ``points``.

    Each label takes the first candidate offset whose box overlaps no label placed before it,
    stays inside the ``width`` x ``height`` plot, and covers no labelled point and none of
    the ``obstacles`` (boxes in the same pixels, e.g. the legend);
    labels are placed left to right. If none is free, the least-overlapping candidate is kept.
    """
    placed: list[Box] = []
    marks = [(x - 6, y - 6, x + 6, y + 6) for x, y in points]
    out: list[tuple[float, float]] = [(0.0, 0.0)] * len(points)
    for i in sorted(range(len(points)), key=lambda k: points[k][0]):
        x, y = points[i]
        best, best_cost = CANDIDATES[0], float("inf")
        for dx, dy in CANDIDATES:
            box = label_box(x + dx, y + dy, texts[i])
            cost = sum(overlaps(box, b) for b in [*placed, *obstacles]) * 10 + sum(
                overlaps(box, m) for m in marks)
            if box[0] < 0 or box[2] > width or box[1] < 0 or box[3] > height:
                cost += 5
            if cost < best_cost:
                best, best_cost = (dx, dy), cost
            if cost == 0:
                break
        out[i] = (float(best[0]), float(best[1]))
        placed.append(label_box(x + best[0], y + best[1], texts[i]))
    return out
