"""Pictures of segmentations: columns of tiles (input, ground truth, predictions) in class
colours, titled, with a colour legend; drawn with Pillow.

Used by ``nas export`` (``preview.png``: what the chip computes) and ``nas finalize``
(``finalists_preview.png``: every finalist on the same tiles). The caller saves the image.
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from nas.data._classes import CAMVID11, VOID

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels (x1, y1 excluded)

# CamVid's own colours where the class has one; camvid4's Other takes Road's (most of it).
_KNOWN = {**{n.lower(): rgb for n, rgb in CAMVID11}, "other": (128, 64, 128)}
_SPARE = ((230, 159, 0), (86, 180, 233), (0, 158, 115), (240, 228, 66), (0, 114, 178),
          (213, 94, 0), (204, 121, 167), (150, 150, 255), (120, 60, 20), (0, 200, 200))
IGNORED_RGB = (0, 0, 0)
MARGIN_PX = 10
GAP_PX = 6
FONT_PX = 14
SWATCH_PX = 14


@dataclass(frozen=True)
class SegmentationGrid:
    """A drawn grid and where its panels are.

    Attributes:
        image: the picture (RGB).
        panels: ``panels[row][column]``: each tile's box in ``image``, in pixels.
    """

    image: Image.Image
    panels: tuple[tuple[Box, ...], ...]

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns) of tiles."""
        return len(self.panels), len(self.panels[0]) if self.panels else 0


def class_colors(class_names: Sequence[str]) -> np.ndarray:
    """One RGB colour per class, uint8 ``[C, 3]``: CamVid's palette by name, else (or when
    that colour is taken) the first unused colour of a spare palette, then hues."""
    out: list[tuple[int, int, int]] = []
    for i, name in enumerate(class_names):
        rgb = _KNOWN.get(name.lower())
        if rgb is None or rgb in out:
            rgb = next((c for c in _SPARE if c not in out), None) or _hue(i)
        out.append(rgb)
    return np.array(out, dtype=np.uint8).reshape(len(out), 3)


def _hue(i: int) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb((i * 0.618034) % 1.0, 0.65, 0.9)
    return int(r * 255), int(g * 255), int(b * 255)


def colorize(labels: np.ndarray, colors: np.ndarray, ignore_index: int = VOID) -> np.ndarray:
    """Label map ``[H, W]`` -> RGB uint8 ``[H, W, 3]``; ``ignore_index`` drawn black.

    Raises:
        ValueError: a label that is neither a class of ``colors`` nor ``ignore_index``.
    """
    labels = np.asarray(labels).astype(np.int64)
    bad = (labels < 0) | ((labels >= len(colors)) & (labels != ignore_index))
    if bad.any():
        raise ValueError(f"labels must be class indices in [0, {len(colors)}) or "
                         f"{ignore_index} (ignored), but got {labels[bad].flat[0]}")
    table = np.zeros((max(len(colors), ignore_index + 1), 3), dtype=np.uint8)
    table[: len(colors)] = colors
    table[ignore_index] = IGNORED_RGB
    return table[labels]


Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def _font(size: int) -> Font:
    try:
        return ImageFont.load_default(size=size)  # Pillow >= 10.1 with FreeType
    except (TypeError, OSError, ImportError):
        return ImageFont.load_default()


def _panel(array: np.ndarray, colors: np.ndarray, ignore_index: int, px: int) -> Image.Image:
    """An RGB image ``[H, W, 3]`` (resampled smoothly) or a label map ``[H, W]`` (nearest)."""
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[-1] == 3:
        return Image.fromarray(array.astype(np.uint8)).resize((px, px), Image.Resampling.BOX)
    if array.ndim == 2:
        rgb = colorize(array, colors, ignore_index)
        return Image.fromarray(rgb).resize((px, px), Image.Resampling.NEAREST)
    raise ValueError(f"a tile must be RGB [H, W, 3] or labels [H, W], but got {array.shape}")


