"""Readers for the two on-disk CamVid layouts.

``maxnas`` (the SegNet 11-class copy)::

    images/{split}/NAME.jpg|png   labels/{split}/NAME.png (class index, 255 = void)   classes.csv

``ai8x`` (ai8x-training / Kaggle copy, 32 classes as colours)::

    {split}/NAME.png   {split}_labels/NAME_L.png (RGB colour mask)   class_dict.csv
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from nas.data._classes import CAMVID11, CAMVID32, VOID
from nas.data._errors import (
    CorruptImageError,
    EmptySplitError,
    LabelValueError,
    LayoutError,
    SizeMismatchError,
)
from nas.data._tasks import Task

SPLITS = ("train", "val", "test")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


@dataclass(frozen=True)
class Frame:
    """One labelled frame on disk."""

    name: str
    image: Path
    label: Path


def detect_layout(root: Path) -> str:
    """``"maxnas"`` or ``"ai8x"``, from the folders present in ``root``."""
    if (root / "images").is_dir() and (root / "labels").is_dir():
        return "maxnas"
    if any((root / f"{s}_labels").is_dir() for s in SPLITS):
        return "ai8x"
    raise LayoutError(
        f"{root} is not a CamVid folder: expected images/{{split}}/ + labels/{{split}}/ "
        "(maxnas layout) or {split}/ + {split}_labels/ (ai8x-training layout)"
    )


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; valid splits: {list(SPLITS)}")


def list_frames(root: Path, layout: str, split: str) -> list[Frame]:
    """The frames of a split, sorted by name; each image must have its label file."""
    _check_split(split)
    if layout == "maxnas":
        image_dir, label_dir = root / "images" / split, root / "labels" / split
        label_name = "{}.png"
    elif layout == "ai8x":
        image_dir, label_dir = root / split, root / f"{split}_labels"
        label_name = "{}_L.png"
    else:
        raise ValueError(f"unknown layout {layout!r}; valid layouts: ['ai8x', 'maxnas']")
    if not image_dir.is_dir():
        raise EmptySplitError(f"split {split!r} is missing: no folder {image_dir}")
    images = sorted(p for p in image_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise EmptySplitError(f"split {split!r} is empty: no .jpg/.png images in {image_dir}")
    frames = []
    for image in images:
        label = label_dir / label_name.format(image.stem)
        if not label.is_file():
            raise EmptySplitError(f"image {image} has no label file {label}")
        frames.append(Frame(image.stem, image, label))
    return frames


def _read_csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        rows = [
            {k.strip().lower(): (v or "").strip() for k, v in r.items()} for r in csv.DictReader(f)
        ]
    if not rows:
        raise LayoutError(f"{path} lists no classes")
    return rows


def source_classes(root: Path, layout: str) -> list[tuple[str, int, tuple[int, int, int]]]:
    """Source classes as (name, stored value, RGB) from ``classes.csv`` / ``class_dict.csv``.

    For the maxnas layout the stored value is the label index; for ai8x it is the row number
    (the label is the colour). Without a CSV, the standard CamVid tables are used.
    """
    if layout == "maxnas":
        path = root / "classes.csv"
        if not path.is_file():
            return [(n, i, c) for i, (n, c) in enumerate(CAMVID11)] + [("Void", VOID, (0, 0, 0))]
        try:
            return [
                (r["name"], int(r["index"]), (int(r["r"]), int(r["g"]), int(r["b"])))
                for r in _read_csv_rows(path)
            ]
        except (KeyError, ValueError) as e:
            raise LayoutError(f"{path}: expected columns index,name,r,g,b ({e})") from None
    path = root / "class_dict.csv"
    if not path.is_file():
        return [(n, i, c) for i, (n, c) in enumerate(CAMVID32)]
    try:
        return [
            (r["name"], i, (int(r["r"]), int(r["g"]), int(r["b"])))
            for i, r in enumerate(_read_csv_rows(path))
        ]
    except (KeyError, ValueError) as e:
        raise LayoutError(f"{path}: expected columns name,r,g,b ({e})") from None


class LabelDecoder:
    """Turns a label file of one layout into task label values (uint8 [H, W])."""

    def __init__(self, root: Path, layout: str, task: Task):
        self.layout, self.task = layout, task
        classes = source_classes(root, layout)
        if layout == "maxnas":
            # lut[stored index] -> task value; -1 = not a class of the source table.
            self.lut = np.full(256, -1, dtype=np.int16)
            for name, index, _ in classes:
                value = task.map_name(name)
                self.lut[index] = -2 if value is None else value  # -2: class outside task
            self.names = {index: name for name, index, _ in classes}
        else:
            codes = np.array([(r << 16) | (g << 8) | b for _, _, (r, g, b) in classes])
            order = np.argsort(codes)
            self.codes = codes[order]
            self.values = np.array(
                [-2 if (v := task.map_name(classes[i][0])) is None else v for i in order],
                dtype=np.int16,
            )
            self.names = {int(codes[i]): classes[i][0] for i in range(len(classes))}

    def __call__(self, path: Path) -> np.ndarray:
        if self.layout == "maxnas":
            img = open_image(path)
            if img.mode not in ("L", "P"):
                raise CorruptImageError(
                    f"label {path} has mode {img.mode}; expected a single-channel index PNG"
                )
            raw = np.asarray(img)
            out = self.lut[raw]
            bad = out < 0
            if bad.any():
                value = int(raw[bad][0])
                why = (
                    f"class {self.names[value]!r} has no {self.task.name} class"
                    if value in self.names
                    else f"valid values: {sorted(self.names)}"
                )
                raise LabelValueError(
                    f"label {path} holds value {value}, outside task {self.task.name} ({why})"
                )
            return out.astype(np.uint8)
        rgb = np.asarray(open_image(path).convert("RGB")).astype(np.int32)
        code = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
        pos = np.clip(np.searchsorted(self.codes, code), 0, len(self.codes) - 1)
        found = self.codes[pos] == code
        out = np.where(found, self.values[pos], -1)
        if self.task.default is not None:
            out = np.where(found, out, self.task.default)  # unmatched colours -> default
        bad = out < 0
        if bad.any():
            c = int(code[bad][0])
            colour = (c >> 16, (c >> 8) & 255, c & 255)
            why = (
                f"class {self.names[c]!r} has no {self.task.name} class"
                if c in self.names
                else "colour not in class_dict.csv"
            )
            raise LabelValueError(
                f"label {path} holds colour {colour}, outside task {self.task.name} ({why})"
            )
        return out.astype(np.uint8)


def open_image(path: Path) -> Image.Image:
    """Open and fully decode an image; any failure names the file."""
    try:
        img = Image.open(path)
        img.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise CorruptImageError(f"cannot decode {path}: {e}") from None
    return img


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) from the header only."""
    try:
        with Image.open(path) as img:
            return img.size
    except (OSError, SyntaxError, ValueError) as e:
        raise CorruptImageError(f"cannot read {path}: {e}") from None


def check_sizes(frame: Frame, image_wh: tuple[int, int], label_wh: tuple[int, int]) -> None:
    if image_wh != label_wh:
        raise SizeMismatchError(
            f"image {frame.image} is {image_wh[0]}x{image_wh[1]} but its label {frame.label} "
            f"is {label_wh[0]}x{label_wh[1]}"
        )
