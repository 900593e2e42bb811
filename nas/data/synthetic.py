"""Tiny synthetic CamVid look-alikes on disk, in either layout, for tests of every package.

Each frame is a background of one class with a few rectangles of other classes. The image
pixel colour is the class's palette colour plus a little noise, so the class is visible in the
image and a small network can learn it in a few steps.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from nas.data._classes import CAMVID11, CAMVID11_NAMES, CAMVID32, VOID

LAYOUTS = ("maxnas", "ai8x")
SPLITS = ("train", "val", "test")


def _frame(
    rng: np.random.Generator, n_classes: int, size: tuple[int, int], first: int, key: list[int]
) -> np.ndarray:
    """A label map [H, W]: a background class plus one rectangle in each quadrant.

    Three rectangles hold the ``key`` classes (Sky, Building, Tree, so every frame has every
    camvid4 class); the background and the fourth rectangle cycle through the other classes.
    """
    h, w = size
    others = [c for c in range(n_classes) if c not in key]
    classes = [others[(2 * first) % len(others)], *key, others[(2 * first + 1) % len(others)]]
    label = np.full((h, w), classes[0], dtype=np.int64)
    quads = [(0, 0), (0, w // 2), (h // 2, 0), (h // 2, w // 2)]
    for cls, k in zip(classes[1:], rng.permutation(4), strict=True):
        qy, qx = quads[k]
        qh, qw = h // 2, w // 2
        rh, rw = rng.integers(qh // 2, qh + 1), rng.integers(qw // 2, qw + 1)
        y, x = qy + rng.integers(0, qh - rh + 1), qx + rng.integers(0, qw - rw + 1)
        label[y : y + rh, x : x + rw] = cls
    return label


def _paint(rng: np.random.Generator, label: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """RGB image [H, W, 3] uint8: palette colour of each pixel's class plus noise (+-8)."""
    noise = rng.integers(-8, 9, size=(*label.shape, 3))
    return np.clip(palette[label].astype(np.int64) + noise, 0, 255).astype(np.uint8)


def make_synthetic_camvid(
    root: str | Path,
    layout: str = "maxnas",
    n_per_split: int = 4,
    size: tuple[int, int] = (64, 96),
    seed: int = 0,
) -> Path:
    """Write a tiny synthetic CamVid to ``root`` and return ``root``.

    Args:
        root: folder to create (may exist; files are overwritten).
        layout: ``"maxnas"`` (``images/{split}/NAME.jpg``, ``labels/{split}/NAME.png`` with
            class indices 0..10 and 255 = void, ``classes.csv``) or ``"ai8x"``
            (``{split}/NAME.png``, ``{split}_labels/NAME_L.png`` 32-class colour masks,
            ``class_dict.csv``).
        n_per_split: frames in each of train, val and test.
        size: frame size (height, width) in pixels.
        seed: random seed; the same arguments always give the same files.

    Returns:
        ``root`` as a ``Path``.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got layout={layout!r}")
    if n_per_split < 1:
        raise ValueError(f"n_per_split must be >= 1, got n_per_split={n_per_split}")
    if min(size) < 8:
        raise ValueError(f"size must be at least 8x8 pixels, got size={size}")
    root = Path(root)
    rng = np.random.default_rng(seed)
    if layout == "maxnas":
        # 11 classes + void (index 11 here, written as 255) drawn black.
        palette = np.array([rgb for _, rgb in CAMVID11] + [(0, 0, 0)], dtype=np.uint8)
        n_classes = len(CAMVID11) + 1
        key = [CAMVID11_NAMES.index(n) for n in ("Sky", "Building", "Tree")]
        root.mkdir(parents=True, exist_ok=True)
        with open(root / "classes.csv", "w") as f:
            f.write("index,name,r,g,b\n")
            for i, (name, (r, g, b)) in enumerate(CAMVID11):
                f.write(f"{i},{name},{r},{g},{b}\n")
            f.write(f"{VOID},Void,0,0,0\n")
    else:
        palette = np.array([rgb for _, rgb in CAMVID32], dtype=np.uint8)
        n_classes = len(CAMVID32)
        key = [[n for n, _ in CAMVID32].index(n) for n in ("Sky", "Building", "Tree")]
        root.mkdir(parents=True, exist_ok=True)
        with open(root / "class_dict.csv", "w") as f:
            f.write("name,r,g,b\n")
            for name, (r, g, b) in CAMVID32:
                f.write(f"{name},{r}, {g}, {b}\n")  # stray spaces, like the Kaggle file
    index = 0
    for split in SPLITS:
        for _ in range(n_per_split):
            name = f"0001TP_{index:06d}"
            label = _frame(rng, n_classes, size, first=index, key=key)
            image = Image.fromarray(_paint(rng, label, palette))
            if layout == "maxnas":
                (root / "images" / split).mkdir(parents=True, exist_ok=True)
                (root / "labels" / split).mkdir(parents=True, exist_ok=True)
                image.save(root / "images" / split / f"{name}.jpg", quality=95, subsampling=0)
                stored = np.where(label == len(CAMVID11), VOID, label).astype(np.uint8)
                Image.fromarray(stored).save(root / "labels" / split / f"{name}.png")
            else:
                (root / split).mkdir(parents=True, exist_ok=True)
                (root / f"{split}_labels").mkdir(parents=True, exist_ok=True)
                image.save(root / split / f"{name}.png")
                Image.fromarray(palette[label]).save(root / f"{split}_labels" / f"{name}_L.png")
            index += 1
    return root