def segmentation_grid(columns: Sequence[tuple[str, Sequence[np.ndarray]]],
                      class_names: Sequence[str], *, ignore_index: int = VOID,
                      title: str = "", tile_px: int = 160,
                      min_width_px: int = 600) -> SegmentationGrid:
    """Tiles in a grid: one column per ``(title, tiles)``, one row per tile, class legend below.

    Args:
        columns: each column's title (lines split by ``\\n``) and its tiles, RGB uint8
            ``[H, W, 3]`` or label maps ``[H, W]`` (class indices, ``ignore_index``);
            every column has the same number of tiles.
        class_names: the classes, in label order (legend and colours).
        title: one line above the grid.
        tile_px: each tile's side in pixels, at least (square panels).
        min_width_px: tiles grow so that the image is at least this wide.

    Raises:
        ValueError: no columns or tiles, columns of different lengths, a bad tile.
    """
    if not columns or not columns[0][1]:
        raise ValueError("segmentation_grid needs at least one column with one tile")
    n_rows = len(columns[0][1])
    if any(len(tiles) != n_rows for _, tiles in columns):
        raise ValueError(f"every column needs {n_rows} tiles, but got "
                         f"{[len(tiles) for _, tiles in columns]}")
    n_cols = len(columns)
    px = max(tile_px, math.ceil((min_width_px - 2 * MARGIN_PX - (n_cols - 1) * GAP_PX) / n_cols))
    width = 2 * MARGIN_PX + n_cols * px + (n_cols - 1) * GAP_PX
    font, line_px = _font(FONT_PX), FONT_PX + 4
    colors = class_colors(class_names)
    legend = [(str(n), tuple(int(v) for v in c)) for n, c in zip(class_names, colors,
                                                                  strict=True)]
    if any(np.asarray(t).ndim == 2 and (np.asarray(t) == ignore_index).any()
           for _, tiles in columns for t in tiles):
        legend.append(("ignored", IGNORED_RGB))
    legend_rows = _legend_layout(legend, font, width)
    title_px = line_px + GAP_PX if title else 0
    head_px = line_px * max(len(t.split("\n")) for t, _ in columns)
    top = MARGIN_PX + title_px + head_px + GAP_PX
    grid_h = n_rows * px + (n_rows - 1) * GAP_PX
    height = top + grid_h + GAP_PX * 2 + len(legend_rows) * line_px + MARGIN_PX
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    if title:
        draw.text((MARGIN_PX, MARGIN_PX), title, fill="black", font=font)
    panels: list[list[Box]] = [[] for _ in range(n_rows)]
    for c, (head, tiles) in enumerate(columns):
        x = MARGIN_PX + c * (px + GAP_PX)
        for i, line in enumerate(head.split("\n")):
            w = draw.textlength(line, font=font)
            draw.text((x + (px - w) / 2, MARGIN_PX + title_px + i * line_px), line,
                      fill="black", font=font)
        for r, tile in enumerate(tiles):
            y = top + r * (px + GAP_PX)
            image.paste(_panel(tile, colors, ignore_index, px), (x, y))
            panels[r].append((x, y, x + px, y + px))
    y = top + grid_h + GAP_PX * 2
    for row in legend_rows:
        for x, name, rgb in row:
            draw.rectangle((x, y + 1, x + SWATCH_PX, y + 1 + SWATCH_PX), fill=rgb,
                           outline="#888")
            draw.text((x + SWATCH_PX + 5, y), name, fill="black", font=font)
        y += line_px
    return SegmentationGrid(image, tuple(tuple(r) for r in panels))


def _legend_layout(items: Sequence[tuple[str, tuple[int, ...]]], font: Font,
                   width: int) -> list[list[tuple[int, str, tuple[int, ...]]]]:
    """Legend entries (x, name, colour) in rows that fit ``width``."""
    draw = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    rows: list[list[tuple[int, str, tuple[int, ...]]]] = [[]]
    x = MARGIN_PX
    for name, rgb in items:
        w = SWATCH_PX + 5 + int(draw.textlength(name, font=font)) + 18
        if rows[-1] and x + w > width - MARGIN_PX:
            rows.append([])
            x = MARGIN_PX
        rows[-1].append((x, name, rgb))
        x += w
    return rows
