"""The segmentation picture: colours, grid layout, panels drawn where they are said to be."""

from __future__ import annotations

import numpy as np
import pytest

from nas.report import class_colors, colorize, segmentation_grid
from nas.report._segmentation import GAP_PX, MARGIN_PX

CLASSES = ("Building", "Sky", "Tree", "Other")


def _columns(n_rows: int, n_cols: int, size: int = 12) -> list:
    rng = np.random.default_rng(0)
    image = [rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for _ in range(n_rows)]
    labels = [rng.integers(0, 4, (size, size)) for _ in range(n_rows)]
    return [("input", image)] + [(f"model {c}\n1,000 B", labels) for c in range(n_cols - 1)]


def test_colours_are_camvids_and_distinct():
    colors = class_colors(CLASSES)
    assert colors.shape == (4, 3) and colors.dtype == np.uint8
    assert tuple(colors[0]) == (128, 0, 0) and tuple(colors[1]) == (128, 128, 128)
    assert len({tuple(c) for c in colors}) == 4
    # "Other" would take Road's colour: with Road present it gets another one
    many = class_colors(["Road", "other", "x", "y", *(f"c{i}" for i in range(12))])
    assert len({tuple(c) for c in many}) == len(many)


def test_colorize_draws_ignored_black_and_refuses_unknown_labels():
    colors = class_colors(CLASSES)
    rgb = colorize(np.array([[0, 3], [255, 1]]), colors)
    assert rgb.shape == (2, 2, 3)
    assert tuple(rgb[0, 1]) == tuple(colors[3]) and tuple(rgb[1, 0]) == (0, 0, 0)
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        colorize(np.array([[4]]), colors)


@pytest.mark.parametrize(("n_rows", "n_cols"), [(4, 3), (2, 8), (1, 1)])
def test_grid_layout(n_rows, n_cols):
    grid = segmentation_grid(_columns(n_rows, n_cols), CLASSES, title="t")
    assert grid.shape == (n_rows, n_cols)
    width, height = grid.image.size
    assert width >= 600
    px = grid.panels[0][0][2] - grid.panels[0][0][0]
    assert width == 2 * MARGIN_PX + n_cols * px + (n_cols - 1) * GAP_PX
    boxes = [b for row in grid.panels for b in row]
    assert all(0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height for x0, y0, x1, y1 in boxes)
    assert all(b[2] - b[0] == b[3] - b[1] == px for b in boxes)  # square panels
    overlap = [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:]
               if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]]
    assert not overlap


def test_a_constant_label_panel_is_one_colour_where_the_grid_says():
    cols = _columns(2, 2)
    cols.append(("constant", [np.full((12, 12), 2), np.full((12, 12), 2)]))
    grid = segmentation_grid(cols, CLASSES)
    pixels = np.asarray(grid.image)
    for row in range(2):
        x0, y0, x1, y1 = grid.panels[row][2]
        panel = pixels[y0:y1, x0:x1].reshape(-1, 3)
        assert (panel == class_colors(CLASSES)[2]).all()
        x0, y0, x1, y1 = grid.panels[row][1]  # the random labels: several colours
        assert len(np.unique(pixels[y0:y1, x0:x1].reshape(-1, 3), axis=0)) > 1


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="at least one column"):
        segmentation_grid([], CLASSES)
    with pytest.raises(ValueError, match="every column needs 2 tiles"):
        segmentation_grid([*_columns(2, 2), ("short", [np.zeros((4, 4))])], CLASSES)
    with pytest.raises(ValueError, match="RGB"):
        segmentation_grid([("x", [np.zeros((4, 4, 2))])], CLASSES)
